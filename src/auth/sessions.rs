//! Sessions (one login on one device) and their refresh tokens.
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
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::rotation::{Rotation, Successor, rotate_all};
use crate::app::AppState;
use crate::audit::{self, AuditEntry, event};
use crate::config::Config;
use crate::crypto::{random_token, token_hash};
use crate::db::changes::CacheUnaffected;
use crate::db::{Db, Exec};
use crate::error::{ApiError, ApiResult, AuthProblem, Problem};
use crate::http::{ApiJson, ApiPath, AuthUser, ClientInfo, NoContent};
use crate::users::model::{User, find_user};
use crate::{on_exec, user_columns};

/// Why a session ended; stored in `sessions.revoked_reason`.
pub mod reason {
    pub const LOGOUT: &str = "logout";
    pub const LOGOUT_ALL: &str = "logout_all";
    pub const REVOKED_BY_USER: &str = "revoked_by_user";
    pub const REFRESH_TOKEN_REUSE: &str = "refresh_token_reuse";
    pub const PASSWORD_CHANGE: &str = "password_change";
    pub const PASSWORD_RESET: &str = "password_reset";
    pub const DEACTIVATED: &str = "account_deactivated";
    pub const REVOKED_BY_ADMIN: &str = "revoked_by_admin";
}

/// A session as its owner sees it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Session {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    /// Updated at login and at every refresh.
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub device_name: Option<String>,
    /// True for the session of the access token that asked.
    #[sqlx(skip)]
    pub current: bool,
}

/// What a login or refresh answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: i64,
    pub session_id: Uuid,
    pub user: User,
}

/// Where a new session comes from.
#[derive(Debug, Clone, Default)]
pub struct Device {
    pub name: Option<String>,
    pub client: ClientInfo,
}

/// A session just started or refreshed: its id and the refresh token to hand out once.
#[derive(Debug, Clone)]
pub struct IssuedRefresh {
    pub session_id: Uuid,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
}

/// How long a refresh token (and its session) lives: `REFRESH_TOKEN_EXPIRE_DAYS`.
pub fn refresh_ttl(config: &Config) -> chrono::Duration {
    chrono::Duration::from_std(config.refresh_token_ttl).unwrap_or(chrono::Duration::days(7))
}

fn refresh_expiry(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
    now + refresh_ttl(&state.config)
}

async fn insert_refresh_token(
    ex: impl Into<Exec<'_>>,
    session_id: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let token = random_token();
    on_exec!(ex, c => sqlx::query(
        "INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(Uuid::now_v7())
        .bind(session_id)
        .bind(token_hash(&token))
        .bind(now)
        .bind(expires_at)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(token)
}

/// Starts a session for `user_id` with its first refresh token.
pub async fn start_session(
    state: &AppState,
    ex: &mut crate::db::Tx,
    user_id: Uuid,
    device: &Device,
    now: DateTime<Utc>,
) -> Result<IssuedRefresh, sqlx::Error> {
    let session_id = Uuid::now_v7();
    let expires_at = refresh_expiry(state, now);
    on_exec!(&mut *ex, c => sqlx::query(
        "INSERT INTO sessions (id, user_id, device_name, ip, user_agent, created_at, last_used_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)")
        .bind(session_id)
        .bind(user_id)
        .bind(&device.name)
        .bind(device.client.ip.map(|ip| ip.to_string()))
        .bind(&device.client.user_agent)
        .bind(now)
        .bind(expires_at)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let refresh_token = insert_refresh_token(&mut *ex, session_id, now, expires_at).await?;
    Ok(IssuedRefresh {
        session_id,
        refresh_token,
        expires_at,
    })
}

/// Signs an access token and assembles the pair a login or refresh answers.
pub fn token_pair(
    state: &AppState,
    user: User,
    issued: IssuedRefresh,
    now: DateTime<Utc>,
) -> ApiResult<TokenPair> {
    let access_token = state.tokens.issue(&user, issued.session_id, now)?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl().as_secs() as i64,
        refresh_token: issued.refresh_token,
        refresh_expires_in: (issued.expires_at - now).num_seconds(),
        session_id: issued.session_id,
        user,
    })
}

/// An account with the expiry of the session that authenticated it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionUser {
    #[sqlx(flatten)]
    pub user: User,
    pub session_expires_at: DateTime<Utc>,
}

