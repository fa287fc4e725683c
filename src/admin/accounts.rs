//! An administrator changes an account's role, tier, status or verification, revokes
//! its sessions, resets its second factors or sends it the password reset mail:
//! [`update_account`], [`revoke_all_sessions`], [`reset_second_factors`],
//! [`send_password_reset`], behind the JSON endpoints here and
//! the admin pages of the console alike. Deactivation revokes every session in the same
//! transaction, so the account's tokens are refused on the very next request; the last
//! active administrator can be neither demoted nor deactivated (409).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::model::{Role, Tier, User, find_user_or_404};
use crate::audit::{self, AuditEntry, event};
use crate::auth::devices::SessionList;
use crate::auth::mfa::rules::require_recent_over_admin;
use crate::auth::reset::{MailAccepted, queue_reset_mail};
use crate::auth::sessions::{active_sessions, reason, revoke_user_sessions};
use crate::error::{ApiError, ApiResult, Problem, Why};
use crate::http::{AdminUser, ApiJson, ApiPath, ClientInfo, NoContent};
use crate::i18n::message_key;
use crate::mail::outbox::Quota;
use crate::state::AppState;
use crate::users::account::ensure_not_last_admin;
use crate::users::premium::set_tier;
use crate::{on_exec, user_columns};

/// Any of role, tier, status and verification; fields left out stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminAccountUpdate {
    pub role: Option<Role>,
    pub tier: Option<Tier>,
    /// false deactivates the account and revokes all its sessions at once.
    pub is_active: Option<bool>,
    pub email_verified: Option<bool>,
}

