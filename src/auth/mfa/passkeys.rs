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
//! asked for (`none`); Ed25519, ES256, ES384 and RS256 keys are accepted.
//!
//! The checks themselves are `webauthn_rp`'s (see [`crate::webauthn`]). What is upheld here:
//! the ceremony state never leaves the server, a credential id is registered once across
//! all accounts, user verification is required for registration and passwordless login,
//! and an assertion is checked only against a credential of the account it is for.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::PasskeyInfo;
use super::rules::{Ceremony, find_live, invalid_mfa_token, require_recent};
use crate::accounts::model::User;
use crate::audit::{self, AuditEntry, event};
use crate::db::Db;
use crate::error::{ApiError, ApiResult, Problem, ResultExt, Why};
use crate::http::{ApiJson, AuthUser, ClientInfo, MaybeAuthUser, no_store};
use crate::i18n::message_key;
use crate::on_exec;
use crate::state::AppState;
use crate::text::{Lines, refusal};
use crate::webauthn::{Assertion, Refused, StoredCredential, parse_registration};

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

/// Stores the server side of a ceremony and answers its options.
pub(super) async fn begin(
    state: &AppState,
    purpose: &str,
    user_id: Option<Uuid>,
    mfa_challenge_id: Option<Uuid>,
    (server_side, public_key): (Vec<u8>, Value),
) -> ApiResult<Response> {
    let now = state.clock.now();
    let challenge_id = Uuid::new_v4();
    let stored = URL_SAFE_NO_PAD.encode(server_side);
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

/// Takes (deletes) the live ceremony `challenge_id` of `purpose` and answers its server
/// side; `None` when there is none, it expired, or it was for another account or login.
pub(super) async fn take(
    state: &AppState,
    challenge_id: Uuid,
    purpose: &str,
    user_id: Option<Uuid>,
    mfa_challenge_id: Option<Uuid>,
) -> ApiResult<Option<Vec<u8>>> {
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
    URL_SAFE_NO_PAD
        .decode(&taken.state)
        .map(Some)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("stored WebAuthn state")))
}

pub(super) fn invalid_challenge() -> ApiError {
    ApiError::BadToken(Why::new(
        "the challenge_id is unknown, expired, used, or not for this request",
        message_key("bad-token-passkey-challenge"),
    ))
}

fn malformed(e: serde_json::Error) -> ApiError {
    ApiError::validation(
        "credential",
        format!("is not a WebAuthn response in its JSON form: {e}"),
    )
}

/// Reads `AuthenticationResponseJSON`, of a whole login or of a second factor.
pub(super) fn parse_assertion(credential: &Value, login: bool) -> ApiResult<Assertion> {
    Assertion::parse(credential, login).map_err(malformed)
}

#[derive(sqlx::FromRow)]
struct StoredPasskey {
    id: Uuid,
    user_id: Uuid,
    credential_id: Vec<u8>,
    credential: String,
}

impl StoredPasskey {
    fn credential(&self) -> ApiResult<StoredCredential> {
        serde_json::from_str(&self.credential)
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("stored passkey")))
    }

    fn with_id(&self) -> ApiResult<(Vec<u8>, StoredCredential)> {
        Ok((self.credential_id.clone(), self.credential()?))
    }
}

async fn stored_by_credential_id(
    db: &Db,
    credential_id: &[u8],
) -> Result<Option<StoredPasskey>, sqlx::Error> {
    on_exec!(db, c => sqlx::query_as::<_, StoredPasskey>(
        "SELECT id, user_id, credential_id, credential FROM passkeys WHERE credential_id = $1")
        .bind(credential_id)
        .fetch_optional(c)
        .await)
}

async fn stored_of_user(db: &Db, user_id: Uuid) -> Result<Vec<StoredPasskey>, sqlx::Error> {
    on_exec!(db, c => sqlx::query_as::<_, StoredPasskey>(
        "SELECT id, user_id, credential_id, credential FROM passkeys WHERE user_id = $1 ORDER BY created_at")
        .bind(user_id)
        .fetch_all(c)
        .await)
}

