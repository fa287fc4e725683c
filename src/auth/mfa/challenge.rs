//! The second step of a login: a password login for an account with a second factor
//! answers an `mfa_token` instead of tokens ([`start`]), and `POST /mfa/verify` turns it
//! and a second factor into the session ([`verify`]).
//!
//! An `mfa_token` is 256 random bits, stored as its SHA-256, single-use, lives 5
//! minutes and dies after 5 wrong answers. Every answer is counted against the
//! account's and the login identifier's lockout before it is checked, like a password
//! (see `crate::auth::guard`): the right password alone never buys fresh guesses.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Factors;
use super::proof::{Proof, check_second_factor};
use super::rules::{Ceremony, Pending, find_live, invalid_mfa_token};
use crate::accounts::model::User;
use crate::accounts::model::find_user;
use crate::audit::{self, AuditEntry, event};
use crate::auth::guard;
use crate::auth::sessions::{self, Device, IssuedRefresh, TokenPair, token_pair};
use crate::crypto::{random_token, token_hash};
use crate::error::{ApiError, ApiResult, MfaRequiredProblem, Problem};
use crate::http::{ApiJson, ClientInfo, no_store};
use crate::on_exec;
use crate::state::AppState;
use crate::tokens::access::Authentication;

/// How long an `mfa_token` lives.
pub const LIFETIME_SECONDS: i64 = 300;

/// Records the challenge of a login whose first step succeeded (`first_factor`: `pwd`
/// for a right password, `fed` when an identity provider vouched for the account; for
/// `identifier_key`, from `device`) and answers the 401 body that hands it out.
pub async fn start(
    state: &AppState,
    user_id: Uuid,
    first_factor: &'static str,
    identifier_key: &str,
    device: &Device,
    factors: &Factors,
) -> ApiResult<MfaRequiredProblem> {
    let now = state.clock.now();
    let token = random_token();
    on_exec!(state.db.writer(), c => sqlx::query(
        "INSERT INTO mfa_challenges (id, token_hash, user_id, throttle_key, device_name, ip, user_agent, failures, created_at, expires_at, first_factor) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10)")
        .bind(Uuid::now_v7())
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(identifier_key)
        .bind(&device.name)
        .bind(device.client.ip.map(|ip| ip.to_string()))
        .bind(&device.client.user_agent)
        .bind(now)
        .bind(now + chrono::Duration::seconds(LIFETIME_SECONDS))
        .bind(first_factor)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(MfaRequiredProblem::new(
        token,
        factors.methods(),
        LIFETIME_SECONDS,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaVerifyRequest {
    /// From the `mfa-required` answer of the login.
    pub mfa_token: String,
    /// A TOTP code; or give `recovery_code`, or `challenge_id` with `credential`.
    pub code: Option<String>,
    pub recovery_code: Option<String>,
    /// From `POST /mfa/passkey-challenge`.
    pub challenge_id: Option<Uuid>,
    /// WebAuthn `AuthenticationResponseJSON`.
    #[schema(value_type = Option<Object>)]
    pub credential: Option<Value>,
}

/// Complete a login with a second factor
///
/// Answers the same token pair as `/login`. A wrong answer is 400 naming the field and
/// counts toward the account's lockout; after 5 the `mfa_token` is dead.
#[utoipa::path(post, path = "/mfa/verify", operation_id = "mfa_verify", tag = "mfa", request_body = MfaVerifyRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPair, headers(("Cache-Control" = String, description = "no-store"))),
        (status = 400, description = "Wrong, used or refused second factor (field named), or an unknown, expired or used mfa_token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No second factor given, or more than one", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The account is locked or the client rate limited; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<MfaVerifyRequest>,
) -> ApiResult<Response> {
    let proof = Proof::from_fields(
        body.code,
        body.recovery_code,
        body.challenge_id,
        body.credential,
    )?
    .ok_or_else(|| {
        ApiError::validation(
            "code",
            "give code, recovery_code, or challenge_id with credential",
        )
    })?;
    let (user, issued) = answer(&state, &body.mfa_token, proof, client).await?;
    let pair = token_pair(&state, user, issued, state.clock.now())?;
    Ok(no_store(Json(pair).into_response()))
}

/// The methods the live challenge `mfa_token` offers (`None` when it is not live).
pub async fn methods(state: &AppState, mfa_token: &str) -> ApiResult<Option<Vec<String>>> {
    let Some(pending) = find_live(&state.db, mfa_token, state.clock.now()).await? else {
        return Ok(None);
    };
    Ok(Some(
        super::factors(&state.db, pending.user_id).await?.methods(),
    ))
}

/// Answers the challenge `mfa_token` with `proof`: the session it starts, or why not
/// (what `/mfa/verify` and the sign-in page both do).
pub async fn answer(
    state: &AppState,
    mfa_token: &str,
    proof: Proof,
    client: ClientInfo,
) -> ApiResult<(User, IssuedRefresh)> {
    let now = state.clock.now();
    let pending = find_live(&state.db, mfa_token, now)
        .await?
        .ok_or_else(invalid_mfa_token)?;
    let keys = guard::second_factor_keys(Some(&pending.throttle_key), pending.user_id);
    let ceremony = Ceremony::SecondFactor {
        mfa_challenge_id: pending.id,
    };
    let proven =
        check_second_factor(state, &keys, pending.user_id, &proof, ceremony, &client).await?;
    let Some(factor) = proven else {
        on_exec!(state.db.writer(), c => sqlx::query(
            "UPDATE mfa_challenges SET failures = failures + 1 WHERE id = $1")
            .bind(pending.id)
            .execute(c)
            .await.map(|r| r.rows_affected()))?;
        return Err(proof.refused());
    };
    complete(state, pending, &keys, &proof, factor, client).await
}

/// Starts the session of a challenge answered right, in one transaction with the
/// challenge's end: a challenge completes once, even when two right answers race.
async fn complete(
    state: &AppState,
    pending: Pending,
    keys: &[String],
    proof: &Proof,
    factor: &str,
    client: ClientInfo,
) -> ApiResult<(User, IssuedRefresh)> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let ended = on_exec!(&mut tx, c => sqlx::query("DELETE FROM mfa_challenges WHERE id = $1")
        .bind(pending.id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let user = match find_user(&mut tx, pending.user_id).await? {
        Some(user) if ended == 1 && user.is_active => user,
        _ => return Err(invalid_mfa_token()),
    };
    guard::settle_second_factor(&mut tx, keys).await?;
    let device = Device {
        name: pending.device_name,
        client,
    };
    let authentication = Authentication {
        time: now,
        methods: format!("{},{factor},mfa", pending.first_factor),
    };
    let issued =
        sessions::start_session(state, &mut tx, user.id, &device, authentication, now).await?;
    crate::accounts::model::record_login(&mut tx, user.id, now).await?;
    if let Proof::RecoveryCode(_) = proof {
        let entry = AuditEntry::by_owner(event::RECOVERY_CODE_USED, user.id, &device.client);
        audit::record(&mut tx, now, entry).await?;
    }
    let entry = AuditEntry::by_owner(event::LOGIN_SUCCESS, user.id, &device.client).with_detail(
        serde_json::json!({"session_id": issued.session_id, "second_factor": proof.method()}),
    );
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    metrics::counter!("roster_logins_total", "result" => "success").increment(1);
    let mut user = user;
    user.last_login_at = Some(now);
    Ok((user, issued))
}