/// Change an account's role, tier, status or email verification
///
/// Each change is audited (`role_change`, `tier_change`, `status_change`). Deactivating
/// revokes every session of the account at once. Demoting or deactivating the last
/// active administrator is refused with 409. `null` for a field counts as leaving it out.
#[utoipa::path(patch, path = "/users/{user_id}", tag = "admin", security(("bearer" = [])), request_body = AdminAccountUpdate,
    params(("user_id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The updated account", body = User),
        (status = 403, description = "Not an administrator; or `reauthentication-required`: the account is another administrator's and the caller's sign-in is not recent", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "This would leave no active administrator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed or an unknown field (named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    ApiPath(user_id): ApiPath<Uuid>,
    ApiJson(update): ApiJson<AdminAccountUpdate>,
) -> ApiResult<Json<User>> {
    require_recent_over_admin(&state, admin.id(), admin.claims.auth_time, user_id).await?;
    let user = update_account(&state, admin.id(), &client, user_id, &update).await?;
    Ok(Json(user))
}

/// Applies `update` to account `user_id` as administrator `admin_id`, in one
/// transaction with its audit records (`role_change`, `tier_change`, `status_change`);
/// fields equal to the account's current values change and record nothing.
/// Deactivating revokes every session; demoting or deactivating the last active
/// administrator is a 409.
pub async fn update_account(
    state: &AppState,
    admin_id: Uuid,
    client: &ClientInfo,
    user_id: Uuid,
    update: &AdminAccountUpdate,
) -> ApiResult<User> {
    if update.tier.is_some() && !state.config.features.premium {
        return Err(ApiError::validation(
            "tier",
            "tiers are not served here (FEATURES has no premium)",
        ));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let mut user = find_user_or_404(&mut tx, user_id).await?;
    let record = |event: &'static str, detail: serde_json::Value| AuditEntry {
        event,
        actor_id: Some(admin_id),
        user_id: Some(user_id),
        client: Some(client),
        detail,
    };

    if let Some(role) = update.role.filter(|r| *r != user.role) {
        if role != Role::Admin {
            ensure_not_last_admin(&mut tx, user_id).await?;
        }
        user = on_exec!(&mut tx, c => sqlx::query_as::<_, User>(concat!(
            "UPDATE users SET role = $2, updated_at = $3 WHERE id = $1 RETURNING ", user_columns!()))
            .bind(user_id)
            .bind(role.as_str())
            .bind(now)
            .fetch_one(c)
            .await)?;
        let detail = serde_json::json!({"from": if role == Role::Admin { "user" } else { "admin" }, "to": role.as_str()});
        audit::record(&mut tx, now, record(event::ROLE_CHANGE, detail)).await?;
    }
    if let Some(tier) = update.tier {
        user = set_tier(&mut tx, &user, tier, admin_id, client, now).await?;
    }
    if let Some(is_active) = update.is_active.filter(|a| *a != user.is_active) {
        if !is_active {
            ensure_not_last_admin(&mut tx, user_id).await?;
        }
        user = on_exec!(&mut tx, c => sqlx::query_as::<_, User>(concat!(
            "UPDATE users SET is_active = $2, updated_at = $3 WHERE id = $1 RETURNING ", user_columns!()))
            .bind(user_id)
            .bind(is_active)
            .bind(now)
            .fetch_one(c)
            .await)?;
        let revoked = if is_active {
            0
        } else {
            revoke_user_sessions(&mut tx, user_id, None, reason::DEACTIVATED, now).await?
        };
        let detail = serde_json::json!({"field": "is_active", "from": !is_active, "to": is_active, "sessions_revoked": revoked});
        audit::record(&mut tx, now, record(event::STATUS_CHANGE, detail)).await?;
    }
    if let Some(verified) = update.email_verified.filter(|v| *v != user.email_verified) {
        user = on_exec!(&mut tx, c => sqlx::query_as::<_, User>(concat!(
            "UPDATE users SET email_verified = $2, updated_at = $3 WHERE id = $1 RETURNING ", user_columns!()))
            .bind(user_id)
            .bind(verified)
            .bind(now)
            .fetch_one(c)
            .await)?;
        let detail =
            serde_json::json!({"field": "email_verified", "from": !verified, "to": verified});
        audit::record(&mut tx, now, record(event::STATUS_CHANGE, detail)).await?;
    }
    tx.commit().await?;
    Ok(user)
}

/// Revoke every session of an account
///
/// Its access and refresh tokens stop working on the next request; the account itself
/// stays active and may log in again.
#[utoipa::path(post, path = "/users/{user_id}/revoke-sessions", tag = "admin", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Every session revoked"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    ApiPath(user_id): ApiPath<Uuid>,
) -> ApiResult<NoContent> {
    revoke_all_sessions(&state, admin.id(), &client, user_id).await?;
    Ok(NoContent)
}

/// List an account's active sessions
///
/// What the account's owner sees at `GET /api/v1/auth/sessions` (`current` is always
/// false here), most recently used first; the admin console's user page shows the same.
#[utoipa::path(get, path = "/users/{user_id}/sessions", operation_id = "admin_list_sessions", tag = "admin", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 200, description = "Active sessions only", body = SessionList),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_sessions(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    ApiPath(user_id): ApiPath<Uuid>,
) -> ApiResult<Json<SessionList>> {
    find_user_or_404(&state.db, user_id).await?;
    let items = active_sessions(&state.db, user_id, state.clock.now()).await?;
    Ok(Json(SessionList { items }))
}

/// Revokes every session of account `user_id` as administrator `admin_id`, audited as
/// `session_revoked`; returns how many were live. 404 for no such account.
pub async fn revoke_all_sessions(
    state: &AppState,
    admin_id: Uuid,
    client: &ClientInfo,
    user_id: Uuid,
) -> ApiResult<u64> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    find_user_or_404(&mut tx, user_id).await?;
    let revoked =
        revoke_user_sessions(&mut tx, user_id, None, reason::REVOKED_BY_ADMIN, now).await?;
    let entry = AuditEntry {
        event: event::SESSION_REVOKED,
        actor_id: Some(admin_id),
        user_id: Some(user_id),
        client: Some(client),
        detail: serde_json::json!({"by": "admin", "sessions_revoked": revoked}),
    };
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    if revoked == 0 {
        tracing::debug!(%user_id, "no live session to revoke");
    }
    Ok(revoked)
}

