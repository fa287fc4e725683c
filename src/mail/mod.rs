//! Outgoing mail: password resets, address verification and password-change notices.
//!
//! Nothing is sent from a request. A message is a row of the outbox ([`outbox`]),
//! written in the same transaction as the change that caused it; the worker
//! ([`delivery`]) sends due rows over SMTP (`SMTP_URL`, `MAIL_FROM`) with `lettre`,
//! retries with exponential backoff, and claims rows with a lease so that several
//! instances send each message once. Without `SMTP_URL` (development only) messages
//! are written to the log. Messages are rendered from embedded templates ([`templates`]).
//!
//! Callers queue inside their transaction and call [`Mailer::wake`] after committing
//! (without it, the mail still goes out at the worker's next poll).

pub mod delivery;
pub mod outbox;
pub mod templates;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::app::AppState;
use crate::config::Config;
use crate::db::Tx;
use crate::error::ApiResult;
use crate::users::model::User;
use delivery::Transport;
use outbox::NewMail;
use templates::{Composer, PasswordChange};
use uuid::Uuid;

pub use crate::auth::verify::queue_verification_email;
pub use delivery::{DeliveryReport, deliver_due, smtp_transport};

/// What a message is about; stored in `mail_outbox.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    PasswordReset,
    EmailVerification,
    PasswordChanged,
    /// To a new address: the link that confirms an email change.
    EmailChangeConfirm,
    /// To the old address: a change was asked for, with the link that cancels it.
    EmailChangeNotice,
    /// To the old address: an administrator changed it.
    EmailChangedByAdmin,
}

impl MailKind {
    const ALL: [MailKind; 6] = [
        MailKind::PasswordReset,
        MailKind::EmailVerification,
        MailKind::PasswordChanged,
        MailKind::EmailChangeConfirm,
        MailKind::EmailChangeNotice,
        MailKind::EmailChangedByAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::PasswordReset => "password_reset",
            MailKind::EmailVerification => "email_verification",
            MailKind::PasswordChanged => "password_changed",
            MailKind::EmailChangeConfirm => "email_change_confirm",
            MailKind::EmailChangeNotice => "email_change_notice",
            MailKind::EmailChangedByAdmin => "email_changed_by_admin",
        }
    }
}

impl TryFrom<String> for MailKind {
    type Error = String;
    fn try_from(value: String) -> Result<MailKind, String> {
        MailKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| format!("unknown mail kind {value:?}"))
    }
}

/// What queuing a mail that carries a token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Queued,
    /// The address already had `MAIL_PER_ADDRESS_PER_HOUR` such mails this hour;
    /// nothing was queued.
    OverLimit {
        retry_after_secs: u64,
    },
}

/// What the request side and the worker share: templates, transport, sender, wake-up.
pub(crate) struct Outgoing {
    pub composer: Composer,
    pub transport: Transport,
    pub from: Mailbox,
    pub wake: Notify,
}

/// The application's mail service. Dropping it (with the application) stops the worker.
pub struct Mailer {
    outgoing: Arc<Outgoing>,
    stop: CancellationToken,
    _stop_on_drop: DropGuard,
}

impl Mailer {
    /// Builds the templates and the transport (within the Tokio runtime: lettre's
    /// connection pool starts a task). Says once which transport is used.
    pub fn new(config: &Config) -> anyhow::Result<Mailer> {
        let composer = Composer::new(&config.public_url)?;
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("MAIL_FROM is not an address: {e}"))?;
        let transport = match &config.smtp_url {
            Some(url) => {
                let transport = smtp_transport(url.expose())
                    .map_err(|e| anyhow::anyhow!("SMTP_URL cannot be used: {e}"))?
                    .timeout(Some(delivery::SEND_TIMEOUT))
                    .build();
                tracing::info!(from = %from, "mail is delivered over SMTP (SMTP_URL)");
                Transport::Smtp(transport)
            }
            // Production refuses to start without SMTP_URL (see `Config`).
            None => {
                tracing::warn!(
                    "SMTP_URL is not set: emails are written to the log instead of being sent (development only)"
                );
                Transport::Log
            }
        };
        let stop = CancellationToken::new();
        Ok(Mailer {
            outgoing: Arc::new(Outgoing {
                composer,
                transport,
                from,
                wake: Notify::new(),
            }),
            _stop_on_drop: stop.clone().drop_guard(),
            stop,
        })
    }

    /// Tells this instance's worker that a message was committed (no lost wake-ups: a
    /// wake while it is busy makes it look again right after).
    pub fn wake(&self) {
        self.outgoing.wake.notify_one();
    }

    pub fn composer(&self) -> &Composer {
        &self.outgoing.composer
    }

    pub(crate) fn outgoing(&self) -> Arc<Outgoing> {
        self.outgoing.clone()
    }

    pub(crate) fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }
}

/// Queues a composed message to `recipient` inside the caller's transaction (no quota).
pub async fn queue_message(
    tx: &mut Tx,
    state: &AppState,
    kind: MailKind,
    user_id: Uuid,
    recipient: &str,
    message: &templates::Composed,
    discard_after: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    outbox::enqueue(
        tx,
        &state.cipher,
        NewMail {
            kind,
            user_id: Some(user_id),
            recipient,
            message: Some(message),
            discard_after,
        },
        now,
    )
    .await?;
    Ok(())
}

/// Queues "your password was changed" to the user's address, inside the transaction
/// that changed it. Not subject to the per-address quota: it follows a password change,
/// which needs the current password or a reset token.
pub async fn queue_password_changed_notice(
    tx: &mut Tx,
    state: &AppState,
    user: &User,
    how: PasswordChange,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let message = state.mail.composer().password_changed(user, how, now)?;
    outbox::enqueue(
        tx,
        &state.cipher,
        NewMail {
            kind: MailKind::PasswordChanged,
            user_id: Some(user.id),
            recipient: &user.email,
            message: Some(&message),
            discard_after: None,
        },
        now,
    )
    .await?;
    Ok(())
}
