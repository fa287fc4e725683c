//! An administrator makes an account for someone (`POST /api/v1/admin/users`): the
//! account has no password, so nothing signs in to it, and its address is mailed an
//! invitation whose link sets the first password (`auth::invitation`). The fields are
//! validated as at registration; taken names and addresses are 409.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::fields::parse_new_account;
use crate::accounts::model::{
    NewUser, Role, User, duplicate_account, ensure_available, insert_user,
};
use crate::audit::{self, AuditEntry, event};
use crate::auth::invitation::queue_invitation;
use crate::error::{ApiError, ApiResult, Problem, ResultExt};
use crate::http::{AdminUser, ApiJson, ClientInfo, created_user};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// 3 to 32 characters of `A-Z a-z 0-9 _ . -`, unique ignoring case.
    #[serde(default)]
    #[schema(required = true)]
    pub username: String,
    /// Unique ignoring case; stored lower-cased. The invitation is mailed here.
    #[serde(default)]
    #[schema(required = true)]
    pub email: String,
    pub full_name: Option<String>,
    /// `user` when left out.
    pub role: Option<Role>,
}

/// Create an account and invite its owner
///
/// The account has no password: no password signs in to it until its owner sets one
/// through the link mailed to its address, `{PUBLIC_URL}/accept-invitation?token=<token>`
/// (valid 7 days, single use, stored hashed; `POST /api/v1/auth/accept-invitation` does
/// the same for clients of their own). The address counts as verified once the password
/// is set. Fields are validated as at registration (every failing field named at once);
/// the `basic` tier. The invitation mail is not subject to the per-address mail limit.
/// Audited as `user_invited` (event `user.created` with `via: invitation`).
#[utoipa::path(post, path = "/users", operation_id = "admin_create_user", tag = "admin", security(("bearer" = [])), request_body = NewAccount,
    responses(
        (status = 201, description = "Created, without a password; the invitation is queued", body = User, headers(("Location" = String, description = "/api/v1/users/{id}"))),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username or email already taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (every failing field is named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<NewAccount>,
) -> ApiResult<Response> {
    let user = invite(&state, admin.id(), &client, &body).await?;
    Ok(created_user(&user))
}

/// Makes the account `body` describes as administrator `admin_id` and queues its
/// invitation, in one transaction with the audit record.
pub async fn invite(
    state: &AppState,
    admin_id: Uuid,
    client: &ClientInfo,
    body: &NewAccount,
) -> ApiResult<User> {
    let mut errors = Vec::new();
    let (username, email, full_name) = parse_new_account(
        &body.username,
        &body.email,
        body.full_name.as_deref(),
        &mut errors,
    );
    let (Some(username), Some(email)) = (username, email) else {
        return Err(ApiError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    ensure_available(&state.db, &username, &email).await?;
    let role = body.role.unwrap_or(Role::User);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let new_user = NewUser {
        username,
        email,
        full_name,
        role,
        email_verified: false,
    };
    let user = insert_user(&mut tx, &new_user, now)
        .await
        .on_unique_violation(duplicate_account)?;
    queue_invitation(&mut tx, state, &user, now).await?;
    let entry = AuditEntry {
        event: event::USER_INVITED,
        actor_id: Some(admin_id),
        user_id: Some(user.id),
        client: Some(client),
        detail: serde_json::json!({"role": role.as_str()}),
    };
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    state.mail.wake();
    Ok(user)
}