/// Remove every second factor of an account
///
/// For a user who lost both the authenticator and the recovery codes: their TOTP
/// authenticator, passkeys, recovery codes and pending second-factor logins go, and a
/// password alone logs in again. Audited as `mfa_reset`.
#[utoipa::path(post, path = "/users/{user_id}/mfa/reset", operation_id = "admin_reset_mfa", tag = "admin", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Every second factor removed"),
        (status = 403, description = "Not an administrator; or `reauthentication-required`: the account is another administrator's and the caller's sign-in is not recent", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reset_mfa(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    ApiPath(user_id): ApiPath<Uuid>,
) -> ApiResult<NoContent> {
    require_recent_over_admin(&state, admin.id(), admin.claims.auth_time, user_id).await?;
    reset_second_factors(&state, admin.id(), &client, user_id).await?;
    Ok(NoContent)
}

/// Removes every second factor of account `user_id` as administrator `admin_id`,
/// audited as `mfa_reset`; returns whether it had any. 404 for no such account.
pub async fn reset_second_factors(
    state: &AppState,
    admin_id: Uuid,
    client: &ClientInfo,
    user_id: Uuid,
) -> ApiResult<bool> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    find_user_or_404(&mut tx, user_id).await?;
    let removed = crate::auth::mfa::remove_all(&mut tx, user_id).await?;
    let entry = AuditEntry {
        event: event::MFA_RESET,
        actor_id: Some(admin_id),
        user_id: Some(user_id),
        client: Some(client),
        detail: serde_json::json!({"had_second_factors": removed}),
    };
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(removed)
}

/// Send an account the password reset mail
///
/// The account's address gets the same mail as `POST /api/v1/auth/password-reset-request`
/// sends (a link valid 30 minutes; only the newest works), also for an invited account
/// that has no password yet. The per-address limit (`MAIL_PER_ADDRESS_PER_HOUR`) applies;
/// unlike the public request, whose answer must not tell whether an address has an
/// account, an administrator is told: `429` with `Retry-After` when the address had its
/// share this hour, `409` for a deactivated account (which gets no mail). Audited as
/// `password_reset_request` by the administrator.
#[utoipa::path(post, path = "/users/{user_id}/password-reset", operation_id = "admin_send_password_reset", tag = "admin", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 202, description = "The reset mail is on its way", body = MailAccepted),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account is deactivated", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The address had its reset mails this hour", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn send_password_reset(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    ApiPath(user_id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<MailAccepted>)> {
    send_reset_as_admin(&state, admin.id(), &client, user_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MailAccepted::new(
            "A password reset email is on its way to the account's address.",
        )),
    ))
}

/// Queues the password reset mail of the account `user_id` for administrator
/// `admin_id`: `409` for a deactivated account, `429` when its address had its share of
/// reset mails this hour (the console says the same).
pub async fn send_reset_as_admin(
    state: &AppState,
    admin_id: Uuid,
    client: &ClientInfo,
    user_id: Uuid,
) -> ApiResult<()> {
    let user = find_user_or_404(&state.db, user_id).await?;
    if !user.is_active {
        let why = Why::new(
            "the account is deactivated: reactivate it before sending a reset mail",
            message_key("conflict-account-deactivated"),
        );
        return Err(ApiError::conflict("is_active", why));
    }
    match queue_reset_mail(state, &user.email, Some(admin_id), client).await? {
        Quota::Available => Ok(()),
        Quota::Exhausted { retry_after_secs } => Err(ApiError::TooManyRequests {
            retry_after_secs,
            why: Why::new(
                "this address already had its reset mails this hour",
                message_key("too-many-reset-mails"),
            ),
        }),
    }
}
