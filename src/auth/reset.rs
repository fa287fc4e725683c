//! Password reset by email.
//!
//! `POST /password-reset-request` must not tell whether an address has an account, by
//! its answer or by its timing. So the request does the same work for every address:
//! one account lookup (for the audit trail), the per-address quota, one outbox row
//! holding only the address, the audit row, one commit. Everything that differs
//! happens later in the mail worker ([`ResetMails`]): it finds the account,
//! replaces its reset token and stores the message, in one transaction, or abandons
//! the row when no active account has the address.
//!
//! A reset token ([`super::email_tokens`]) works once, for 30 minutes, only while it
//! is the user's newest and the account still has the address it was mailed to.
//! Confirming applies the password policy and history, revokes every session, clears
//! login lockouts and sends a "password changed" notice; a conditional
//! `UPDATE ... WHERE used_at IS NULL` makes exactly one of several concurrent
//! confirmations win.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::credentials::{check_new_password, recent_hashes, set_password};
use super::email_tokens::{self, Purpose};
use super::lockout;
use super::sessions::{reason, revoke_user_sessions};
use crate::accounts::fields::parse_email;
use crate::accounts::model::{User, find_user};
use crate::audit::{self, AuditEntry, event};
use crate::db::Tx;
use crate::error::{ApiError, ApiResult, FieldError, Problem, Why};
use crate::http::{ApiJson, ClientInfo, NoContent};
use crate::i18n::message_key;
use crate::mail::outbox::{self, NewMail, Quota};
use crate::mail::templates::{Composer, PasswordChange};
use crate::mail::{LateComposer, LateMessage, MailKind};
use crate::state::AppState;
use crate::{on_exec, user_columns};

/// The body of a `202 Accepted` for a queued email.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MailAccepted {
    /// Always `accepted`.
    pub status: &'static str,
    pub message: &'static str,
}

impl MailAccepted {
    pub fn new(message: &'static str) -> MailAccepted {
        MailAccepted {
            status: "accepted",
            message,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The account's email address.
    #[serde(default)]
    #[schema(required = true)]
    pub email: String,
}

/// Ask for a password reset email
///
/// Always `202` with the same body, and about the same latency, whether or not an
/// account has the address: the mail is prepared and sent in the background, and only
/// if an active account has the address. The link in it,
/// `{PUBLIC_URL}/reset-password?token=<token>`, works once for 30 minutes, and only
/// the newest link works. Each address receives at most `MAIL_PER_ADDRESS_PER_HOUR`
/// reset mails per hour; requests beyond that get the same `202` and send nothing.
#[utoipa::path(post, path = "/password-reset-request", tag = "auth", request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Accepted (the same body whether or not the address has an account)", body = MailAccepted),
        (status = 422, description = "email is missing or not an email address", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn password_reset_request(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<PasswordResetRequest>,
) -> ApiResult<(StatusCode, Json<MailAccepted>)> {
    request_password_reset(&state, &body.email, &client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MailAccepted::new(
            "If an account has this address, a password reset email is on its way.",
        )),
    ))
}

/// Asks for a reset mail to `email` (the JSON endpoint and the console's
/// forgot-password page): the same work and the same `Ok` whether or not an account has
/// the address; 422 naming `email` only when it is not an address at all.
pub async fn request_password_reset(
    state: &AppState,
    email: &str,
    client: &ClientInfo,
) -> ApiResult<()> {
    let email = parse_email(email, "email").map_err(|e| ApiError::Validation(vec![e]))?;
    queue_reset_mail(state, &email, None, client).await?;
    Ok(())
}

/// Queues the reset mail for the canonical address `email` (composed later by
/// [`ResetMails`], only if an active account has it) within the per-address limit,
/// audited as `password_reset_request` by `by_admin` when an administrator asked (the
/// same mail as the public request). Answers the quota it found: nothing was queued
/// when it is exhausted.
pub async fn queue_reset_mail(
    state: &AppState,
    email: &str,
    by_admin: Option<Uuid>,
    client: &ClientInfo,
) -> ApiResult<Quota> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let user_id: Option<Uuid> = on_exec!(&mut tx, c => sqlx::query_scalar(
        "SELECT id FROM users WHERE email = $1 AND is_active")
        .bind(email)
        .fetch_optional(c)
        .await)?;
    let quota = outbox::check_quota(
        &mut tx,
        email,
        MailKind::PasswordReset,
        state.config.mail.per_address_per_hour,
        now,
    )
    .await?;
    let queued = quota == Quota::Available;
    if queued {
        state
            .mail
            .queue(
                &mut tx,
                NewMail {
                    kind: MailKind::PasswordReset,
                    user_id,
                    recipient: email,
                    message: None,
                    discard_after: None,
                },
                now,
            )
            .await?;
    }
    let mut detail = serde_json::json!({"queued": queued});
    if by_admin.is_some() {
        detail["by"] = "admin".into();
    }
    let entry = AuditEntry {
        event: event::PASSWORD_RESET_REQUEST,
        actor_id: by_admin,
        user_id,
        client: Some(client),
        detail,
    };
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    if queued {
        state.mail.wake();
    }
    Ok(quota)
}

