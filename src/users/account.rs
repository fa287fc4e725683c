//! The account itself: reading it (`/me`, `/{user_id}`) and deleting it with everything
//! of the user's. [`delete_account`] removes the user in one statement whose cascades
//! take credentials, sessions, refresh tokens, profile, preferences, payment information
//! (and any later per-user table) along.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::model::{PublicUser, Role, User, find_user};
use crate::audit::{self, AuditEntry, event};
use crate::auth::guard::confirm_password;
use crate::auth::mfa::rules::require_recent_over_admin;
use crate::db::{Exec, Tx};
use crate::error::{ApiError, ApiResult, Problem, Why};
use crate::http::{ApiJson, ApiPath, AuthUser, ClientInfo, MaybeAuthUser, NoContent, parse_json};
use crate::i18n::message_key;
use crate::on_exec;
use crate::state::AppState;

/// 409 when `user_id` is the last active administrator, for a change that would leave
/// none. Active administrators' rows are locked first (a no-op update), so two
/// concurrent demotions cannot both pass the check.
pub async fn ensure_not_last_admin(tx: &mut Tx, user_id: Uuid) -> ApiResult<()> {
    on_exec!(&mut *tx, c => sqlx::query(
        "UPDATE users SET role = role WHERE role = 'admin' AND is_active")
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let others: i64 = on_exec!(&mut *tx, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND is_active AND id <> $1")
        .bind(user_id)
        .fetch_one(c)
        .await)?;
    let target = find_user(&mut *tx, user_id).await?;
    let is_active_admin = target.is_some_and(|u| u.role == Role::Admin && u.is_active);
    if is_active_admin && others == 0 {
        return Err(ApiError::conflict_without_field(Why::new(
            "this is the last active administrator: make another account an administrator first",
            message_key("conflict-last-admin"),
        )));
    }
    Ok(())
}

/// Deletes account `user_id` and everything of theirs (by cascade) in `tx`, refusing to
/// remove the last active administrator. False when there was no such account.
pub async fn delete_account(
    tx: &mut Tx,
    user_id: Uuid,
    actor_id: Uuid,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    ensure_not_last_admin(tx, user_id).await?;
    let deleted = on_exec!(&mut *tx, c => sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    if deleted == 0 {
        return Ok(false);
    }
    let by = if actor_id == user_id { "self" } else { "admin" };
    let entry = AuditEntry {
        event: event::USER_DELETED,
        actor_id: Some(actor_id),
        user_id: Some(user_id),
        client: Some(client),
        detail: serde_json::json!({"by": by}),
    };
    audit::record(&mut *tx, now, entry).await?;
    Ok(true)
}

/// What anyone may see of account `user_id` (avatar and bio from the extended profile).
pub async fn find_public_user(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
) -> Result<Option<PublicUser>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, PublicUser>(
        "SELECT u.id, u.username, u.full_name, \
         CASE WHEN p.profile_visibility = 'private' THEN NULL ELSE p.avatar_url END AS avatar_url, \
         CASE WHEN p.profile_visibility = 'private' THEN NULL ELSE p.bio END AS bio, u.created_at \
         FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id WHERE u.id = $1 AND u.is_active")
        .bind(user_id)
        .fetch_optional(c)
        .await)
}

/// An account as the caller may see it: [`User`] for the account itself and admins,
/// [`PublicUser`] for everyone else.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum UserView {
    Full(User),
    Public(PublicUser),
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccountRequest {
    /// The account's current password, to confirm.
    #[serde(default)]
    #[schema(required = true)]
    pub password: String,
}

impl std::fmt::Debug for DeleteAccountRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeleteAccountRequest { password: <redacted> }")
    }
}

/// Deletes account `user_id` on behalf of `actor_id` and commits (`DELETE /{user_id}`,
/// `DELETE /me` once the password is confirmed, and the admin console's account page):
/// 404 when there is no such account, 409 for the last active administrator; audited as
/// `user_deleted`, by `self` or `admin`.
pub async fn delete_and_commit(
    state: &AppState,
    actor_id: Uuid,
    user_id: Uuid,
    client: &ClientInfo,
) -> ApiResult<NoContent> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if !delete_account(&mut tx, user_id, actor_id, client, now).await? {
        return Err(ApiError::not_found("user", message_key("not-found-user")));
    }
    tx.commit().await?;
    Ok(NoContent)
}

