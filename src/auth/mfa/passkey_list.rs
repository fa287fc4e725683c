//! The caller's passkeys as a collection: listing (shown in `GET /mfa`) and removal.

use axum::extract::State;
use uuid::Uuid;

use super::PasskeyInfo;
use super::rules::require_recent;
use crate::audit::{self, AuditEntry, event};
use crate::db::Exec;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiPath, AuthUser, ClientInfo, NoContent};
use crate::i18n::message_key;
use crate::on_exec;
use crate::state::AppState;

/// The passkeys of `user_id`, oldest first.
pub async fn list(ex: impl Into<Exec<'_>>, user_id: Uuid) -> Result<Vec<PasskeyInfo>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, PasskeyInfo>(
        "SELECT id, name, created_at, last_used_at FROM passkeys WHERE user_id = $1 ORDER BY created_at, id")
        .bind(user_id)
        .fetch_all(c)
        .await)
}

/// Remove a passkey
///
/// When no second factor remains, the recovery codes go too. Needs a recent
/// authentication.
#[utoipa::path(delete, path = "/mfa/passkeys/{passkey_id}", operation_id = "passkey_remove", tag = "mfa", security(("bearer" = [])),
    params(("passkey_id" = Uuid, Path, description = "The passkey's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The session's authentication is not recent: reauthenticate", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not one of the caller's passkeys", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiPath(passkey_id): ApiPath<Uuid>,
) -> ApiResult<NoContent> {
    require_recent(&state, &caller)?;
    remove_passkey(&state, caller.id(), passkey_id, &client).await?;
    Ok(NoContent)
}

/// Removes `user_id`'s passkey `passkey_id` (404 when it is not theirs), and the recovery
/// codes when no second factor remains. Audited. The caller checks the "recent" rule.
pub async fn remove_passkey(
    state: &AppState,
    user_id: Uuid,
    passkey_id: Uuid,
    client: &ClientInfo,
) -> ApiResult<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let removed = on_exec!(&mut tx, c => sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
        .bind(passkey_id)
        .bind(user_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    if removed == 0 {
        return Err(ApiError::not_found(
            "passkey",
            message_key("not-found-passkey"),
        ));
    }
    super::recovery::forget_without_factor(&mut tx, user_id).await?;
    let entry = AuditEntry::by_owner(event::PASSKEY_REMOVED, user_id, client)
        .with_detail(serde_json::json!({"passkey_id": passkey_id}));
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(())
}
