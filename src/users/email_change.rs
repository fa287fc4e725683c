//! Changing an account's email address, so that a stolen access token cannot take the
//! account over by pointing it at another mailbox.
//!
//! The owner's change ([`request_change`], from `PUT`/`PATCH /users/me` with
//! `current_password`) only records the new address as `pending_email`. Two links go
//! out, each a single-use token stored as its SHA-256 (`email_change_tokens`):
//!
//! - to the **new** address, one that confirms the change ([`confirm`], 48 hours);
//! - to the **old** address, a notice with one that cancels it ([`cancel`], 7 days).
//!
//! Until the change is confirmed, logins, password resets and every mail use the old
//! address. The cancel link also undoes a change already confirmed: the account gets
//! its old address back (verified, since the link was read there) and every session is
//! revoked, because whoever asked for the change knew the password. An administrator's
//! change of another account's address applies at once; it is audited and both
//! addresses are told ([`notify_admin_change`] and the usual verification mail).

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::model::{User, duplicate_account, taken_fields};
use crate::audit::{self, AuditEntry, event};
use crate::auth::sessions::revoke_user_sessions;
use crate::crypto::{random_token, token_hash};
use crate::db::Tx;
use crate::error::{ApiError, ApiResult, Problem, ResultExt, Why};
use crate::http::{ApiJson, ClientInfo, NoContent};
use crate::i18n::message_key;
use crate::mail::MailKind;
use crate::mail::outbox::{self, Quota};
use crate::mail::templates::ValidFor;
use crate::state::AppState;
use crate::{on_exec, user_columns};

/// How long the link to the new address confirms the change.
pub const CONFIRM_TTL: chrono::Duration = chrono::Duration::hours(48);
/// How long the link to the old address cancels (or undoes) the change.
pub const CANCEL_TTL: chrono::Duration = chrono::Duration::days(7);
/// The session revocation reason of an undone change.
pub const REVOKED_BY_CANCEL: &str = "email_change_cancelled";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Confirm,
    Cancel,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Confirm => "confirm",
            Purpose::Cancel => "cancel",
        }
    }
}

/// A live (unused, unexpired) email-change token.
#[derive(Debug, sqlx::FromRow)]
struct LiveToken {
    id: Uuid,
    user_id: Uuid,
    old_email: String,
    new_email: String,
}

