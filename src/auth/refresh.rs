//! Refresh-token rotation: `POST /refresh`, and the `refresh_token` grant of the token
//! endpoint.
//!
//! A refresh token is 256 random bits handed out once and stored as its SHA-256. Every
//! refresh issues the presented token's successor, and a token with a successor is
//! used; presenting a used token again (a stolen copy, or the owner after a thief)
//! revokes the whole session. A token has at most one successor (a unique index on
//! `rotated_from`), which makes two concurrent refreshes with one token resolve to
//! exactly one winner; the loser counts as reuse.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::sessions::{
    IssuedRefresh, TokenPair, reason, refresh_expiry, revoke_session, token_pair,
};
use crate::accounts::model::{User, find_user};
use crate::audit::{self, AuditEntry, ClientInfo, event};
use crate::coherence::CacheUnaffected;
use crate::crypto::token_hash;
use crate::db::Exec;
use crate::error::{ApiError, ApiResult, AuthProblem, Problem};
use crate::http::ApiJson;
use crate::state::AppState;
use crate::tokens::access::Authentication;
use crate::tokens::rotation::{Rotation, Successor, rotate_all};
use crate::{on_exec, user_columns};

/// A presented refresh token with its session and account, read in one query.
#[derive(Debug, sqlx::FromRow)]
struct PresentedToken {
    session_id: Uuid,
    token_expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    session_revoked_at: Option<DateTime<Utc>>,
    session_expires_at: DateTime<Utc>,
    #[sqlx(flatten)]
    user: User,
}

impl PresentedToken {
    fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.session_revoked_at.is_none()
            && self.session_expires_at > now
            && self.token_expires_at > now
            && self.user.is_active
    }
}

async fn find_presented(
    ex: impl Into<Exec<'_>>,
    token: &str,
) -> Result<Option<PresentedToken>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, PresentedToken>(concat!(
        "SELECT rt.session_id, rt.expires_at AS token_expires_at, COALESCE(rt.used_at, successor.created_at) AS used_at, \
                s.revoked_at AS session_revoked_at, s.expires_at AS session_expires_at, ", user_columns!("u"),
        " FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id JOIN users u ON u.id = s.user_id \
           LEFT JOIN refresh_tokens successor ON successor.rotated_from = rt.id \
         WHERE rt.token_hash = $1"))
        .bind(token_hash(token))
        .fetch_optional(c)
        .await)
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Refreshed {
    Rotated {
        user: User,
        issued: IssuedRefresh,
    },
    /// The token had already been rotated: its session is now revoked.
    Reused {
        user_id: Uuid,
    },
    /// Unknown, expired, or its session is over.
    Invalid,
}

impl Refreshed {
    fn rotated(user: User, rotation: Rotation) -> Self {
        Refreshed::Rotated {
            user,
            issued: IssuedRefresh {
                session_id: rotation.session_id,
                refresh_token: rotation.refresh_token,
                expires_at: rotation.expires_at,
                authentication: Authentication {
                    time: rotation.auth_time,
                    methods: rotation.amr,
                },
            },
        }
    }
}

/// Rotates a refresh token (see the module documentation).
///
/// The common case is one statement, shared with the other rotations that arrive
/// meanwhile (see [`crate::tokens::rotation`]). The account it returns comes from the
/// authentication cache when the cache holds it unchanged (same `updated_at` as the
/// rotation saw), else from the database. When the statement rotates nothing, a write
/// transaction reads the token, its session and account and decides what it sees:
/// unknown or dead, used already (reuse: the session is revoked), or still rotatable
/// (a concurrent rotation failed and rolled back).
pub async fn rotate_refresh_token(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
) -> ApiResult<Refreshed> {
    let generation = state.auth_cache.generation();
    if let Some(rotation) = state.rotations.rotate(token).await? {
        let cached = state
            .auth_cache
            .user(rotation.user_id)
            .filter(|user| user.updated_at == rotation.user_updated_at);
        let user = match cached {
            Some(user) => User::clone(&user),
            None => match find_user(&state.db, rotation.user_id).await? {
                Some(user) => user,
                // Deleted since the rotation a moment ago.
                None => return Ok(Refreshed::Invalid),
            },
        };
        state
            .auth_cache
            .fill(generation, rotation.session_id, &user, rotation.expires_at);
        return Ok(Refreshed::rotated(user, rotation));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(presented) = find_presented(&mut tx, token).await? else {
        return Ok(Refreshed::Invalid);
    };
    if !presented.is_live(now) {
        return Ok(Refreshed::Invalid);
    }
    if presented.used_at.is_none() {
        let successor = [Successor::for_token(token)];
        let expires_at = refresh_expiry(state, now);
        let rotated = rotate_all(&mut tx, &successor, now, expires_at).await?;
        if let Some(rotation) = rotated.into_iter().next().flatten() {
            tx.commit().await?;
            return Ok(Refreshed::rotated(presented.user, rotation));
        }
    }
    let user_id = presented.user.id;
    revoke_session(
        &mut tx,
        user_id,
        presented.session_id,
        reason::REFRESH_TOKEN_REUSE,
        now,
    )
    .await?;
    let entry = AuditEntry {
        event: event::TOKEN_REFRESH_REUSE,
        actor_id: None,
        user_id: Some(user_id),
        client: Some(client),
        detail: serde_json::json!({"session_id": presented.session_id}),
    };
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    tracing::warn!(session_id = %presented.session_id, "refresh token reuse: session revoked");
    Ok(Refreshed::Reused { user_id })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Exchange a refresh token for a new pair (rotation)
///
/// The presented refresh token stops working. Presenting it again revokes the whole
/// session (401). An unknown, expired or revoked refresh token is a bad token in the
/// body (400).
#[utoipa::path(post, path = "/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "Rotated token pair", body = TokenPair),
        (status = 400, description = "Unknown, expired or revoked refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The refresh token was already used: its session is now revoked", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<Response> {
    match rotate_refresh_token(&state, &body.refresh_token, &client).await? {
        Refreshed::Rotated { user, issued } => {
            metrics::counter!("roster_token_refreshes_total", "result" => "rotated").increment(1);
            let mut response = crate::http::no_store(
                Json(token_pair(&state, user, issued, state.clock.now())?).into_response(),
            );
            // A rotation revokes nothing and changes no account: no cache sync needed.
            response.extensions_mut().insert(CacheUnaffected);
            Ok(response)
        }
        Refreshed::Reused { .. } => {
            metrics::counter!("roster_token_refreshes_total", "result" => "reused").increment(1);
            Err(ApiError::Unauthorized(AuthProblem::InvalidToken))
        }
        Refreshed::Invalid => {
            metrics::counter!("roster_token_refreshes_total", "result" => "invalid").increment(1);
            Err(ApiError::BadToken(
                "the refresh token is invalid, expired or revoked".into(),
            ))
        }
    }
}