/// The account behind a live session, if `session_id` belongs to `user_id`, is neither
/// revoked nor expired, and the account is active. The per-request authentication query
/// (when the authentication cache cannot answer).
pub async fn session_user(
    db: &Db,
    session_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<SessionUser>, sqlx::Error> {
    on_exec!(db, c => sqlx::query_as::<_, SessionUser>(concat!(
        "SELECT ", user_columns!("u"), ", s.expires_at AS session_expires_at FROM sessions s JOIN users u ON u.id = s.user_id ",
        "WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3 AND u.is_active"))
        .bind(session_id)
        .bind(user_id)
        .bind(now)
        .fetch_optional(c)
        .await)
}

/// Revokes one session of `user_id`; false when there is no such live session.
pub async fn revoke_session(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    session_id: Uuid,
    why: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let result = on_exec!(ex, c => sqlx::query(
        "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL")
        .bind(session_id)
        .bind(user_id)
        .bind(now)
        .bind(why)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(result > 0)
}

/// Revokes every live session of `user_id` except `keep`; returns how many.
pub async fn revoke_user_sessions(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    keep: Option<Uuid>,
    why: &str,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let result = on_exec!(ex, c => sqlx::query(
        "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE user_id = $1 AND revoked_at IS NULL AND ($4 IS NULL OR id <> $4)")
        .bind(user_id)
        .bind(now)
        .bind(why)
        .bind(keep)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(result)
}

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
            },
        }
    }
}

/// Rotates a refresh token (see the module documentation).
///
/// The common case is one statement, shared with the other rotations that arrive
/// meanwhile (see [`super::rotation`]). The account it returns comes from the
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

/// Deletes sessions that expired (with their refresh tokens), sessions revoked more than
/// a day ago, and expired refresh tokens of live sessions. Returns rows deleted.
///
/// An expired token whose predecessor has not expired stays: its row is what makes that
/// predecessor used (migration 0009), and without it the predecessor could be rotated
/// again. A successor expires before its predecessor when the refresh lifetime was
/// lowered between the two; it goes with the first purge after the predecessor expires.
pub async fn purge_expired(db: &Db, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let day_ago = now - chrono::Duration::days(1);
    let mut tx = db.begin().await?;
    let tokens = on_exec!(&mut tx, c => sqlx::query(
        "DELETE FROM refresh_tokens WHERE expires_at <= $1 AND NOT EXISTS \
           (SELECT 1 FROM refresh_tokens predecessor \
             WHERE predecessor.id = refresh_tokens.rotated_from AND predecessor.expires_at > $1)")
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let sessions = on_exec!(&mut tx, c => sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR revoked_at <= $2")
        .bind(now)
        .bind(day_ago)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(tokens + sessions)
}

/// How many sessions are live now (for `/metrics`).
pub async fn count_active(db: &Db, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    on_exec!(db, c => sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > $1")
        .bind(now)
        .fetch_one(c)
        .await)
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
        (status = 422, description = "Validation failed", body = Problem, content_type = "application/problem+json"),
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
            let mut response = super::login::no_store(
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

/// Log out: revoke the current session
#[utoipa::path(post, path = "/logout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "The current session is revoked"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
) -> ApiResult<NoContent> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    revoke_session(&mut tx, caller.id(), caller.session_id, reason::LOGOUT, now).await?;
    let entry = AuditEntry::by_owner(event::LOGOUT, caller.id(), &client)
        .with_detail(serde_json::json!({"session_id": caller.session_id}));
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(NoContent)
}

/// Log out everywhere: revoke all of the caller's sessions
#[utoipa::path(post, path = "/logout-all", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session of the caller is revoked"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout_all(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
) -> ApiResult<NoContent> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let revoked = revoke_user_sessions(&mut tx, caller.id(), None, reason::LOGOUT_ALL, now).await?;
    let entry = AuditEntry::by_owner(event::LOGOUT_ALL, caller.id(), &client)
        .with_detail(serde_json::json!({"sessions_revoked": revoked}));
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(NoContent)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<Session>,
}

/// The caller's active sessions, most recently used first
#[utoipa::path(get, path = "/sessions", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "Active sessions only", body = SessionList),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_sessions(
    State(state): State<AppState>,
    caller: AuthUser,
) -> ApiResult<Json<SessionList>> {
    let now = state.clock.now();
    let mut items = on_exec!(&state.db, c => sqlx::query_as::<_, Session>(
        "SELECT id, created_at, last_used_at, expires_at, ip, user_agent, device_name FROM sessions \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY last_used_at DESC, id DESC")
        .bind(caller.id())
        .bind(now)
        .fetch_all(c)
        .await)?;
    for session in &mut items {
        session.current = session.id == caller.session_id;
    }
    Ok(Json(SessionList { items }))
}

/// Revoke one of the caller's sessions
#[utoipa::path(delete, path = "/sessions/{session_id}", tag = "auth", security(("bearer" = [])),
    params(("session_id" = Uuid, Path, description = "A session of the caller")),
    responses(
        (status = 204, description = "The session is revoked; its tokens stop working at once"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such live session of the caller", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_session(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiPath(session_id): ApiPath<Uuid>,
) -> ApiResult<NoContent> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if !revoke_session(
        &mut tx,
        caller.id(),
        session_id,
        reason::REVOKED_BY_USER,
        now,
    )
    .await?
    {
        return Err(ApiError::not_found("session"));
    }
    let entry = AuditEntry::by_owner(event::SESSION_REVOKED, caller.id(), &client)
        .with_detail(serde_json::json!({"session_id": session_id}));
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(NoContent)
}
