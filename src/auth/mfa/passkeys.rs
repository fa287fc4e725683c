//! Passkeys (WebAuthn Level 3): registration (`POST /mfa/passkeys/options`, then
//! `POST /mfa/passkeys`), listing (in `GET /mfa`), removal, use as the second factor of
//! a password login or of a re-authentication (`POST /mfa/passkey-challenge`, answered
//! at `/mfa/verify` or `/reauthenticate`), and a login on its own with a discoverable
//! credential and user verification (`POST /passkey-login/options`, `/passkey-login`).
//!
//! The relying party is `WEBAUTHN_RP_ID` and the only origin `PUBLIC_URL`'s. Every
//! ceremony's server side is stored (`webauthn_challenges`), single-use and lives 5
//! minutes, so any instance can finish what another began; it is taken (deleted) before
//! the answer is checked, so a wrong answer spends it too. Signature counters are
//! checked against the stored credential and advanced on every use. Attestation is not
//! asked for (`none`); ES256 and RS256 keys are accepted. Ed25519 is not offered:
//! webauthn-rs 0.6.2 cannot verify it (`SshPublicKeyEDUnsupported`).
//!
//! The verification itself is `webauthn-rs-core`'s, used directly so that every
//! ceremony's state can be stored in the database (any instance finishes what another
//! began) without the high-level crate's `danger-*` serialisation feature. What the
//! high-level crate otherwise upholds is done here: the
//! ceremony state never leaves the server, a credential id is registered once across
//! all accounts, user verification is required for registration and passwordless
//! login, and an assertion is checked only against a credential of the account it is
//! for.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, AuthenticationState, COSEAlgorithm, Credential,
    PublicKeyCredential, RegisterPublicKeyCredential, RegistrationState, UserVerificationPolicy,
};

use super::PasskeyInfo;
use super::rules::{Ceremony, find_live, invalid_mfa_token, require_recent};
use crate::audit::{self, AuditEntry, event};
use crate::db::Db;
use crate::error::{ApiError, ApiResult, Problem, ResultExt};
use crate::http::{ApiJson, AuthUser, ClientInfo, MaybeAuthUser, no_store};
use crate::on_exec;
use crate::state::AppState;
use crate::text::{Lines, refusal};

/// How long a ceremony may take.
pub const CEREMONY_SECONDS: i64 = 300;
const MAX_NAME: usize = 100;

const REGISTER: &str = "register";
const SECOND_FACTOR: &str = "second_factor";
const REAUTHENTICATE: &str = "reauthenticate";
pub(super) const LOGIN: &str = "login";

/// A ceremony begun: its id, and the options for `navigator.credentials`.
#[derive(Serialize, ToSchema)]
pub struct CeremonyOptions {
    pub challenge_id: Uuid,
    /// `PublicKeyCredentialCreationOptionsJSON` or `PublicKeyCredentialRequestOptionsJSON`.
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    pub public_key: Value,
}

pub(super) fn webauthn_failure(e: webauthn_rs_core::error::WebauthnError) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("WebAuthn ceremony could not start: {e}"))
}

/// Stores the server side of a ceremony and answers its options.
pub(super) async fn begin(
    state: &AppState,
    purpose: &str,
    user_id: Option<Uuid>,
    mfa_challenge_id: Option<Uuid>,
    server_side: &impl Serialize,
    options: &impl Serialize,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let challenge_id = Uuid::new_v4();
    let stored = serde_json::to_string(server_side)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("WebAuthn state")))?;
    on_exec!(state.db.writer(), c => sqlx::query(
        "INSERT INTO webauthn_challenges (id, purpose, user_id, mfa_challenge_id, state, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(challenge_id)
        .bind(purpose)
        .bind(user_id)
        .bind(mfa_challenge_id)
        .bind(stored)
        .bind(now)
        .bind(now + chrono::Duration::seconds(CEREMONY_SECONDS))
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let mut public_key = serde_json::to_value(options)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("WebAuthn options")))?;
    let public_key = public_key
        .get_mut("publicKey")
        .map(Value::take)
        .unwrap_or(Value::Null);
    Ok(no_store(
        Json(CeremonyOptions {
            challenge_id,
            public_key,
        })
        .into_response(),
    ))
}