/// Checks an assertion against the stored credential it names, which must be
/// `user_id`'s, under the ceremony `server_side`; on success stores the advanced
/// counter and answers `hwk` or `swk` (a credential that may be synced is a software
/// key in RFC 8176's terms).
pub(super) async fn check_assertion(
    state: &AppState,
    user_id: Uuid,
    server_side: &[u8],
    response: &Assertion,
    now: DateTime<Utc>,
) -> ApiResult<Option<(Uuid, &'static str)>> {
    let Some(stored) = stored_by_credential_id(&state.db, response.credential_id()).await? else {
        return Ok(None);
    };
    if user_id != stored.user_id {
        return Ok(None);
    }
    let asserted =
        match state
            .webauthn
            .check(server_side, response, stored.user_id, &stored.credential()?)?
        {
            Ok(asserted) => asserted,
            Err(Refused(why)) => {
                tracing::info!(reason = %why, "passkey assertion refused");
                return Ok(None);
            }
        };
    let updated = serde_json::to_string(&asserted.stored)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("passkey")))?;
    on_exec!(state.db.writer(), c => sqlx::query(
        "UPDATE passkeys SET credential = $2, last_used_at = $3 WHERE id = $1")
        .bind(stored.id)
        .bind(updated)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let kind = if asserted.backup_eligible {
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
    let response = parse_assertion(credential, false)?;
    let (purpose, mfa_challenge_id) = match ceremony {
        Ceremony::SecondFactor { mfa_challenge_id } => (SECOND_FACTOR, Some(mfa_challenge_id)),
        Ceremony::Reauthenticate => (REAUTHENTICATE, None),
    };
    let Some(server_side) = take(
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
    let checked =
        check_assertion(state, user_id, &server_side, &response, state.clock.now()).await?;
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
    start_registration(&state, &caller.user).await
}

/// Begins registering a passkey for `user`: the JSON answer of
/// `POST /mfa/passkeys/options` (the console's script asks for the same). The caller
/// checks the "recent" rule.
pub async fn start_registration(state: &AppState, user: &User) -> ApiResult<Response> {
    let existing: Vec<(Vec<u8>, StoredCredential)> = stored_of_user(&state.db, user.id)
        .await?
        .iter()
        .map(StoredPasskey::with_id)
        .collect::<ApiResult<_>>()?;
    let display_name = user
        .full_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(&user.username);
    let ceremony =
        state
            .webauthn
            .registration_options(user.id, &user.username, display_name, &existing)?;
    begin(state, REGISTER, Some(user.id), None, ceremony).await
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
    let passkey = register_passkey(&state, caller.id(), &body, &client).await?;
    Ok((StatusCode::CREATED, Json(passkey)).into_response())
}

/// Finishes registering a passkey of `user_id`: checks the name (422), the response to
/// the ceremony (400 naming `credential`), refuses a credential registered already (409)
/// and stores it. Audited. The caller checks the "recent" rule.
pub async fn register_passkey(
    state: &AppState,
    user_id: Uuid,
    body: &PasskeyRegistration,
    client: &ClientInfo,
) -> ApiResult<PasskeyInfo> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        let why = Why::new(
            format!("must be 1 to {MAX_NAME} characters"),
            message_key("field-length-between"),
        );
        let why = why.with("min", 1).with("max", MAX_NAME);
        return Err(ApiError::Validation(vec![why.at("name")]));
    }
    if let Some(why) = refusal(name, Lines::One) {
        return Err(ApiError::Validation(vec![why.at("name")]));
    }
    let response = parse_registration(&body.credential).map_err(malformed)?;
    let server_side = take(state, body.challenge_id, REGISTER, Some(user_id), None)
        .await?
        .ok_or_else(invalid_challenge)?;
    let credential =
        state
            .webauthn
            .register(&server_side, &response)?
            .map_err(|Refused(reason)| {
                let key = message_key("wrong-factor-passkey-not-accepted");
                let why = Why::new(format!("was not accepted: {reason}"), key);
                ApiError::wrong_factor("credential", why.with("reason", reason))
            })?;
    let now = state.clock.now();
    let passkey = PasskeyInfo {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        created_at: now,
        last_used_at: None,
    };
    let stored = serde_json::to_string(&credential.stored)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("passkey")))?;
    let mut tx = state.db.begin().await?;
    on_exec!(&mut tx, c => sqlx::query(
        "INSERT INTO passkeys (id, user_id, credential_id, name, credential, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)")
        .bind(passkey.id)
        .bind(user_id)
        .bind(&credential.credential_id)
        .bind(&passkey.name)
        .bind(stored)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))
    .on_unique_violation(|_| {
        let why = Why::new(
            "this passkey is registered already",
            message_key("conflict-passkey-registered"),
        );
        ApiError::conflict("credential", why)
    })?;
    let entry = AuditEntry::by_owner(event::PASSKEY_ADDED, user_id, client)
        .with_detail(serde_json::json!({"passkey_id": passkey.id}));
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(passkey)
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
    match (&body.mfa_token, caller) {
        (Some(token), _) => options_for_mfa_token(&state, token).await,
        (None, Some(caller)) => reauthentication_options(&state, caller.id()).await,
        (None, None) => Err(ApiError::Unauthorized(
            crate::error::AuthProblem::MissingToken,
        )),
    }
}

/// The options for proving `user_id` again with one of their passkeys (answered at
/// `/reauthenticate`, or on the console's security page).
pub async fn reauthentication_options(state: &AppState, user_id: Uuid) -> ApiResult<Response> {
    options_for(state, user_id, REAUTHENTICATE, None).await
}

/// The options for answering the login challenge `mfa_token` with one of the account's
/// passkeys (what `/mfa/passkey-challenge` and the sign-in page's passkey button ask for).
pub async fn options_for_mfa_token(state: &AppState, mfa_token: &str) -> ApiResult<Response> {
    let pending = find_live(&state.db, mfa_token, state.clock.now())
        .await?
        .ok_or_else(invalid_mfa_token)?;
    options_for(state, pending.user_id, SECOND_FACTOR, Some(pending.id)).await
}

async fn options_for(
    state: &AppState,
    user_id: Uuid,
    purpose: &str,
    mfa_challenge_id: Option<Uuid>,
) -> ApiResult<Response> {
    let credentials: Vec<(Vec<u8>, StoredCredential)> = stored_of_user(&state.db, user_id)
        .await?
        .iter()
        .map(StoredPasskey::with_id)
        .collect::<ApiResult<_>>()?;
    if credentials.is_empty() {
        let why = Why::new(
            "this account has no passkey",
            message_key("conflict-no-passkey"),
        );
        return Err(ApiError::conflict("passkey", why));
    }
    let ceremony = state.webauthn.second_factor_options(&credentials)?;
    begin(state, purpose, Some(user_id), mfa_challenge_id, ceremony).await
}
