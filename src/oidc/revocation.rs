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
use uuid::Uuid;

use super::clients::Client;
use super::oauth::{Form, OAuthError};
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

/// `POST /oauth2/revoke`.
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
    revoke_token(&state, &client, token).await?;
    Ok(no_store(StatusCode::OK.into_response()))
}

async fn revoke_token(state: &AppState, client: &Client, token: &str) -> ApiResult<()> {
    let now = state.clock.now();
    let mine = |issued_to: Option<&str>| issued_to == Some(client.client_id.as_str());
    if looks_like_jwt(token) {
        if let Ok(claims) = state.tokens.verify(token, now) {
            if mine(claims.client_id.as_deref()) {
                sessions::revoke_session(
                    state.db.writer(),
                    claims.sub,
                    claims.sid,
                    reason::REVOKED_BY_CLIENT,
                    now,
                )
                .await?;
            }
        } else if let Ok(claims) = state.tokens.verify_service(token, now)
            && mine(Some(&claims.client_id))
        {
            remember_revoked(&state.db, &claims).await?;
        }
        return Ok(());
    }
    if let Some(stored) = find_refresh(&state.db, token, now).await?
        && mine(stored.client_id.as_deref())
    {
        sessions::revoke_session(
            state.db.writer(),
            stored.user_id,
            stored.session_id,
            reason::REVOKED_BY_CLIENT,
            now,
        )
        .await?;
    }
    Ok(())
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

/// `POST /oauth2/introspect`.
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
        if let Ok(claims) = state.tokens.verify_service(token, now)
            && !is_revoked(&state.db, claims.jti).await?
        {
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
