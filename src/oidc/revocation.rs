//! Token revocation (RFC 7009, `POST /oauth2/revoke`) and introspection (RFC 7662,
//! `POST /oauth2/introspect`).
//!
//! Revoking a user's access or refresh token ends the session it belongs to, so both
//! die together on every instance; a `client_credentials` token is remembered by `jti`
//! until it would have expired. A client can revoke only what was issued to it; any
//! other token, an unknown or expired one, is answered `200` all the same (§2.2).
//!
//! Introspection is for resource servers, which authenticate as confidential clients.
//! They learn about any access token; refresh tokens only of their own sessions.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::clients::Client;
use super::oauth::{Form, OAuthError, OAuthErrorBody};
use crate::auth::authenticate::authenticate_session;
use crate::auth::sessions::{self, reason};
use crate::crypto::token_hash;
use crate::db::Db;
use crate::error::ApiResult;
use crate::http::no_store;
use crate::on_exec;
use crate::state::AppState;
use crate::tokens::access::ServiceClaims;

/// A refresh token as revocation and introspection see it.
#[derive(sqlx::FromRow)]
struct StoredRefresh {
    session_id: Uuid,
    user_id: Uuid,
    username: String,
    client_id: Option<String>,
    scope: Option<String>,
    expires_at: DateTime<Utc>,
    /// Neither used nor rotated, unexpired, and its session live.
    live: bool,
}

async fn find_refresh(
    db: &Db,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<StoredRefresh>, sqlx::Error> {
    on_exec!(db, c => sqlx::query_as::<_, StoredRefresh>(
        "SELECT s.id AS session_id, s.user_id, u.username, s.client_id, s.scope, rt.expires_at, \
                (rt.used_at IS NULL AND rt.expires_at > $2 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.is_active \
                 AND NOT EXISTS (SELECT 1 FROM refresh_tokens successor WHERE successor.rotated_from = rt.id)) AS live \
           FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id JOIN users u ON u.id = s.user_id \
          WHERE rt.token_hash = $1")
        .bind(token_hash(token))
        .bind(now)
        .fetch_optional(c)
        .await)
}

fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

/// The form fields of a revocation (RFC 7009 §2.1) or introspection (RFC 7662 §2.1)
/// request: each at most once; empty ones count as absent.
#[derive(Debug, ToSchema)]
pub struct TokenReference {
    /// An access token or a refresh token.
    pub token: String,
    /// Accepted and not needed: Roster tells the kinds apart by their form.
    #[schema(nullable = false)]
    pub token_type_hint: Option<String>,
    /// `client_secret_post`, or a public client naming itself (revocation only).
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// `client_secret_post`.
    #[schema(nullable = false)]
    pub client_secret: Option<String>,
}

/// Revoke a token (RFC 7009)
///
/// Revoking an access or refresh token a user granted the calling client ends the
/// session both belong to (on every instance at once); a `client_credentials` token is
/// refused from then on until it expires. A token that is unknown, expired or revoked
/// already is answered `200` all the same (§2.2); a live token issued to another client
/// (or to Roster's own login) is refused with `400` `unauthorized_client` (§2.1: the
/// server checks that the token was issued to the client asking), and nothing is
/// revoked. The client authenticates as at the token endpoint.
#[utoipa::path(post, path = "/oauth2/revoke", tag = "oauth",
    request_body(content = TokenReference, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_secret_basic" = [])),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke; no body", headers(
            ("Cache-Control" = String, description = "no-store"),
        )),
        (status = 400, description = "RFC 6749 §5.2 `invalid_request`: not a form body, a repeated or missing parameter, two client authentication methods at once; or `unauthorized_client`: a live token issued to another client", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`, with `WWW-Authenticate: Basic` when the client tried `client_secret_basic`", body = OAuthErrorBody, headers(
            ("WWW-Authenticate" = String, description = "`Basic realm=\"roster\", charset=\"UTF-8\"` after a failed `client_secret_basic`"),
        )),
        (status = 503, description = "`temporarily_unavailable`: the client could not be looked up just now; retry", body = OAuthErrorBody),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form = match Form::parse(&headers, &body) {
        Ok(form) => form,
        Err(refused) => return Ok(refused.into_response()),
    };
    let client = match form.client(&state.db, &headers).await {
        Ok(client) => client,
        Err(refused) => return Ok(refused.into_response()),
    };
    let token = match form.require("token") {
        Ok(token) => token,
        Err(refused) => return Ok(refused.into_response()),
    };
    if revoke_token(&state, &client, token).await? == Revocation::IssuedToAnother {
        let refused = OAuthError::bad_request(
            "unauthorized_client",
            "this token was issued to another client; only that client may revoke it",
        );
        return Ok(no_store(refused.into_response()));
    }
    Ok(no_store(StatusCode::OK.into_response()))
}

