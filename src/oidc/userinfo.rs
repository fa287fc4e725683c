//! The userinfo endpoint (OpenID Connect Core §5.3), `GET` and `POST /oauth2/userinfo`:
//! the claims the access token's scopes release about its user. The token comes in the
//! `Authorization: Bearer` header (RFC 6750 §2.1) or, on `POST`, as the form field
//! `access_token` (§2.2); its session must be live. Errors are RFC 6750 §3 challenges.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::claims;
use super::scope::{self, Scopes};
use crate::auth::authenticate::authenticate_session;
use crate::error::ApiResult;
use crate::http::{bearer_token, no_store};
use crate::state::AppState;

/// `GET /oauth2/userinfo`.
pub async fn userinfo_get(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let token = match bearer_token(&headers) {
        Ok(Some(token)) => token.to_owned(),
        Ok(None) => {
            return Ok(challenge(
                StatusCode::UNAUTHORIZED,
                "Bearer realm=\"roster\"",
            ));
        }
        Err(_) => return Ok(invalid_token()),
    };
    userinfo(&state, &token).await
}

/// `POST /oauth2/userinfo`.
pub async fn userinfo_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let from_body = form_urlencoded::parse(&body)
        .find(|(name, _)| name == "access_token")
        .map(|(_, value)| value.into_owned());
    let token = match (bearer_token(&headers), from_body) {
        (Ok(Some(_)), Some(_)) => return Ok(invalid_request("send the access token once")),
        (Ok(Some(token)), None) => token.to_owned(),
        (Ok(None), Some(token)) => token,
        (Ok(None), None) => {
            return Ok(challenge(
                StatusCode::UNAUTHORIZED,
                "Bearer realm=\"roster\"",
            ));
        }
        (Err(_), _) => return Ok(invalid_token()),
    };
    userinfo(&state, &token).await
}

async fn userinfo(state: &AppState, token: &str) -> ApiResult<Response> {
    let Ok(caller) = authenticate_session(state, token).await else {
        return Ok(invalid_token());
    };
    let scopes = Scopes::parse(caller.claims.scope.as_deref().unwrap_or("")).unwrap_or_default();
    if !scopes.contains(scope::OPENID) {
        return Ok(challenge(
            StatusCode::FORBIDDEN,
            "Bearer realm=\"roster\", error=\"insufficient_scope\", scope=\"openid\"",
        ));
    }
    let released = claims::for_user(&state.db, &caller.user, &scopes).await?;
    Ok(no_store(Json(released).into_response()))
}

fn invalid_token() -> Response {
    challenge(
        StatusCode::UNAUTHORIZED,
        "Bearer realm=\"roster\", error=\"invalid_token\", error_description=\"the access token is not valid\"",
    )
}

fn invalid_request(description: &'static str) -> Response {
    let mut response = challenge(
        StatusCode::BAD_REQUEST,
        "Bearer realm=\"roster\", error=\"invalid_request\"",
    );
    *response.body_mut() = axum::body::Body::from(description);
    response
}

fn challenge(status: StatusCode, value: &'static str) -> Response {
    let mut response = status.into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
    no_store(response)
}