#[derive(sqlx::FromRow)]
struct Taken {
    user_id: Option<Uuid>,
    mfa_challenge_id: Option<Uuid>,
    state: String,
}

/// Takes (deletes) the live ceremony `challenge_id` of `purpose`; `None` when there is
/// none, it expired, or it was for another account or login.
pub(super) async fn take<S: serde::de::DeserializeOwned>(
    state: &AppState,
    challenge_id: Uuid,
    purpose: &str,
    user_id: Option<Uuid>,
    mfa_challenge_id: Option<Uuid>,
) -> ApiResult<Option<S>> {
    let now = state.clock.now();
    let taken = on_exec!(state.db.writer(), c => sqlx::query_as::<_, Taken>(
        "DELETE FROM webauthn_challenges WHERE id = $1 AND purpose = $2 AND expires_at > $3 \
         RETURNING user_id, mfa_challenge_id, state")
        .bind(challenge_id)
        .bind(purpose)
        .bind(now)
        .fetch_optional(c)
        .await)?;
    let Some(taken) = taken else { return Ok(None) };
    if taken.user_id != user_id || taken.mfa_challenge_id != mfa_challenge_id {
        return Ok(None);
    }
    serde_json::from_str(&taken.state)
        .map(Some)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("stored WebAuthn state")))
}

pub(super) fn invalid_challenge() -> ApiError {
    ApiError::BadToken("the challenge_id is unknown, expired, used, or not for this request".into())
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(credential: &Value) -> ApiResult<T> {
    T::deserialize(credential).map_err(|e| {
        ApiError::validation(
            "credential",
            format!("is not a WebAuthn response in its JSON form: {e}"),
        )
    })
}

#[derive(sqlx::FromRow)]
struct StoredPasskey {
    id: Uuid,
    user_id: Uuid,
    credential: String,
}

impl StoredPasskey {
    fn credential(&self) -> ApiResult<Credential> {
        serde_json::from_str(&self.credential)
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("stored passkey")))
    }
}

async fn stored_by_credential_id(
    db: &Db,
    credential_id: &[u8],
) -> Result<Option<StoredPasskey>, sqlx::Error> {
    on_exec!(db, c => sqlx::query_as::<_, StoredPasskey>(
        "SELECT id, user_id, credential FROM passkeys WHERE credential_id = $1")
        .bind(credential_id)
        .fetch_optional(c)
        .await)
}

async fn stored_of_user(db: &Db, user_id: Uuid) -> Result<Vec<StoredPasskey>, sqlx::Error> {
    on_exec!(db, c => sqlx::query_as::<_, StoredPasskey>(
        "SELECT id, user_id, credential FROM passkeys WHERE user_id = $1 ORDER BY created_at")
        .bind(user_id)
        .fetch_all(c)
        .await)
}

/// Checks an assertion against the stored credential it names, which must be
/// `user_id`'s, under the ceremony `server_side`; on success advances the stored
/// counter and answers `hwk` or `swk` (a credential that may be synced is a software
/// key in RFC 8176's terms).
pub(super) async fn check_assertion(
    state: &AppState,
    user_id: Option<Uuid>,
    server_side: &AuthenticationState,
    response: &PublicKeyCredential,
    now: DateTime<Utc>,
) -> ApiResult<Option<(Uuid, &'static str)>> {
    let Some(stored) = stored_by_credential_id(&state.db, response.get_credential_id()).await?
    else {
        return Ok(None);
    };
    if user_id.is_some_and(|id| id != stored.user_id) {
        return Ok(None);
    }
    let mut credential = stored.credential()?;
    let result =
        match state
            .webauthn
            .authenticate_single_credential(response, server_side, &credential)
        {
            Ok(result) => result,
            Err(e) => {
                tracing::info!(reason = %e, "passkey assertion refused");
                return Ok(None);
            }
        };
    credential.counter = result.counter().max(credential.counter);
    credential.backup_state = result.backup_state();
    let updated = serde_json::to_string(&credential)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("passkey")))?;
    on_exec!(state.db.writer(), c => sqlx::query(
        "UPDATE passkeys SET credential = $2, last_used_at = $3 WHERE id = $1")
        .bind(stored.id)
        .bind(updated)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let kind = if result.backup_eligible() {
        "swk"
    } else {
        "hwk"
    };
    Ok(Some((stored.user_id, kind)))
}