/// Composes the reset mails that `password_reset_request` queued without a body, when
/// the mail worker sends them (handed to the mailer at start-up): finds the active
/// account with the address, replaces its reset token with a new one and renders the
/// message, in the worker's transaction. `None` when no active account has the address.
pub struct ResetMails;

impl LateComposer for ResetMails {
    fn compose<'a>(
        &'a self,
        tx: &'a mut Tx,
        composer: &'a Composer,
        _kind: MailKind,
        address: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<Option<LateMessage>>> {
        Box::pin(async move {
            let user = on_exec!(&mut *tx, c => sqlx::query_as::<_, User>(concat!(
                "SELECT ", user_columns!(), " FROM users WHERE email = $1 AND is_active"))
                .bind(address)
                .fetch_optional(c)
                .await)?;
            let Some(user) = user else {
                return Ok(None);
            };
            let issued = email_tokens::issue(tx, Purpose::PasswordReset, &user, now).await?;
            let message = composer.password_reset(
                &user,
                &issued.token,
                Purpose::PasswordReset.valid_for(),
            )?;
            Ok(Some(LateMessage {
                user_id: user.id,
                message,
                discard_after: issued.expires_at,
            }))
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    /// The token from the link in the reset email (or, at `/accept-invitation`, the
    /// invitation email).
    #[serde(default)]
    #[schema(required = true)]
    pub token: String,
    /// The new password; the password policy and history apply.
    #[serde(default)]
    #[schema(required = true)]
    pub new_password: String,
}

/// Why a reset token is refused (400).
fn bad_reset_token() -> Why {
    Why::new(
        "the reset token is invalid, used or expired",
        message_key("bad-token-reset"),
    )
}

/// Set a new password with the token from the reset email
///
/// The token works once, for 30 minutes; only the newest one of an account works, and
/// only while the account has the address it was sent to. The new password must satisfy
/// the policy and differ from the last `PASSWORD_HISTORY` passwords (422 naming
/// `new_password`; the token stays usable). On success every session of the account is
/// revoked, login lockouts of its username and email are cleared, the address counts as
/// verified (the token could only be read from that mailbox), and a "your password was
/// changed" email is sent.
#[utoipa::path(post, path = "/password-reset-confirm", tag = "auth", request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "Password set; every session revoked"),
        (status = 400, description = "The token is invalid, used or expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing, or new_password breaks the policy or was used recently", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn password_reset_confirm(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<PasswordResetConfirm>,
) -> ApiResult<NoContent> {
    confirm_reset(&state, &body.token, &body.new_password, &client).await?;
    Ok(NoContent)
}

/// The account a live reset token belongs to, while it still has the address the token
/// was mailed to; `None` for a token that cannot be used.
pub async fn reset_token_user(state: &AppState, presented: &str) -> ApiResult<Option<User>> {
    token_user(state, Purpose::PasswordReset, presented).await
}

/// The account a live mailed token of `purpose` belongs to, while the account is active
/// and still has the address the token was mailed to.
pub(super) async fn token_user(
    state: &AppState,
    purpose: Purpose,
    presented: &str,
) -> ApiResult<Option<User>> {
    Ok(live_token_user(state, purpose, presented)
        .await?
        .map(|(_, user)| user))
}

async fn live_token_user(
    state: &AppState,
    purpose: Purpose,
    presented: &str,
) -> ApiResult<Option<(email_tokens::LiveToken, User)>> {
    let now = state.clock.now();
    let Some(token) = email_tokens::find_live(&state.db, purpose, presented, now).await? else {
        return Ok(None);
    };
    let user = find_user(&state.db, token.user_id)
        .await?
        .filter(|u| u.is_active && u.email == token.email);
    Ok(user.map(|user| (token, user)))
}

/// A mailed token (reset or invitation) claimed for a new password: the open
/// transaction in which the token is used up, the address marked verified (the token
/// could only be read from that mailbox) and the password set; the caller adds its own
/// consequences and commits.
pub(super) struct Claimed {
    pub tx: Tx,
    pub user: User,
    pub now: DateTime<Utc>,
}

/// Checks `new_password` (policy and history, 422 naming `new_password`; the token stays
/// usable) and claims the token of `purpose` for it; a 400 for the reason `bad_token`
/// gives when the token is invalid, used, expired, or its account no longer has the
/// address it was mailed to.
pub(super) async fn claim_with_password(
    state: &AppState,
    purpose: Purpose,
    presented: &str,
    new_password: &str,
    bad_token: fn() -> Why,
) -> ApiResult<Claimed> {
    let mut missing = Vec::new();
    if presented.is_empty() {
        missing.push(FieldError::new("token", "is required"));
    }
    if new_password.is_empty() {
        missing.push(FieldError::new("new_password", "is required"));
    }
    if !missing.is_empty() {
        return Err(ApiError::Validation(missing));
    }
    let bad = || ApiError::BadToken(bad_token());
    let (token, user) = live_token_user(state, purpose, presented)
        .await?
        .ok_or_else(bad)?;

    let hashes = recent_hashes(&state.db, user.id, state.config.passwords.history).await?;
    check_new_password(state, &user, new_password, &hashes, "new_password").await?;
    let hash = state.hasher.hash(new_password).await?;

    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // The winner of concurrent confirmations is whoever marks the token used first.
    let claimed = email_tokens::mark_used(&mut tx, purpose, token.id, now).await?;
    // The account must still have the address the token was mailed to.
    let same_address = on_exec!(&mut tx, c => sqlx::query(
        "UPDATE users SET email_verified = TRUE, updated_at = $3 WHERE id = $1 AND email = $2 AND is_active")
        .bind(user.id)
        .bind(&token.email)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    if !claimed || same_address != 1 {
        return Err(bad());
    }
    set_password(&mut tx, user.id, &hash, state.config.passwords.history, now).await?;
    Ok(Claimed { tx, user, now })
}

/// Sets a new password with a reset token (the JSON endpoint and the page the link
/// opens both call this); see [`password_reset_confirm`] for what it checks and does.
pub async fn confirm_reset(
    state: &AppState,
    presented: &str,
    new_password: &str,
    client: &ClientInfo,
) -> ApiResult<()> {
    let Claimed { mut tx, user, now } = claim_with_password(
        state,
        Purpose::PasswordReset,
        presented,
        new_password,
        bad_reset_token,
    )
    .await?;
    let revoked = revoke_user_sessions(&mut tx, user.id, None, reason::PASSWORD_RESET, now).await?;
    lockout::clear_account(&mut tx, user.id, &user.username, &user.email).await?;
    let entry = AuditEntry::by_owner(event::PASSWORD_RESET, user.id, client)
        .with_detail(serde_json::json!({"sessions_revoked": revoked}));
    audit::record(&mut tx, now, entry).await?;
    state
        .mail
        .queue_password_changed(&mut tx, &user, PasswordChange::Reset, now)
        .await?;
    tx.commit().await?;
    state.mail.wake();
    Ok(())
}
