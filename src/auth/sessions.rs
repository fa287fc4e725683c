//! Sessions (one login on one device) and their refresh tokens, as stored: starting a
//! session, the token pair handed out, revoking one or all of an account's sessions,
//! the per-request lookup of a session with its account, the live sessions of an
//! account, and the purge.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::model::User;
use crate::audit::ClientInfo;
use crate::config::Config;
use crate::crypto::{random_token, token_hash};
use crate::db::{Db, Exec};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::tokens::access::{Authentication, ClientGrant};
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
    /// An OpenID client presented a refresh token of a session it was not issued to.
    pub const REFRESH_TOKEN_WRONG_CLIENT: &str = "refresh_token_wrong_client";
    /// The user withdrew what they had granted an application.
    pub const GRANT_REVOKED: &str = "grant_revoked";
    /// An application ended it (RFC 7009 revocation, or an authorization code used twice).
    pub const REVOKED_BY_CLIENT: &str = "revoked_by_client";
    /// Signed out of the browser (RP-initiated logout).
    pub const SIGNED_OUT: &str = "signed_out";
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
    /// How the session's user last authenticated (carried into every access token).
    pub authentication: Authentication,
}

/// How long a refresh token (and its session) lives: `REFRESH_TOKEN_EXPIRE_DAYS`.
pub fn refresh_ttl(config: &Config) -> chrono::Duration {
    chrono::Duration::from_std(config.tokens.refresh_ttl).unwrap_or(chrono::Duration::days(7))
}

pub fn refresh_expiry(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
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

/// Starts a session for `user_id`, authenticated as `authentication` says, with its
/// first refresh token.
pub async fn start_session(
    state: &AppState,
    ex: &mut crate::db::Tx,
    user_id: Uuid,
    device: &Device,
    authentication: Authentication,
    now: DateTime<Utc>,
) -> Result<IssuedRefresh, sqlx::Error> {
    insert_session(state, ex, user_id, device, authentication, None, now).await
}

/// The OpenID client a session is issued to, and the browser session it came from.
#[derive(Debug, Clone, Copy)]
pub struct IssuedTo<'a> {
    pub grant: ClientGrant<'a>,
    pub browser_session_id: Uuid,
}

/// Starts the session of an OpenID client for `user_id` (a code exchange): listed and
/// revocable like any other, ended with the browser session it came from.
pub async fn start_client_session(
    state: &AppState,
    ex: &mut crate::db::Tx,
    user_id: Uuid,
    device: &Device,
    authentication: Authentication,
    issued_to: IssuedTo<'_>,
    now: DateTime<Utc>,
) -> Result<IssuedRefresh, sqlx::Error> {
    insert_session(
        state,
        ex,
        user_id,
        device,
        authentication,
        Some(issued_to),
        now,
    )
    .await
}

async fn insert_session(
    state: &AppState,
    ex: &mut crate::db::Tx,
    user_id: Uuid,
    device: &Device,
    authentication: Authentication,
    issued_to: Option<IssuedTo<'_>>,
    now: DateTime<Utc>,
) -> Result<IssuedRefresh, sqlx::Error> {
    let session_id = Uuid::now_v7();
    let expires_at = refresh_expiry(state, now);
    on_exec!(&mut *ex, c => sqlx::query(
        "INSERT INTO sessions (id, user_id, device_name, ip, user_agent, created_at, last_used_at, expires_at, auth_time, amr, client_id, scope, browser_session_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11, $12)")
        .bind(session_id)
        .bind(user_id)
        .bind(&device.name)
        .bind(device.client.ip.map(|ip| ip.to_string()))
        .bind(&device.client.user_agent)
        .bind(now)
        .bind(expires_at)
        .bind(authentication.time)
        .bind(&authentication.methods)
        .bind(issued_to.map(|i| i.grant.client_id))
        .bind(issued_to.map(|i| i.grant.scope))
        .bind(issued_to.map(|i| i.browser_session_id))
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let refresh_token = insert_refresh_token(&mut *ex, session_id, now, expires_at).await?;
    Ok(IssuedRefresh {
        session_id,
        refresh_token,
        expires_at,
        authentication,
    })
}

/// Re-authenticates a live session: records `authentication` on it and hands out a new
/// refresh token as the successor of its current one (so the session still holds one
/// live refresh token, and the one before counts as used). `None` when the session is
/// not live or a concurrent refresh rotated its token first.
pub async fn renew_session(
    state: &AppState,
    ex: &mut crate::db::Tx,
    session_id: Uuid,
    authentication: Authentication,
    now: DateTime<Utc>,
) -> Result<Option<IssuedRefresh>, sqlx::Error> {
    let expires_at = refresh_expiry(state, now);
    let current: Option<(Uuid, Vec<u8>)> = on_exec!(&mut *ex, c => sqlx::query_as(
        "SELECT rt.id, rt.token_hash FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id \
          WHERE rt.session_id = $1 AND rt.used_at IS NULL AND rt.expires_at > $2 \
            AND s.revoked_at IS NULL AND s.expires_at > $2 \
            AND NOT EXISTS (SELECT 1 FROM refresh_tokens successor WHERE successor.rotated_from = rt.id) \
          ORDER BY rt.created_at DESC LIMIT 1")
        .bind(session_id)
        .bind(now)
        .fetch_optional(c)
        .await)?;
    let Some((current, current_hash)) = current else {
        return Ok(None);
    };
    // The successor a refresh of the current token would issue: a refresh racing this
    // re-authentication, or repeated within the grace window, answers this very token.
    let token = state.rotations.key().successor_of(&current_hash);
    let inserted = on_exec!(&mut *ex, c => sqlx::query(
        "INSERT INTO refresh_tokens (id, session_id, token_hash, rotated_from, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING")
        .bind(Uuid::now_v7())
        .bind(session_id)
        .bind(token_hash(&token))
        .bind(current)
        .bind(now)
        .bind(expires_at)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    if inserted == 0 {
        return Ok(None);
    }
    on_exec!(&mut *ex, c => sqlx::query(
        "UPDATE sessions SET last_used_at = $2, expires_at = $3, auth_time = $4, amr = $5 WHERE id = $1")
        .bind(session_id)
        .bind(now)
        .bind(expires_at)
        .bind(authentication.time)
        .bind(&authentication.methods)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(Some(IssuedRefresh {
        session_id,
        refresh_token: token,
        expires_at,
        authentication,
    }))
}

/// Signs an access token and assembles the pair a login or refresh answers.
pub fn token_pair(
    state: &AppState,
    user: User,
    issued: IssuedRefresh,
    now: DateTime<Utc>,
) -> ApiResult<TokenPair> {
    let access_token = state
        .tokens
        .issue(&user, issued.session_id, &issued.authentication, now)?;
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

/// The live sessions of `user_id` (neither revoked nor expired), most recently used
/// first; `current` is left false.
pub async fn active_sessions(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Session>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, Session>(
        "SELECT id, created_at, last_used_at, expires_at, ip, user_agent, device_name FROM sessions \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY last_used_at DESC, id DESC")
        .bind(user_id)
        .bind(now)
        .fetch_all(c)
        .await)
}

/// Revokes one session of `user_id`, and the sessions of the applications signed in
/// through it when it is a browser session; false when there is no such live session.
pub async fn revoke_session(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    session_id: Uuid,
    why: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let result = on_exec!(ex, c => sqlx::query(
        "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 \
          WHERE (id = $1 OR browser_session_id = $1) AND user_id = $2 AND revoked_at IS NULL")
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
