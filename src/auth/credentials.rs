//! Passwords as rows (seed 004's design): every password a user sets is a credential
//! row, exactly one marked current. The rows behind the current one are the password
//! history that `PASSWORD_HISTORY` checks new passwords against; older rows are pruned.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::password::check_policy_off_thread;
use super::sessions::{reason, revoke_user_sessions};
use crate::app::AppState;
use crate::audit::{self, AuditEntry, event};
use crate::db::Exec;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::http::{ApiJson, AuthUser, ClientInfo, NoContent};
use crate::on_exec;
use crate::users::model::User;

/// Makes `hash` the user's current password, keeping `history` passwords in all.
pub async fn set_password(
    ex: &mut crate::db::Tx,
    user_id: Uuid,
    hash: &str,
    history: u32,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on_exec!(&mut *ex, c => sqlx::query("UPDATE credentials SET is_current = FALSE WHERE user_id = $1 AND is_current")
        .bind(user_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    on_exec!(&mut *ex, c => sqlx::query(
        "INSERT INTO credentials (id, user_id, password_hash, is_current, created_at) VALUES ($1, $2, $3, TRUE, $4)")
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    on_exec!(&mut *ex, c => sqlx::query(
        "DELETE FROM credentials WHERE user_id = $1 AND id NOT IN \
         (SELECT id FROM credentials WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)")
        .bind(user_id)
        .bind(i64::from(history))
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The newest `n` password hashes of a user, current first.
pub async fn recent_hashes(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    n: u32,
) -> Result<Vec<String>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_scalar(
        "SELECT password_hash FROM credentials WHERE user_id = $1 ORDER BY is_current DESC, created_at DESC, id DESC LIMIT $2")
        .bind(user_id)
        .bind(i64::from(n))
        .fetch_all(c)
        .await)
}

/// Applies the password policy and the history rule to a new password, reporting
/// failures under `field`. `hashes` are the user's recent hashes (see [`recent_hashes`]).
pub async fn check_new_password(
    state: &AppState,
    user: &User,
    password: &str,
    hashes: &[String],
    field: &'static str,
) -> ApiResult<()> {
    let personal = vec![user.username.clone(), user.email.clone()];
    let errors =
        check_policy_off_thread(&state.config.password_policy, password, personal, field).await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let checks = hashes
        .iter()
        .map(|hash| state.hasher.verify(password, Some(hash)));
    for verification in futures::future::join_all(checks).await {
        if verification?.is_valid() {
            return Err(ApiError::Validation(vec![FieldError::new(
                field,
                format!(
                    "must differ from your last {} passwords",
                    state.config.password_history
                ),
            )]));
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// Change the caller's password
///
/// The new password must satisfy the policy and differ from the last `PASSWORD_HISTORY`
/// passwords (the current one included). Every other session of the caller is revoked,
/// and a "your password was changed" email goes to the caller's address. A wrong
/// `current_password` counts toward the account's lockout like a failed login, and the
/// endpoint spends the client's authentication budget (`RATE_LIMIT_AUTH_PER_MINUTE`):
/// beyond either, 429 with `Retry-After`.
#[utoipa::path(post, path = "/change-password", tag = "auth", security(("bearer" = [])), request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; every other session is revoked"),
        (status = 400, description = "current_password is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "new_password breaks the policy or was used recently", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for the account, or too many requests from this client; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<NoContent> {
    let hashes = recent_hashes(&state.db, caller.id(), state.config.password_history).await?;
    let personal = vec![caller.user.username.clone(), caller.user.email.clone()];
    let policy_errors = check_policy_off_thread(
        &state.config.password_policy,
        &body.new_password,
        personal,
        "new_password",
    )
    .await?;
    if !policy_errors.is_empty() {
        return Err(ApiError::Validation(policy_errors));
    }
    super::guard::confirm_password(
        &state,
        &caller.user,
        &body.current_password,
        "current_password",
        "change_password",
        &client,
    )
    .await?;
    check_new_password(
        &state,
        &caller.user,
        &body.new_password,
        &hashes,
        "new_password",
    )
    .await?;
    let hash = state.hasher.hash(&body.new_password).await?;

    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    set_password(
        &mut tx,
        caller.id(),
        &hash,
        state.config.password_history,
        now,
    )
    .await?;
    let revoked = revoke_user_sessions(
        &mut tx,
        caller.id(),
        Some(caller.session_id),
        reason::PASSWORD_CHANGE,
        now,
    )
    .await?;
    let entry = AuditEntry::by_owner(event::PASSWORD_CHANGE, caller.id(), &client)
        .with_detail(serde_json::json!({"sessions_revoked": revoked}));
    audit::record(&mut tx, now, entry).await?;
    crate::mail::queue_password_changed_notice(
        &mut tx,
        &state,
        &caller.user,
        crate::mail::templates::PasswordChange::Changed,
        now,
    )
    .await?;
    tx.commit().await?;
    state.mail.wake();
    Ok(NoContent)
}
