//! Email verification. A verification mail carries a token ([`super::email_tokens`])
//! that works once, for 48 hours, and only while the account still has the address it
//! was sent to. Issuing a new token replaces the user's unused ones. Mails are queued
//! at registration, on request, and by the email-change path through
//! [`queue_verification_email`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::email_tokens::{self, Purpose};
use super::reset::MailAccepted;
use crate::accounts::model::User;
use crate::audit::{self, AuditEntry, event};
use crate::db::Tx;
use crate::error::{ApiError, ApiResult, Problem, Why};
use crate::http::{ApiJson, AuthUser, ClientInfo, NoContent};
use crate::i18n::message_key;
use crate::mail::outbox::{self, NewMail, Quota};
use crate::mail::{Enqueued, MailKind};
use crate::on_exec;
use crate::state::AppState;

/// Queues a verification mail to `user.email` inside the caller's transaction: a new
/// token bound to the user and that address (older unused tokens of the user stop
/// working) and the outbox row. Call the mailer's `wake` after committing.
///
/// The email-change path calls this with the account as updated (new address,
/// `email_verified` false) in the transaction that changed it. Over the per-address
/// limit nothing is queued and [`Enqueued::OverLimit`] says when to try again.
pub async fn queue_verification_email(
    tx: &mut Tx,
    state: &AppState,
    user: &User,
) -> ApiResult<Enqueued> {
    let now = state.clock.now();
    let quota = outbox::check_quota(
        tx,
        &user.email,
        MailKind::EmailVerification,
        state.config.mail.per_address_per_hour,
        now,
    )
    .await?;
    if let Quota::Exhausted { retry_after_secs } = quota {
        return Ok(Enqueued::OverLimit { retry_after_secs });
    }
    let issued = email_tokens::issue(tx, Purpose::EmailVerification, user, now).await?;
    let message = state.mail.composer().email_verification(
        user,
        &issued.token,
        Purpose::EmailVerification.valid_for(),
    )?;
    state
        .mail
        .queue(
            tx,
            NewMail {
                kind: MailKind::EmailVerification,
                user_id: Some(user.id),
                recipient: &user.email,
                message: Some(&message),
                discard_after: Some(issued.expires_at),
            },
            now,
        )
        .await?;
    Ok(Enqueued::Queued)
}

/// Send a new verification email to the caller's address
///
/// Replaces any earlier verification link of the caller. An address that is already
/// verified gets `409` and no mail. Each address receives at most
/// `MAIL_PER_ADDRESS_PER_HOUR` verification mails per hour; beyond that the answer is
/// `429` with `Retry-After` (the caller knows their own address, so saying so reveals
/// nothing).
#[utoipa::path(post, path = "/verify-email-request", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 202, description = "A verification email is queued", body = MailAccepted),
        (status = 409, description = "The address is already verified", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many verification mails to this address this hour (or rate limited); see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_email_request(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
) -> ApiResult<(StatusCode, Json<MailAccepted>)> {
    request_verification_email(&state, &caller.user, &client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MailAccepted::new(
            "A verification email is on its way to your address.",
        )),
    ))
}

/// Queues a new verification mail for `user`, who asked for it (the JSON endpoint and
/// the console's profile page): 409 when the address is already verified, 429 over the
/// per-address hourly limit.
pub async fn request_verification_email(
    state: &AppState,
    user: &User,
    client: &ClientInfo,
) -> ApiResult<()> {
    if user.email_verified {
        return Err(ApiError::conflict_without_field(Why::new(
            "the email address is already verified",
            message_key("conflict-email-verified"),
        )));
    }
    let mut tx = state.db.begin().await?;
    if let Enqueued::OverLimit { retry_after_secs } =
        queue_verification_email(&mut tx, state, user).await?
    {
        let count = state.config.mail.per_address_per_hour;
        let why = Why::new(
            format!("this address was sent {count} verification emails in the last hour"),
            message_key("too-many-verification-mails"),
        );
        return Err(ApiError::TooManyRequests {
            retry_after_secs,
            why: why.with("count", count),
        });
    }
    let now = state.clock.now();
    audit::record(
        &mut tx,
        now,
        AuditEntry::by_owner(event::EMAIL_VERIFICATION_REQUEST, user.id, client),
    )
    .await?;
    tx.commit().await?;
    state.mail.wake();
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    /// The token from the link in the verification email.
    pub token: String,
}

/// Why a verification token is refused (400).
fn bad_verification_token() -> Why {
    Why::new(
        "the verification token is invalid, used or expired",
        message_key("bad-token-verification"),
    )
}

/// Verify an email address with the token from the verification email
///
/// The token works once, for 48 hours, and only for the address it was sent to: after
/// the account's address changed, a token sent to the old one is refused.
#[utoipa::path(post, path = "/verify-email", tag = "auth", request_body = VerifyEmailRequest,
    responses(
        (status = 204, description = "The account's address is now verified"),
        (status = 400, description = "The token is invalid, used, expired or for another address", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (token missing)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_email(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<VerifyEmailRequest>,
) -> ApiResult<NoContent> {
    verify_email_token(&state, &body.token, &client).await?;
    Ok(NoContent)
}

/// Verifies the address a verification token was mailed to (the JSON endpoint and the
/// page the link opens both call this). 400 when the token is unknown, used, expired or
/// for an address the account no longer has.
pub async fn verify_email_token(
    state: &AppState,
    presented: &str,
    client: &ClientInfo,
) -> ApiResult<()> {
    let bad = || ApiError::BadToken(bad_verification_token());
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let token = email_tokens::find_live(&mut tx, Purpose::EmailVerification, presented, now)
        .await?
        .ok_or_else(bad)?;
    let claimed =
        email_tokens::mark_used(&mut tx, Purpose::EmailVerification, token.id, now).await?;
    let verified = on_exec!(&mut tx, c => sqlx::query(
        "UPDATE users SET email_verified = TRUE, updated_at = $3 WHERE id = $1 AND email = $2")
        .bind(token.user_id)
        .bind(&token.email)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    if !claimed || verified != 1 {
        return Err(bad());
    }
    let entry = AuditEntry::by_owner(event::EMAIL_VERIFIED, token.user_id, client);
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(())
}