async fn issue(
    tx: &mut Tx,
    purpose: Purpose,
    user_id: Uuid,
    old_email: &str,
    new_email: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let token = random_token();
    on_exec!(&mut *tx, c => sqlx::query(
        "INSERT INTO email_change_tokens (id, user_id, purpose, old_email, new_email, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(old_email)
        .bind(new_email)
        .bind(token_hash(&token))
        .bind(now)
        .bind(expires_at)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(token)
}

/// Finds a live token by what was presented and marks it used, in `tx`; `None` when it
/// is unknown, used or expired. Of concurrent uses exactly one marks it.
async fn claim(
    tx: &mut Tx,
    purpose: Purpose,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<Option<LiveToken>, sqlx::Error> {
    let found: Option<LiveToken> = on_exec!(&mut *tx, c => sqlx::query_as(
        "SELECT id, user_id, old_email, new_email FROM email_change_tokens \
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3")
        .bind(token_hash(presented))
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(c)
        .await)?;
    let Some(token) = found else { return Ok(None) };
    let marked = on_exec!(&mut *tx, c => sqlx::query(
        "UPDATE email_change_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
        .bind(token.id)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok((marked == 1).then_some(token))
}

/// Whether `presented` is a cancellation link that still works (for the page it opens).
pub async fn cancel_token_is_live(state: &AppState, presented: &str) -> ApiResult<bool> {
    let found: Option<Uuid> = on_exec!(&state.db, c => sqlx::query_scalar(
        "SELECT id FROM email_change_tokens WHERE token_hash = $1 AND purpose = 'cancel' AND used_at IS NULL AND expires_at > $2")
        .bind(token_hash(presented))
        .bind(state.clock.now())
        .fetch_optional(c)
        .await)?;
    Ok(found.is_some())
}

/// Forgets the pending change of `user_id`: its unused confirmation links stop working.
async fn drop_pending(tx: &mut Tx, user_id: Uuid) -> Result<(), sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query(
        "DELETE FROM email_change_tokens WHERE user_id = $1 AND purpose = 'confirm' AND used_at IS NULL")
        .bind(user_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

async fn set_pending(
    tx: &mut Tx,
    user_id: Uuid,
    pending: Option<&str>,
    now: DateTime<Utc>,
) -> Result<User, sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query_as::<_, User>(concat!(
        "UPDATE users SET pending_email = $2, updated_at = $3 WHERE id = $1 RETURNING ", user_columns!()))
        .bind(user_id)
        .bind(pending)
        .bind(now)
        .fetch_one(c)
        .await)
}

/// The owner asks for `new_email` (canonical, already checked) to become the address of
/// `user`, whose password was confirmed. Inside `tx`: the address becomes pending, the
/// confirmation link is mailed to it and the notice with the cancel link to the current
/// address. Asking for the current address withdraws a pending change. Call
/// [`crate::mail::Mailer::wake`] after committing.
///
/// 409 when another account has the address; 429 when the new address was sent
/// `MAIL_PER_ADDRESS_PER_HOUR` confirmation links this hour.
pub async fn request_change(
    tx: &mut Tx,
    state: &AppState,
    user: &User,
    new_email: &str,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> ApiResult<User> {
    if new_email == user.email {
        if user.pending_email.is_none() {
            return Ok(user.clone());
        }
        drop_pending(tx, user.id).await?;
        let updated = set_pending(tx, user.id, None, now).await?;
        let entry = AuditEntry::by_owner(event::EMAIL_CHANGE_CANCEL, user.id, client)
            .with_detail(serde_json::json!({"via": "account_update"}));
        audit::record(&mut *tx, now, entry).await?;
        return Ok(updated);
    }
    if !taken_fields(&mut *tx, None, Some(new_email), Some(user.id))
        .await?
        .is_empty()
    {
        return Err(duplicate_account("email"));
    }
    let quota = outbox::check_quota(
        tx,
        new_email,
        MailKind::EmailChangeConfirm,
        state.config.mail.per_address_per_hour,
        now,
    )
    .await?;
    if let Quota::Exhausted { retry_after_secs } = quota {
        let count = state.config.mail.per_address_per_hour;
        let why = Why::new(
            format!("this address was sent {count} confirmation emails in the last hour"),
            message_key("too-many-confirmation-mails"),
        );
        return Err(ApiError::TooManyRequests {
            retry_after_secs,
            why: why.with("count", count),
        });
    }
    drop_pending(tx, user.id).await?;
    let confirm_until = now + CONFIRM_TTL;
    let cancel_until = now + CANCEL_TTL;
    let confirm_token = issue(
        tx,
        Purpose::Confirm,
        user.id,
        &user.email,
        new_email,
        confirm_until,
        now,
    )
    .await?;
    let cancel_token = issue(
        tx,
        Purpose::Cancel,
        user.id,
        &user.email,
        new_email,
        cancel_until,
        now,
    )
    .await?;
    let updated = set_pending(tx, user.id, Some(new_email), now).await?;
    let composer = state.mail.composer();
    let confirm_mail =
        composer.email_change_confirm(user, new_email, &confirm_token, ValidFor::Hours(48))?;
    state
        .mail
        .queue_message(
            tx,
            MailKind::EmailChangeConfirm,
            user.id,
            new_email,
            &confirm_mail,
            Some(confirm_until),
            now,
        )
        .await?;
    let notice =
        composer.email_change_notice(user, new_email, &cancel_token, ValidFor::Days(7), now)?;
    state
        .mail
        .queue_message(
            tx,
            MailKind::EmailChangeNotice,
            user.id,
            &user.email,
            &notice,
            Some(cancel_until),
            now,
        )
        .await?;
    let entry = AuditEntry::by_owner(event::EMAIL_CHANGE_REQUEST, user.id, client);
    audit::record(&mut *tx, now, entry).await?;
    Ok(updated)
}

/// Tells the old address that an administrator changed it to `user.email`, inside the
/// transaction of the change, and audits the change.
pub async fn notify_admin_change(
    tx: &mut Tx,
    state: &AppState,
    old_email: &str,
    user: &User,
    actor_id: Uuid,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    drop_pending(tx, user.id).await?;
    let notice = state
        .mail
        .composer()
        .email_changed_by_admin(user, &user.email, now)?;
    state
        .mail
        .queue_message(
            tx,
            MailKind::EmailChangedByAdmin,
            user.id,
            old_email,
            &notice,
            None,
            now,
        )
        .await?;
    let entry = AuditEntry {
        event: event::EMAIL_CHANGE_BY_ADMIN,
        actor_id: Some(actor_id),
        user_id: Some(user.id),
        client: Some(client),
        detail: serde_json::json!({}),
    };
    audit::record(&mut *tx, now, entry).await?;
    Ok(())
}

/// Why a confirmation link is refused (400).
fn bad_confirm_token() -> Why {
    Why::new(
        "the confirmation link is invalid, used, expired or replaced by a newer change",
        message_key("bad-token-email-change-confirm"),
    )
}

/// Why a cancellation link is refused (400).
fn bad_cancel_token() -> Why {
    Why::new(
        "the cancellation link is invalid, used or expired",
        message_key("bad-token-email-change-cancel"),
    )
}

/// Confirms a pending change with the token from the link mailed to the new address.
/// The account then has the new address, verified. 400 when the token is unknown, used,
/// expired or for a change that was withdrawn or replaced; 409 when another account
/// took the address meanwhile.
pub async fn confirm(state: &AppState, presented: &str, client: &ClientInfo) -> ApiResult<User> {
    let bad = || ApiError::BadToken(bad_confirm_token());
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let token = claim(&mut tx, Purpose::Confirm, presented, now)
        .await?
        .ok_or_else(bad)?;
    let user = on_exec!(&mut tx, c => sqlx::query_as::<_, User>(concat!(
        "UPDATE users SET email = $3, pending_email = NULL, email_verified = TRUE, updated_at = $4 ",
        "WHERE id = $1 AND email = $2 AND pending_email = $3 RETURNING ", user_columns!()))
        .bind(token.user_id)
        .bind(&token.old_email)
        .bind(&token.new_email)
        .bind(now)
        .fetch_optional(c)
        .await)
    .on_unique_violation(duplicate_account)?
    .ok_or_else(bad)?;
    let entry = AuditEntry::by_owner(event::EMAIL_CHANGE_CONFIRM, user.id, client);
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(user)
}

/// What a cancellation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    /// The change was still pending and is withdrawn.
    Withdrawn,
    /// The change had been confirmed: the old address is back and every session is revoked.
    Undone { sessions_revoked: u64 },
}

/// Cancels a change with the token from the notice mailed to the old address: a pending
/// change is withdrawn; a confirmed one is undone (the old address back, verified, every
/// session revoked). 400 when the token is unknown, used or expired, or the account has
/// the old address and nothing pending; 409 when another account took the old address.
pub async fn cancel(
    state: &AppState,
    presented: &str,
    client: &ClientInfo,
) -> ApiResult<Cancelled> {
    let bad = || ApiError::BadToken(bad_cancel_token());
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let token = claim(&mut tx, Purpose::Cancel, presented, now)
        .await?
        .ok_or_else(bad)?;
    let current: Option<(String, Option<String>)> = on_exec!(&mut tx, c => sqlx::query_as(
        "SELECT email, pending_email FROM users WHERE id = $1")
        .bind(token.user_id)
        .fetch_optional(c)
        .await)?;
    let Some((email, pending)) = current else {
        return Err(bad());
    };
    let outcome = if email == token.old_email {
        if pending.is_none() {
            return Err(bad());
        }
        drop_pending(&mut tx, token.user_id).await?;
        set_pending(&mut tx, token.user_id, None, now).await?;
        Cancelled::Withdrawn
    } else {
        on_exec!(&mut tx, c => sqlx::query(
            "UPDATE users SET email = $2, pending_email = NULL, email_verified = TRUE, updated_at = $3 WHERE id = $1")
            .bind(token.user_id)
            .bind(&token.old_email)
            .bind(now)
            .execute(c)
            .await.map(|r| r.rows_affected()))
        .on_unique_violation(duplicate_account)?;
        drop_pending(&mut tx, token.user_id).await?;
        let sessions_revoked =
            revoke_user_sessions(&mut tx, token.user_id, None, REVOKED_BY_CANCEL, now).await?;
        Cancelled::Undone { sessions_revoked }
    };
    let detail = match outcome {
        Cancelled::Withdrawn => serde_json::json!({"via": "link", "undone": false}),
        Cancelled::Undone { sessions_revoked } => {
            serde_json::json!({"via": "link", "undone": true, "sessions_revoked": sessions_revoked})
        }
    };
    let entry = AuditEntry {
        event: event::EMAIL_CHANGE_CANCEL,
        actor_id: None,
        user_id: Some(token.user_id),
        client: Some(client),
        detail,
    };
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(outcome)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChangeToken {
    /// The token from the link in the email.
    #[serde(default)]
    #[schema(required = true)]
    pub token: String,
}

fn require_token(body: &EmailChangeToken) -> ApiResult<&str> {
    if body.token.is_empty() {
        return Err(ApiError::validation("token", "is required"));
    }
    Ok(&body.token)
}

/// Confirm an email change with the token from the link mailed to the new address
///
/// The link (`{PUBLIC_URL}/confirm-email-change?token=<token>`) works once, for 48
/// hours, and only for the newest change the owner asked for. Afterwards the account
/// has the new address, verified, and `pending_email` is null.
#[utoipa::path(post, path = "/email-change-confirm", tag = "auth", request_body = EmailChangeToken,
    responses(
        (status = 204, description = "The account has its new address"),
        (status = 400, description = "The token is invalid, used, expired, or for a change withdrawn or replaced", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another account took the address meanwhile", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm_email_change(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<EmailChangeToken>,
) -> ApiResult<NoContent> {
    confirm(&state, require_token(&body)?, &client).await?;
    Ok(NoContent)
}

/// Cancel (or undo) an email change with the token from the notice mailed to the old address
///
/// The link (`{PUBLIC_URL}/cancel-email-change?token=<token>`) works once, for 7 days. A
/// pending change is withdrawn. A change already confirmed is undone: the account gets
/// the old address back, verified, and every session of it is revoked, because whoever
/// asked for the change knew the password (reset it next).
#[utoipa::path(post, path = "/email-change-cancel", tag = "auth", request_body = EmailChangeToken,
    responses(
        (status = 204, description = "The change is withdrawn or undone"),
        (status = 400, description = "The token is invalid, used or expired, or there is nothing to cancel", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another account took the old address meanwhile", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel_email_change(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<EmailChangeToken>,
) -> ApiResult<NoContent> {
    cancel(&state, require_token(&body)?, &client).await?;
    Ok(NoContent)
}
