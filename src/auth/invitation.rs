//! Invitations: an account an administrator made (`POST /api/v1/admin/users`) has no
//! password, so no password signs in to it, until its owner sets one through the link
//! mailed to its address: `{PUBLIC_URL}/accept-invitation?token=<token>`.
//!
//! The token ([`super::email_tokens`], purpose `Invitation`) is 256 random bits stored
//! as its SHA-256, works once, for 7 days, only while it is the account's newest and the
//! account still has the address it was mailed to. Accepting applies the password
//! policy, marks the address verified (the link could only be read from that mailbox)
//! and sets the password, in one transaction with the token's use, exactly as a reset
//! confirmation does (`super::reset::claim_with_password`); the owner then signs in.

use axum::extract::State;
use chrono::{DateTime, Utc};

use super::email_tokens::{self, Purpose};
use super::reset::{Claimed, PasswordResetConfirm, claim_with_password, token_user};
use crate::accounts::model::User;
use crate::audit::{self, AuditEntry, event};
use crate::db::Tx;
use crate::error::{ApiResult, Problem, Why};
use crate::http::{ApiJson, ClientInfo, NoContent};
use crate::i18n::message_key;
use crate::mail::MailKind;
use crate::state::AppState;

/// Why an invitation token is refused (400).
fn bad_invitation_token() -> Why {
    Why::new(
        "the invitation token is invalid, used or expired",
        message_key("bad-token-invitation"),
    )
}

/// Issues the invitation token of `user` (replacing an unused one) and queues the mail
/// carrying its link, inside `tx`, the transaction that made the account. No
/// per-address limit: only administrators invite, once per account they make.
pub async fn queue_invitation(
    tx: &mut Tx,
    state: &AppState,
    user: &User,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let issued = email_tokens::issue(tx, Purpose::Invitation, user, now).await?;
    let message =
        state
            .mail
            .composer()
            .invitation(user, &issued.token, Purpose::Invitation.valid_for())?;
    state
        .mail
        .queue_message(
            tx,
            MailKind::Invitation,
            user.id,
            &user.email,
            &message,
            Some(issued.expires_at),
            now,
        )
        .await?;
    Ok(())
}

/// The account a live invitation token belongs to; `None` for a token that cannot be
/// used (the page the link opens shows the form only for a live one).
pub async fn invitation_user(state: &AppState, presented: &str) -> ApiResult<Option<User>> {
    token_user(state, Purpose::Invitation, presented).await
}

/// Sets the first password of an invited account with its invitation token (the JSON
/// endpoint and the page the link opens both call this). Audited as
/// `invitation_accepted`.
pub async fn accept_invitation(
    state: &AppState,
    presented: &str,
    password: &str,
    client: &ClientInfo,
) -> ApiResult<User> {
    let Claimed { mut tx, user, now } = claim_with_password(
        state,
        Purpose::Invitation,
        presented,
        password,
        bad_invitation_token,
    )
    .await?;
    audit::record(
        &mut tx,
        now,
        AuditEntry::by_owner(event::INVITATION_ACCEPTED, user.id, client),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Set the first password of an invited account
///
/// What the page the invitation link opens (`/accept-invitation?token=`) does, for
/// clients of their own; the body has the shape of `/password-reset-confirm`'s. The token works once, for 7 days, only the newest one of an
/// account works, and only while the account has the address it was sent to. The
/// password must satisfy the policy (422 naming `new_password`; the token stays
/// usable). The address counts as verified; the account then signs in with
/// `POST /login` as usual (no session is started here).
#[utoipa::path(post, path = "/accept-invitation", tag = "auth", request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "Password set; sign in with it"),
        (status = 400, description = "The token is invalid, used or expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing, or new_password breaks the policy", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept_invitation_endpoint(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<PasswordResetConfirm>,
) -> ApiResult<NoContent> {
    accept_invitation(&state, &body.token, &body.new_password, &client).await?;
    Ok(NoContent)
}