/// The caller's account
#[utoipa::path(get, path = "/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = User),
    ))]
pub async fn get_me(caller: AuthUser) -> Json<User> {
    Json(caller.user)
}

/// Delete the caller's account
///
/// Confirmed with the current password (wrong: 400, counted toward the account's
/// lockout like a failed login; the request spends the client's authentication
/// budget). The account and everything of the
/// user's (credentials, sessions, refresh tokens, profile, preferences, payment
/// information, badges, goals) are deleted in one transaction; every token of the
/// account stops working on the next request. The last active administrator cannot be
/// deleted (409).
#[utoipa::path(delete, path = "/me", tag = "users", security(("bearer" = [])), request_body = DeleteAccountRequest,
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Wrong password, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last active administrator cannot be deleted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "password missing", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for the account, or too many requests from this client; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_me(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<DeleteAccountRequest>,
) -> ApiResult<NoContent> {
    delete_own_account(&state, &caller.user, &body.password, &client).await
}

/// Deletes `user`'s own account once `password` is confirmed (`DELETE /me` and the
/// console's delete page): missing 422, wrong 400 (counted toward the account's
/// lockout), locked or over the client's budget 429; the last active administrator 409.
pub async fn delete_own_account(
    state: &AppState,
    user: &User,
    password: &str,
    client: &ClientInfo,
) -> ApiResult<NoContent> {
    confirm_password(state, user, password, "password", "delete_account", client).await?;
    delete_and_commit(state, user.id, user.id, client).await
}

/// An account by id
///
/// Anyone (no token needed) gets the public view; the account itself and admins get
/// the full account. Deactivated accounts are 404 except to admins and themselves.
#[utoipa::path(get, path = "/{user_id}", tag = "users", security((), ("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "User for the account itself and admins, PublicUser otherwise", body = UserView),
        (status = 401, description = "A token was sent but is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_user(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath(user_id): ApiPath<Uuid>,
) -> ApiResult<Json<UserView>> {
    if let Some(caller) = caller.filter(|c| c.may_act_for(user_id)) {
        if caller.id() == user_id {
            return Ok(Json(UserView::Full(caller.user)));
        }
        let user = crate::accounts::model::find_user_or_404(&state.db, user_id).await?;
        return Ok(Json(UserView::Full(user)));
    }
    let public = find_public_user(&state.db, user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("user", message_key("not-found-user")))?;
    Ok(Json(UserView::Public(public)))
}

/// Delete an account (that user or an admin)
///
/// An admin deleting another account sends no body. A user deleting their own account
/// here confirms with `{"password"}` exactly as on `DELETE /me` (missing: 422, wrong:
/// 400), so a stolen access token alone cannot delete an account. Everything of the
/// user's is deleted in one transaction and their tokens stop working at once. The last
/// active administrator cannot be deleted (409).
#[utoipa::path(delete, path = "/{user_id}", tag = "users", security(("bearer" = [])),
    request_body(content = DeleteAccountRequest, description = "Only when deleting one's own account"),
    params(("user_id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Wrong password, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither that user nor an admin; or `reauthentication-required`: an admin changing another administrator without a recent sign-in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last active administrator cannot be deleted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "password missing when deleting one's own account", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for the account, or too many requests from this client; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_user(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiPath(user_id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<NoContent> {
    caller.require_self_or_admin(user_id)?;
    if caller.id() == user_id {
        let request: DeleteAccountRequest = if body.is_empty() {
            return Err(ApiError::validation("password", "is required"));
        } else {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !content_type
                .to_ascii_lowercase()
                .starts_with("application/json")
            {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as application/json".into(),
                ));
            }
            parse_json(&body)?
        };
        confirm_password(
            &state,
            &caller.user,
            &request.password,
            "password",
            "delete_account",
            &client,
        )
        .await?;
    }
    require_recent_over_admin(&state, caller.id(), caller.claims.auth_time, user_id).await?;
    delete_and_commit(&state, caller.id(), user_id, &client).await
}
