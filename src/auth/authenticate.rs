//! The authenticated caller. A bearer token is verified (signature, claims, time) and
//! then its session is looked up together with the account: in the authentication cache
//! when it is coherent (see `crate::coherence`), otherwise in one indexed query. Either
//! way a revoked session, a deactivated or deleted account is refused on the very next
//! request on every instance, and handlers receive the account without a second query.
//! The axum extractors that call [`authenticate`] are in `crate::http::auth`.

use std::sync::Arc;

use uuid::Uuid;

use super::sessions::session_user;
use crate::accounts::model::User;
use crate::error::{ApiError, AuthProblem};
use crate::state::AppState;
use crate::tokens::access::{AccessClaims, TokenError, check_time};

/// A caller with a valid access token of a live session.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: User,
    pub session_id: Uuid,
    pub claims: Arc<AccessClaims>,
}

impl AuthUser {
    pub fn id(&self) -> Uuid {
        self.user.id
    }

    pub fn is_admin(&self) -> bool {
        self.user.is_admin()
    }

    /// True when the caller is `user_id` or an administrator.
    pub fn may_act_for(&self, user_id: Uuid) -> bool {
        self.user.id == user_id || self.is_admin()
    }

    /// 403 unless the caller is `user_id` or an administrator (user ids are public, so
    /// refusing does not reveal anything a 404 would hide).
    pub fn require_self_or_admin(&self, user_id: Uuid) -> Result<(), ApiError> {
        if self.may_act_for(user_id) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only this user or an administrator may do this",
            ))
        }
    }
}

/// Authenticates a request to Roster's own API that sent `token`: see
/// [`authenticate_session`]. A token issued to an OpenID client is refused here: what a
/// user let an application do (its scopes) is not the run of their account.
pub async fn authenticate(state: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    let caller = authenticate_session(state, token).await?;
    if caller.claims.client_id.is_some() {
        tracing::debug!("access token of an OpenID client refused by the account API");
        return Err(ApiError::Unauthorized(AuthProblem::InvalidToken));
    }
    Ok(caller)
}

/// Authenticates `token`, whoever it was issued to: verifies it (signature, claims,
/// time), then finds its live session with the account, in the cache when it is coherent.
pub async fn authenticate_session(state: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    let now = state.clock.now();
    let refuse = |reason: TokenError| {
        tracing::debug!(%reason, "access token refused");
        ApiError::Unauthorized(AuthProblem::InvalidToken)
    };
    let claims = match state.auth_cache.verified(token) {
        Some(claims) => {
            check_time(&claims, now).map_err(refuse)?;
            claims
        }
        None => {
            let claims = Arc::new(state.tokens.verify(token, now).map_err(refuse)?);
            state.auth_cache.remember_verified(token, claims.clone());
            claims
        }
    };
    if let Some(user) = state.auth_cache.session_user(claims.sid, claims.sub, now) {
        metrics::counter!("roster_auth_cache_total", "result" => "hit").increment(1);
        return Ok(AuthUser {
            user: User::clone(&user),
            session_id: claims.sid,
            claims,
        });
    }
    metrics::counter!("roster_auth_cache_total", "result" => "miss").increment(1);
    let generation = state.auth_cache.generation();
    let found = session_user(&state.db, claims.sid, claims.sub, now)
        .await?
        .ok_or(ApiError::Unauthorized(AuthProblem::InvalidToken))?;
    state.auth_cache.fill(
        generation,
        claims.sid,
        &found.user,
        found.session_expires_at,
    );
    Ok(AuthUser {
        user: found.user,
        session_id: claims.sid,
        claims,
    })
}
