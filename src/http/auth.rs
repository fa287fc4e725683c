//! The authenticated caller. A bearer token is verified (signature, claims, time) and
//! then its session is looked up together with the account: in the authentication cache
//! when it is coherent (see `crate::auth::cache` and `crate::db::changes`), otherwise in
//! one indexed query. Either way a revoked session, a deactivated or deleted account is
//! refused on the very next request on every instance, and handlers receive the account
//! without a second query.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, header, request::Parts};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::sessions::session_user;
use crate::auth::tokens::{AccessClaims, TokenError, check_time};
use crate::error::{ApiError, AuthProblem};
use crate::users::model::User;

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

/// The token in `Authorization: Bearer <token>`; `None` when the header is absent.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized(AuthProblem::InvalidToken))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(ApiError::Unauthorized(AuthProblem::InvalidToken))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(AuthProblem::InvalidToken));
    }
    Ok(Some(token.trim()))
}

async fn authenticate(state: &AppState, token: &str) -> Result<AuthUser, ApiError> {
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

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?
            .ok_or(ApiError::Unauthorized(AuthProblem::MissingToken))?;
        authenticate(state, token).await
    }
}

/// The caller if a token was sent; a token that was sent but is not valid is still 401.
#[derive(Debug, Clone)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

impl FromRequestParts<AppState> for MaybeAuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match bearer_token(&parts.headers)? {
            None => Ok(MaybeAuthUser(None)),
            Some(token) => authenticate(state, token)
                .await
                .map(|user| MaybeAuthUser(Some(user))),
        }
    }
}

/// A caller whose account has the admin role (as stored now, not as the token says).
#[derive(Debug, Clone)]
pub struct AdminUser(pub AuthUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = AuthUser::from_request_parts(parts, state).await?;
        if !caller.is_admin() {
            return Err(ApiError::forbidden("this endpoint is for administrators"));
        }
        Ok(AdminUser(caller))
    }
}
