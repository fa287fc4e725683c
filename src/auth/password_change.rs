//! `POST /change-password`: the caller's new password, confirmed with the current one
//! ([`change_password_of`], which the console's security page calls too).

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::credentials::{check_new_password, recent_hashes, set_password};
use super::guard::confirm_password;
use super::sessions::{reason, revoke_user_sessions};
use crate::accounts::model::User;
use crate::audit::{self, AuditEntry, event};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, AuthUser, ClientInfo, NoContent};
use crate::passwords::check_policy_off_thread;
use crate::state::AppState;

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
        (status = 422, description = "new_password breaks the policy or was used recently", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for the account, or too many requests from this client; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<NoContent> {
    change_password_of(
        &state,
        &caller.user,
        caller.session_id,
        &body.current_password,
        &body.new_password,
        &client,
    )
    .await?;
    Ok(NoContent)
}

/// Changes `user`'s password to `new_password`, confirmed with `current_password`
/// (what `POST /change-password` and the console's security page do): the policy and
/// history checks name `new_password`, a wrong current password names
/// `current_password` and counts toward the lockout; every session but `keep` is
/// revoked, the change audited, and the "your password was changed" mail queued.
pub async fn change_password_of(
    state: &AppState,
    user: &User,
    keep: Uuid,
    current_password: &str,
    new_password: &str,
    client: &ClientInfo,
) -> ApiResult<()> {
    let hashes = recent_hashes(&state.db, user.id, state.config.passwords.history).await?;
    let personal = vec![user.username.clone(), user.email.clone()];
    let policy_errors = check_policy_off_thread(
        &state.config.passwords.policy,
        new_password,
        personal,
        "new_password",
    )
    .await?;
    if !policy_errors.is_empty() {
        return Err(ApiError::Validation(policy_errors));
    }
    confirm_password(
        state,
        user,
        current_password,
        "current_password",
        "change_password",
        client,
    )
    .await?;
    check_new_password(state, user, new_password, &hashes, "new_password").await?;
    let hash = state.hasher.hash(new_password).await?;

    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    set_password(&mut tx, user.id, &hash, state.config.passwords.history, now).await?;
    let revoked =
        revoke_user_sessions(&mut tx, user.id, Some(keep), reason::PASSWORD_CHANGE, now).await?;
    let entry = AuditEntry::by_owner(event::PASSWORD_CHANGE, user.id, client)
        .with_detail(serde_json::json!({"sessions_revoked": revoked}));
    audit::record(&mut tx, now, entry).await?;
    state
        .mail
        .queue_password_changed(
            &mut tx,
            user,
            crate::mail::templates::PasswordChange::Changed,
            now,
        )
        .await?;
    tx.commit().await?;
    state.mail.wake();
    Ok(())
}
