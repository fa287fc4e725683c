//! What the second-factor ceremonies share, below all of them: the "recent" rule, the
//! ceremony an assertion answers, and the lookup of a login's pending challenge.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::crypto::token_hash;
use crate::db::Exec;
use crate::error::{ApiError, ApiResult, Why};
use crate::http::AuthUser;
use crate::i18n::message_key;
use crate::on_exec;
use crate::state::AppState;

/// Wrong answers an `mfa_token` survives.
pub const MAX_WRONG: i32 = 5;

/// 403 `reauthentication-required` unless the caller's token says its user proved who
/// they are within `REAUTH_MAX_AGE_MINUTES`.
pub fn require_recent(state: &AppState, caller: &AuthUser) -> ApiResult<()> {
    if is_recent(state, caller.claims.auth_time) {
        Ok(())
    } else {
        Err(ApiError::ReauthenticationRequired)
    }
}

/// Whether a user who proved who they are at `auth_time` (seconds since the epoch) did
/// so within `REAUTH_MAX_AGE_MINUTES`: the "recent" rule, for a token's claim or a
/// browser session's stored time alike.
pub fn is_recent(state: &AppState, auth_time: Option<i64>) -> bool {
    let max_age = state.config.mfa.reauth_max_age.as_secs() as i64;
    let now = state.clock.now().timestamp();
    auth_time.is_some_and(|auth_time| now - auth_time <= max_age)
}

/// An administrator's change to *another administrator's* account (second factors reset,
/// email, role, status, deletion) needs the acting administrator's recent sign-in
/// (`auth_time`, seconds since the epoch, within `REAUTH_MAX_AGE_MINUTES`): a stolen or
/// unattended administrator session alone cannot take over the other administrators.
/// 403 `reauthentication-required` otherwise; changes to ordinary accounts and to one's
/// own are not affected by this rule.
pub async fn require_recent_over_admin(
    state: &AppState,
    actor_id: Uuid,
    actor_auth_time: Option<i64>,
    target_id: Uuid,
) -> ApiResult<()> {
    if actor_id == target_id || is_recent(state, actor_auth_time) {
        return Ok(());
    }
    let target_is_admin: Option<bool> = on_exec!(&state.db, c => sqlx::query_scalar(
        "SELECT role = 'admin' FROM users WHERE id = $1")
        .bind(target_id)
        .fetch_optional(c)
        .await)?;
    if target_is_admin == Some(true) {
        return Err(ApiError::ReauthenticationRequired);
    }
    Ok(())
}

/// Which ceremony an assertion answers.
#[derive(Debug, Clone, Copy)]
pub enum Ceremony {
    /// The second step of the login whose challenge this is.
    SecondFactor { mfa_challenge_id: Uuid },
    /// A re-authentication of the caller.
    Reauthenticate,
}

/// A live challenge, found by its token.
#[derive(Debug, sqlx::FromRow)]
pub struct Pending {
    pub id: Uuid,
    pub user_id: Uuid,
    pub throttle_key: String,
    pub device_name: Option<String>,
    /// How the first step was made: `pwd`, or `fed` (an identity provider).
    pub first_factor: String,
}

/// The live challenge `token` names, if any.
pub async fn find_live(
    ex: impl Into<Exec<'_>>,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Pending>, sqlx::Error> {
    if token.is_empty() || token.len() > 100 {
        return Ok(None);
    }
    on_exec!(ex, c => sqlx::query_as::<_, Pending>(
        "SELECT id, user_id, throttle_key, device_name, first_factor FROM mfa_challenges WHERE token_hash = $1 AND expires_at > $2 AND failures < $3")
        .bind(token_hash(token))
        .bind(now)
        .bind(MAX_WRONG)
        .fetch_optional(c)
        .await)
}

pub fn invalid_mfa_token() -> ApiError {
    ApiError::BadToken(Why::new(
        "the mfa_token is unknown, expired, used or refused too many answers; log in again",
        message_key("bad-token-mfa"),
    ))
}
