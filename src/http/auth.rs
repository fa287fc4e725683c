//! The axum extractors of the authenticated caller: [`AuthUser`] (a bearer token is
//! required), [`MaybeAuthUser`] (one may be sent) and [`AdminUser`]. They read the token
//! from the `Authorization` header only and hand it to `auth::authenticate`.

use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, header, request::Parts};

pub use crate::auth::authenticate::AuthUser;
use crate::auth::authenticate::authenticate;
use crate::error::{ApiError, AuthProblem};
use crate::state::AppState;

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