/// What a revocation found (RFC 7009 §2.1: the server checks that the token was issued
/// to the client asking).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Revocation {
    /// Revoked, or nothing live to revoke (unknown, expired, revoked already): `200`.
    Done,
    /// A live token of another client, or of Roster's own login: refused.
    IssuedToAnother,
}

async fn revoke_token(state: &AppState, client: &Client, token: &str) -> ApiResult<Revocation> {
    let now = state.clock.now();
    let mine = |issued_to: Option<&str>| issued_to == Some(client.client_id.as_str());
    let judged = |mine: bool| {
        if mine {
            Revocation::Done
        } else {
            Revocation::IssuedToAnother
        }
    };
    if looks_like_jwt(token) {
        if let Ok(claims) = state.tokens.verify(token, now) {
            if !mine(claims.client_id.as_deref()) {
                return Ok(Revocation::IssuedToAnother);
            }
            sessions::revoke_session(
                state.db.writer(),
                claims.sub,
                claims.sid,
                reason::REVOKED_BY_CLIENT,
                now,
            )
            .await?;
        } else if let Ok(claims) = state.tokens.verify_service(token, now) {
            if !mine(Some(&claims.client_id)) {
                return Ok(Revocation::IssuedToAnother);
            }
            remember_revoked(&state.db, &claims).await?;
        }
        return Ok(Revocation::Done);
    }
    let Some(stored) = find_refresh(&state.db, token, now).await? else {
        return Ok(Revocation::Done);
    };
    if !mine(stored.client_id.as_deref()) {
        return Ok(judged(!stored.live));
    }
    sessions::revoke_session(
        state.db.writer(),
        stored.user_id,
        stored.session_id,
        reason::REVOKED_BY_CLIENT,
        now,
    )
    .await?;
    Ok(Revocation::Done)
}

async fn remember_revoked(db: &Db, claims: &ServiceClaims) -> Result<(), sqlx::Error> {
    let expires_at = DateTime::<Utc>::from_timestamp(claims.exp, 0).unwrap_or_else(Utc::now);
    on_exec!(db.writer(), c => sqlx::query(
        "INSERT INTO oauth_revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(claims.jti.to_string())
        .bind(expires_at)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The claims of `token` when it is a live `client_credentials` token: unexpired, not
/// revoked, and its client still registered (deleting a client ends what it was given).
/// For resource servers inside Roster (the event feed) and for introspection.
pub async fn live_service_claims(
    state: &AppState,
    token: &str,
) -> Result<Option<ServiceClaims>, sqlx::Error> {
    let Ok(claims) = state.tokens.verify_service(token, state.clock.now()) else {
        return Ok(None);
    };
    if is_revoked(&state.db, claims.jti).await?
        || super::clients::find(&state.db, &claims.client_id)
            .await?
            .is_none()
    {
        return Ok(None);
    }
    Ok(Some(claims))
}

async fn is_revoked(db: &Db, jti: Uuid) -> Result<bool, sqlx::Error> {
    let found: Option<i32> = on_exec!(db, c => sqlx::query_scalar(
        "SELECT 1 FROM oauth_revoked_tokens WHERE jti = $1")
        .bind(jti.to_string())
        .fetch_optional(c)
        .await)?;
    Ok(found.is_some())
}

/// Forgets revoked `client_credentials` tokens once they have expired anyway.
pub async fn purge_expired(db: &Db, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    on_exec!(db.writer(), c => sqlx::query("DELETE FROM oauth_revoked_tokens WHERE expires_at <= $1")
        .bind(now - chrono::Duration::seconds(crate::tokens::access::LEEWAY_SECONDS))
        .execute(c)
        .await.map(|r| r.rows_affected()))
}

/// What introspection tells about a token (RFC 7662 §2.2): `{"active": false}` alone for
/// a token that is unknown, expired, revoked, or another client's refresh token;
/// otherwise `active` and the token's claims.
#[derive(Debug, ToSchema)]
pub struct Introspection {
    pub active: bool,
    /// `Bearer` (an access token) or `refresh_token`.
    #[schema(required = false)]
    pub token_type: String,
    /// The token's scopes, space-separated; null for a first-party session's token.
    #[schema(required = false)]
    pub scope: Option<String>,
    /// The client the token was issued to; null for a first-party session's token.
    #[schema(required = false)]
    pub client_id: Option<String>,
    /// The user's username (user tokens only).
    #[schema(required = false)]
    pub username: String,
    /// The user id, or for a `client_credentials` token the client id.
    #[schema(required = false)]
    pub sub: String,
    /// Access tokens only.
    #[schema(required = false)]
    pub aud: String,
    /// Access tokens only.
    #[schema(required = false)]
    pub iss: String,
    /// Expiry, seconds since the epoch.
    #[schema(required = false)]
    pub exp: i64,
    /// Access tokens only: issued at, seconds since the epoch.
    #[schema(required = false)]
    pub iat: i64,
    /// Access tokens only.
    #[schema(required = false)]
    pub jti: Uuid,
    /// The session the token belongs to (user tokens only).
    #[schema(required = false)]
    pub sid: Uuid,
}

/// Introspect a token (RFC 7662)
///
/// For resource servers, which authenticate as confidential clients (as at the token
/// endpoint, but never as public clients). Any access token can be introspected; a
/// refresh token only by the client it was issued to.
#[utoipa::path(post, path = "/oauth2/introspect", tag = "oauth",
    request_body(content = TokenReference, content_type = "application/x-www-form-urlencoded"),
    security(("client_secret_basic" = []), ()),
    responses(
        (status = 200, description = "What the token is, or `{\"active\": false}`", body = Introspection, headers(
            ("Cache-Control" = String, description = "no-store"),
        )),
        (status = 400, description = "RFC 6749 §5.2 `invalid_request`: not a form body, a repeated or missing parameter, two client authentication methods at once", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client` (also a public client), with `WWW-Authenticate: Basic` when the client tried `client_secret_basic`", body = OAuthErrorBody, headers(
            ("WWW-Authenticate" = String, description = "`Basic realm=\"roster\", charset=\"UTF-8\"` after a failed `client_secret_basic`"),
        )),
        (status = 503, description = "`temporarily_unavailable`: the client could not be looked up just now; retry", body = OAuthErrorBody),
    ))]
pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form = match Form::parse(&headers, &body) {
        Ok(form) => form,
        Err(refused) => return Ok(refused.into_response()),
    };
    let client = match form.client(&state.db, &headers).await {
        Ok(client) if !client.is_public() => client,
        Ok(_) => {
            return Ok(OAuthError {
                status: StatusCode::UNAUTHORIZED,
                error: "invalid_client",
                description: "introspection is for confidential clients".into(),
                basic_challenge: false,
            }
            .into_response());
        }
        Err(refused) => return Ok(refused.into_response()),
    };
    let token = match form.require("token") {
        Ok(token) => token,
        Err(refused) => return Ok(refused.into_response()),
    };
    let answer = describe(&state, &client, token).await?;
    Ok(no_store(
        Json(answer.unwrap_or_else(|| json!({"active": false}))).into_response(),
    ))
}

async fn describe(state: &AppState, client: &Client, token: &str) -> ApiResult<Option<Value>> {
    let now = state.clock.now();
    if looks_like_jwt(token) {
        if let Ok(caller) = authenticate_session(state, token).await {
            let claims = &caller.claims;
            return Ok(Some(json!({
                "active": true,
                "token_type": "Bearer",
                "scope": claims.scope,
                "client_id": claims.client_id,
                "username": caller.user.username,
                "sub": claims.sub,
                "aud": claims.aud,
                "iss": claims.iss,
                "exp": claims.exp,
                "iat": claims.iat,
                "jti": claims.jti,
                "sid": claims.sid,
            })));
        }
        if let Some(claims) = live_service_claims(state, token).await? {
            return Ok(Some(json!({
                "active": true,
                "token_type": "Bearer",
                "scope": claims.scope,
                "client_id": claims.client_id,
                "sub": claims.sub,
                "aud": claims.aud,
                "iss": claims.iss,
                "exp": claims.exp,
                "iat": claims.iat,
                "jti": claims.jti,
            })));
        }
        return Ok(None);
    }
    let Some(stored) = find_refresh(&state.db, token, now).await? else {
        return Ok(None);
    };
    if !stored.live || stored.client_id.as_deref() != Some(client.client_id.as_str()) {
        return Ok(None);
    }
    Ok(Some(json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": stored.scope,
        "client_id": stored.client_id,
        "username": stored.username,
        "sub": stored.user_id,
        "exp": stored.expires_at.timestamp(),
        "sid": stored.session_id,
    })))
}
