//! The userinfo endpoint (OpenID Connect Core §5.3), `GET` and `POST /oauth2/userinfo`:
//! the claims the access token's scopes release about its user. The token comes in the
//! `Authorization: Bearer` header (RFC 6750 §2.1) or, on `POST`, as the form field
//! `access_token` (§2.2); its session must be live. Errors are RFC 6750 §3 challenges.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::ToSchema;
use uuid::Uuid;

use super::claims;
use super::scope::{self, Scopes};
use crate::auth::authenticate::authenticate_session;
use crate::error::{ApiResult, Problem};
use crate::http::{bearer_token, no_store};
use crate::state::AppState;

// The shape of `claims::UserClaims`; the tests check real answers against it.
/// The claims about a user that the access token's scopes release: `sub` always, the
/// others with the scope that releases them.
#[derive(Debug, ToSchema)]
pub struct UserInfo {
    /// The user id.
    pub sub: Uuid,
    /// `profile`: the full name, when the user gave one.
    #[schema(required = false)]
    pub name: String,
    /// `profile`: the username.
    #[schema(required = false)]
    pub preferred_username: String,
    /// `profile`: the avatar URL, when the user set one.
    #[schema(required = false)]
    pub picture: String,
    /// `profile`: when the account last changed, seconds since the epoch.
    #[schema(required = false)]
    pub updated_at: i64,
    /// `email`
    #[schema(required = false)]
    pub email: String,
    /// `email`
    #[schema(required = false)]
    pub email_verified: bool,
}

/// The optional form body of `POST /oauth2/userinfo`.
#[derive(Debug, ToSchema)]
pub struct UserInfoForm {
    /// The access token, instead of the `Authorization` header (RFC 6750 §2.2).
    #[schema(nullable = false)]
    pub access_token: Option<String>,
}

/// The claims about the access token's user (OpenID Connect Core §5.3)
///
/// The token must carry the `openid` scope and its session must be live. The claims
/// depend on its scopes: `sub` always; `name`, `preferred_username`, `picture`,
/// `updated_at` with `profile`; `email`, `email_verified` with `email`. Refusals are
/// RFC 6750 §3 challenges in `WWW-Authenticate`.
#[utoipa::path(get, path = "/oauth2/userinfo", tag = "oauth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The released claims", body = UserInfo, headers(
            ("Cache-Control" = String, description = "no-store"),
        )),
        (status = 401, description = "No access token (`WWW-Authenticate: Bearer realm=\"roster\"`), or one that is malformed, expired, wrongly signed or revoked (`error=\"invalid_token\"`)", body = Problem, content_type = "application/problem+json", headers(
            ("WWW-Authenticate" = String, description = "The RFC 6750 §3 challenge"),
        )),
        (status = 403, description = "The token lacks the `openid` scope (`error=\"insufficient_scope\"`)", body = Problem, content_type = "application/problem+json", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"roster\", error=\"insufficient_scope\", scope=\"openid\"`"),
        )),
    ))]
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

/// The claims about the access token's user, the token in the header or the form
///
/// As `GET`, with the token either in `Authorization: Bearer` or as the form field
/// `access_token` (RFC 6750 §2.2), not both.
#[utoipa::path(post, path = "/oauth2/userinfo", tag = "oauth", security(("bearer" = []), ()),
    request_body(content = UserInfoForm, content_type = "application/x-www-form-urlencoded", description = "Empty when the token is in the header"),
    responses(
        (status = 200, description = "The released claims", body = UserInfo, headers(
            ("Cache-Control" = String, description = "no-store"),
        )),
        (status = 400, description = "The token was sent both in the header and in the form (`error=\"invalid_request\"`)", body = Problem, content_type = "application/problem+json", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"roster\", error=\"invalid_request\"`"),
        )),
        (status = 401, description = "No access token (`WWW-Authenticate: Bearer realm=\"roster\"`), or one that is malformed, expired, wrongly signed or revoked (`error=\"invalid_token\"`)", body = Problem, content_type = "application/problem+json", headers(
            ("WWW-Authenticate" = String, description = "The RFC 6750 §3 challenge"),
        )),
        (status = 403, description = "The token lacks the `openid` scope (`error=\"insufficient_scope\"`)", body = Problem, content_type = "application/problem+json", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"roster\", error=\"insufficient_scope\", scope=\"openid\"`"),
        )),
    ))]
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