/// Checks a passkey assertion given as a second factor of `user_id` in `ceremony`;
/// the RFC 8176 method on success. The ceremony is spent either way.
pub async fn verify_assertion(
    state: &AppState,
    user_id: Uuid,
    challenge_id: Uuid,
    credential: &Value,
    ceremony: Ceremony,
) -> ApiResult<Option<&'static str>> {
    let response: PublicKeyCredential = parse(credential)?;
    let (purpose, mfa_challenge_id) = match ceremony {
        Ceremony::SecondFactor { mfa_challenge_id } => (SECOND_FACTOR, Some(mfa_challenge_id)),
        Ceremony::Reauthenticate => (REAUTHENTICATE, None),
    };
    let Some(server_side) = take::<AuthenticationState>(
        state,
        challenge_id,
        purpose,
        Some(user_id),
        mfa_challenge_id,
    )
    .await?
    else {
        return Ok(None);
    };
    let checked = check_assertion(
        state,
        Some(user_id),
        &server_side,
        &response,
        state.clock.now(),
    )
    .await?;
    Ok(checked.map(|(_, kind)| kind))
}

/// Start registering a passkey
///
/// Answers the options for `navigator.credentials.create()`: a discoverable credential
/// with user verification, no attestation, excluding the caller's passkeys. Needs a
/// recent authentication.
#[utoipa::path(post, path = "/mfa/passkeys/options", operation_id = "passkey_registration_options", tag = "mfa", security(("bearer" = [])),
    responses(
        (status = 200, description = "The ceremony's id and creation options", body = CeremonyOptions),
        (status = 403, description = "The session's authentication is not recent: reauthenticate", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn registration_options(
    State(state): State<AppState>,
    caller: AuthUser,
) -> ApiResult<Response> {
    require_recent(&state, &caller)?;
    let user = &caller.user;
    let existing: Vec<Vec<u8>> = stored_of_user(&state.db, user.id)
        .await?
        .iter()
        .map(|p| p.credential().map(|c| c.cred_id))
        .collect::<ApiResult<_>>()?;
    let display_name = user
        .full_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(&user.username);
    let builder = state
        .webauthn
        .new_challenge_register_builder(user.id.as_bytes(), &user.username, display_name)
        .map_err(webauthn_failure)?
        .attestation(AttestationConveyancePreference::None)
        .credential_algorithms(vec![COSEAlgorithm::ES256, COSEAlgorithm::RS256])
        .require_resident_key(true)
        .user_verification_policy(UserVerificationPolicy::Required)
        .exclude_credentials(Some(existing))
        .reject_synchronised_authenticators(false);
    let (options, server_side) = state
        .webauthn
        .generate_challenge_register(builder)
        .map_err(webauthn_failure)?;
    begin(
        &state,
        REGISTER,
        Some(user.id),
        None,
        &server_side,
        &options,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegistration {
    /// From `POST /mfa/passkeys/options`.
    pub challenge_id: Uuid,
    /// A name to tell it apart in the list (1 to 100 characters).
    pub name: String,
    /// WebAuthn `RegistrationResponseJSON`.
    #[schema(value_type = Object)]
    pub credential: Value,
}

/// Register a passkey
///
/// From now on a login needs a second factor (a passkey also logs in on its own).
/// Needs a recent authentication.
#[utoipa::path(post, path = "/mfa/passkeys", operation_id = "passkey_register", tag = "mfa", security(("bearer" = [])), request_body = PasskeyRegistration,
    responses(
        (status = 201, description = "Registered", body = PasskeyInfo),
        (status = 400, description = "Unknown, expired or used challenge_id, or a response the ceremony refuses (field `credential`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The session's authentication is not recent: reauthenticate", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "This credential is registered already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (named field)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<PasskeyRegistration>,
) -> ApiResult<Response> {
    require_recent(&state, &caller)?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(ApiError::validation(
            "name",
            format!("must be 1 to {MAX_NAME} characters"),
        ));
    }
    if let Some(why) = refusal(name, Lines::One) {
        return Err(ApiError::validation("name", why));
    }
    let response: RegisterPublicKeyCredential = parse(&body.credential)?;
    let user_id = caller.id();
    let server_side =
        take::<RegistrationState>(&state, body.challenge_id, REGISTER, Some(user_id), None)
            .await?
            .ok_or_else(invalid_challenge)?;
    let credential = state
        .webauthn
        .register_credential(&response, &server_side, None)
        .map_err(|e| ApiError::wrong_factor("credential", format!("was not accepted: {e}")))?;
    let now = state.clock.now();
    let passkey = PasskeyInfo {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        created_at: now,
        last_used_at: None,
    };
    let stored = serde_json::to_string(&credential)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("passkey")))?;
    let mut tx = state.db.begin().await?;
    on_exec!(&mut tx, c => sqlx::query(
        "INSERT INTO passkeys (id, user_id, credential_id, name, credential, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)")
        .bind(passkey.id)
        .bind(user_id)
        .bind(&credential.cred_id)
        .bind(&passkey.name)
        .bind(stored)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))
    .on_unique_violation(|_| ApiError::conflict("credential", "this passkey is registered already"))?;
    let entry = AuditEntry::by_owner(event::PASSKEY_ADDED, user_id, &client)
        .with_detail(serde_json::json!({"passkey_id": passkey.id}));
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(passkey)).into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyChallengeRequest {
    /// The login's challenge; without it, a bearer token names the caller, for
    /// `/reauthenticate`.
    pub mfa_token: Option<String>,
}

/// Start a passkey assertion as a second factor
///
/// For the login an `mfa_token` names, or (without one, with a bearer token) for a
/// re-authentication of the caller. Answers the options for
/// `navigator.credentials.get()` listing the account's passkeys.
#[utoipa::path(post, path = "/mfa/passkey-challenge", operation_id = "passkey_second_factor_options", tag = "mfa", request_body = PasskeyChallengeRequest,
    responses(
        (status = 200, description = "The ceremony's id and request options", body = CeremonyOptions),
        (status = 400, description = "Unknown, expired or used mfa_token", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Neither an mfa_token nor a bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account has no passkey", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn second_factor_options(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiJson(body): ApiJson<PasskeyChallengeRequest>,
) -> ApiResult<Response> {
    let (user_id, purpose, mfa_challenge_id) = match (&body.mfa_token, caller) {
        (Some(token), _) => {
            let pending = find_live(&state.db, token, state.clock.now())
                .await?
                .ok_or_else(invalid_mfa_token)?;
            (pending.user_id, SECOND_FACTOR, Some(pending.id))
        }
        (None, Some(caller)) => (caller.id(), REAUTHENTICATE, None),
        (None, None) => {
            return Err(ApiError::Unauthorized(
                crate::error::AuthProblem::MissingToken,
            ));
        }
    };
    let credentials: Vec<Credential> = stored_of_user(&state.db, user_id)
        .await?
        .iter()
        .map(StoredPasskey::credential)
        .collect::<ApiResult<_>>()?;
    if credentials.is_empty() {
        return Err(ApiError::conflict("passkey", "this account has no passkey"));
    }
    let builder = state
        .webauthn
        .new_challenge_authenticate_builder(credentials, Some(UserVerificationPolicy::Preferred))
        .map_err(webauthn_failure)?;
    let (options, server_side) = state
        .webauthn
        .generate_challenge_authenticate(builder)
        .map_err(webauthn_failure)?;
    begin(
        &state,
        purpose,
        Some(user_id),
        mfa_challenge_id,
        &server_side,
        &options,
    )
    .await
}
