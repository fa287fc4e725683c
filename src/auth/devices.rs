//! The caller's sessions, one per device: list them, revoke one, log out of this one
//! or of all.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::sessions::{Session, reason, revoke_session, revoke_user_sessions};
use crate::audit::{self, AuditEntry, event};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiPath, AuthUser, ClientInfo, NoContent};
use crate::on_exec;
use crate::state::AppState;

/// Log out: revoke the current session
#[utoipa::path(post, path = "/logout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "The current session is revoked"),
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
