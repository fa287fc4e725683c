//! The caller's sessions, one per device: list them, revoke one, log out of this one
//! or of all.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::sessions::{Session, active_sessions, reason, revoke_session, revoke_user_sessions};
use crate::audit::{self, AuditEntry, event};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiPath, AuthUser, ClientInfo, NoContent};
use crate::i18n::message_key;
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
    let items = sessions_of(&state, caller.id(), caller.session_id).await?;
    Ok(Json(SessionList { items }))
}

/// The live sessions of `user_id`, most recently used first, with `current` marked (what
/// `GET /sessions` and the console's sessions page list).
pub async fn sessions_of(
    state: &AppState,
    user_id: Uuid,
    current: Uuid,
) -> Result<Vec<Session>, sqlx::Error> {
    let mut items = active_sessions(&state.db, user_id, state.clock.now()).await?;
    for session in &mut items {
        session.current = session.id == current;
    }
    Ok(items)
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
    revoke_own_session(&state, caller.id(), session_id, &client).await?;
    Ok(NoContent)
}

/// Revokes `user_id`'s session `session_id` (404 when it is not a live one of theirs),
/// audited as `session_revoked`.
pub async fn revoke_own_session(
    state: &AppState,
    user_id: Uuid,
    session_id: Uuid,
    client: &ClientInfo,
) -> ApiResult<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if !revoke_session(&mut tx, user_id, session_id, reason::REVOKED_BY_USER, now).await? {
        return Err(ApiError::not_found(
            "session",
            message_key("not-found-session"),
        ));
    }
    let entry = AuditEntry::by_owner(event::SESSION_REVOKED, user_id, client)
        .with_detail(serde_json::json!({"session_id": session_id}));
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(())
}
