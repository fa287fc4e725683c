//! Outgoing mail: password resets, address verification, password-change notices and
//! email-change confirmations and notices.
//!
//! Nothing is sent from a request. A message is a row of the outbox ([`outbox`]),
//! written in the same transaction as the change that caused it; the worker
//! ([`delivery`]) sends due rows over SMTP (`SMTP_URL`, `MAIL_FROM`) with `lettre`,
//! retries with exponential backoff, and claims rows with a lease so that several
//! instances send each message once. Without `SMTP_URL` (development only) messages
//! are written to the log. Messages are rendered from embedded templates ([`templates`]).
//! A message whose body must be made when it goes out (a password reset: its token is
//! made then) is queued without one and composed by the [`LateComposer`] the
//! application hands the [`Mailer`] at start-up.
//!
//! Callers queue inside their transaction and call [`Mailer::wake`] after committing
//! (without it, the mail still goes out at the worker's next poll).

pub mod delivery;
pub mod outbox;
mod overrides;
pub mod templates;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, DropGuard};
use uuid::Uuid;

use crate::accounts::model::User;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::Cipher;
use crate::db::{Db, Tx};
use delivery::{Courier, Outgoing, Transport};
use outbox::NewMail;
use templates::{Composed, Composer, PasswordChange};

pub use delivery::{DeliveryReport, LateComposer, LateMessage, smtp_transport};
pub use outbox::MailKind;

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

/// The application's mail service. Dropping it (with the application) stops the worker.
pub struct Mailer {
    courier: Arc<Courier>,
    cipher: Cipher,
    _stop_on_drop: DropGuard,
}

impl Mailer {
    /// Builds the templates and the transport (within the Tokio runtime: lettre's
    /// connection pool starts a task). Says once which transport is used. `late`
    /// composes the messages queued without a body.
    pub fn new(
        config: &Config,
        db: Db,
        clock: Arc<dyn Clock>,
        cipher: Cipher,
        late: Arc<dyn LateComposer>,
    ) -> anyhow::Result<Mailer> {
        let composer = Composer::for_deployment(config)?;
        let mut from: Mailbox = config
            .mail
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("MAIL_FROM is not an address: {e}"))?;
        if let Some(name) = &config.brand.mail_from_name {
            from.name = Some(name.clone());
        } else if from.name.is_none() {
            from.name = Some(config.brand.name.clone());
        }
        let transport = match &config.mail.smtp_url {
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
        let courier = Courier {
            db,
            clock,
            cipher: cipher.clone(),
            outgoing: Outgoing {
                composer,
                transport,
                from,
                wake: Notify::new(),
            },
            late,
            poll: config.mail.poll_interval,
            stop: stop.clone(),
        };
        Ok(Mailer {
            courier: Arc::new(courier),
            cipher,
            _stop_on_drop: stop.drop_guard(),
        })
    }

    /// Starts this instance's worker; it stops when the mailer is dropped.
    pub fn spawn_worker(&self) {
        tokio::spawn(Arc::clone(&self.courier).run());
    }

    /// One delivery pass over every due message, as the worker makes it (tests and tools
    /// use it to deliver deterministically).
    pub async fn deliver_due(&self) -> Result<DeliveryReport, sqlx::Error> {
        self.courier.deliver_once().await
    }

    /// Tells this instance's worker that a message was committed (no lost wake-ups: a
    /// wake while it is busy makes it look again right after).
    pub fn wake(&self) {
        self.courier.outgoing.wake.notify_one();
    }

    pub fn composer(&self) -> &Composer {
        &self.courier.outgoing.composer
    }

    /// Writes `mail` to the outbox inside the caller's transaction (no quota: callers
    /// that need one check it with [`outbox::check_quota`] first); returns its id.
    pub async fn queue(
        &self,
        tx: &mut Tx,
        mail: NewMail<'_>,
        now: DateTime<Utc>,
    ) -> Result<Uuid, sqlx::Error> {
        outbox::enqueue(tx, &self.cipher, mail, now).await
    }

    /// Queues a composed message for `user_id` to `recipient`.
    #[allow(clippy::too_many_arguments)]
    pub async fn queue_message(
        &self,
        tx: &mut Tx,
        kind: MailKind,
        user_id: Uuid,
        recipient: &str,
        message: &Composed,
        discard_after: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Uuid, sqlx::Error> {
        let mail = NewMail {
            kind,
            user_id: Some(user_id),
            recipient,
            message: Some(message),
            discard_after,
        };
        self.queue(tx, mail, now).await
    }

    /// Queues "your password was changed" to the user's address, inside the transaction
    /// that changed it. Not subject to the per-address quota: it follows a password
    /// change, which needs the current password or a reset token.
    pub async fn queue_password_changed(
        &self,
        tx: &mut Tx,
        user: &User,
        how: PasswordChange,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let message = self.composer().password_changed(user, how, now)?;
        self.queue_message(
            tx,
            MailKind::PasswordChanged,
            user.id,
            &user.email,
            &message,
            None,
            now,
        )
        .await?;
        Ok(())
    }
}
