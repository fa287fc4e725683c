//! The delivery worker. One per instance, started by `Application::build` and stopped
//! when the application is dropped (even in the middle of a send: the lease then
//! expires and any instance takes the message over).
//!
//! It looks for due messages when this instance queues one (the mailer's `wake`)
//! and otherwise every `MAIL_POLL_MILLIS`, so messages queued by another instance, or
//! left pending by a stopped one, go out too. Each message is claimed with a lease
//! ([`outbox::claim`]); a failed send is retried after 5 s, 10 s, 20 s, ... up to an
//! hour, and given up after [`MAX_ATTEMPTS`]. Delivery is at least once: an instance
//! stopped after the server accepted a message but before marking it sent lets another
//! send it again; the `Message-ID` (the outbox row id) lets receivers recognise that.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio_util::sync::CancellationToken;

use futures::future::BoxFuture;
use tokio::sync::Notify;
use uuid::Uuid;

use super::outbox::{self, Claimed, MailKind};
use super::templates::{Composed, Composer};
use crate::clock::Clock;
use crate::crypto::Cipher;
use crate::db::{Db, Tx};

/// The longest one SMTP conversation may take (connect, greeting, every command).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// After this many failed attempts (about a day of backoff) a message is given up.
pub const MAX_ATTEMPTS: i32 = 30;
const BACKOFF_FIRST: chrono::Duration = chrono::Duration::seconds(5);
const BACKOFF_MAX: chrono::Duration = chrono::Duration::hours(1);
/// Messages claimed per query.
const BATCH: i64 = 20;
/// `last_error` is kept short.
const MAX_ERROR_LEN: usize = 500;

/// How messages leave.
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development without `SMTP_URL`: the message, link included, goes to the log.
    Log,
}

/// A transport builder for `SMTP_URL`: `smtp://host:port` (plain, for a local relay),
/// `smtp://user:pass@host:587?tls=required` (STARTTLS), `?tls=opportunistic`, or
/// `smtps://user:pass@host:465` (TLS from the first byte).
pub fn smtp_transport(
    url: &str,
) -> Result<AsyncSmtpTransportBuilder, lettre::transport::smtp::Error> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
}

/// The wait before attempt `attempts + 1`: 5 s doubling up to an hour.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let doublings = attempts.clamp(1, 20) - 1;
    (BACKOFF_FIRST * 2i32.pow(doublings as u32)).min(BACKOFF_MAX)
}

/// What one pass over the due messages did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: u32,
    pub deferred: u32,
    pub abandoned: u32,
}

/// Why a pass ended early.
#[derive(Debug)]
enum Interrupted {
    Stopped,
    Database(sqlx::Error),
}

impl From<sqlx::Error> for Interrupted {
    fn from(e: sqlx::Error) -> Interrupted {
        Interrupted::Database(e)
    }
}

/// What the request side and the worker share: templates, transport, sender, wake-up.
pub struct Outgoing {
    pub composer: Composer,
    pub transport: Transport,
    pub from: Mailbox,
    pub wake: Notify,
}

/// A message composed when it goes out, with the account it concerns and when it stops
/// being worth sending.
pub struct LateMessage {
    pub user_id: Uuid,
    pub message: Composed,
    pub discard_after: DateTime<Utc>,
}

/// Composes, inside the delivery's transaction, a message queued without a body (a
/// password reset, whose token is made only when the mail goes out). `None` when the
/// message is no longer to be sent (no active account has the address): the row is
/// then abandoned in the same transaction.
pub trait LateComposer: Send + Sync {
    fn compose<'a>(
        &'a self,
        tx: &'a mut Tx,
        composer: &'a Composer,
        kind: MailKind,
        recipient: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<Option<LateMessage>>>;
}

/// The worker's own handles on what it needs; it holds no reference to the
/// application, so dropping the application (and its mailer) is what stops it.
pub struct Courier {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub cipher: Cipher,
    pub outgoing: Outgoing,
    pub late: Arc<dyn LateComposer>,
    pub stop: CancellationToken,
    pub poll: Duration,
}

impl Courier {
    pub async fn run(self: Arc<Self>) {
        loop {
            match self.deliver_due().await {
                Ok(_) => {}
                Err(Interrupted::Stopped) => break,
                Err(Interrupted::Database(sqlx::Error::PoolClosed)) => break,
                Err(Interrupted::Database(e)) => {
                    tracing::warn!(error = %e, "mail delivery pass failed; trying again later")
                }
            }
            tokio::select! {
                () = self.stop.cancelled() => break,
                () = self.outgoing.wake.notified() => {}
                () = tokio::time::sleep(self.poll) => {}
            }
        }
        tracing::debug!("mail worker stopped");
    }

    async fn deliver_due(&self) -> Result<DeliveryReport, Interrupted> {
        let mut report = DeliveryReport::default();
        loop {
            let ids = outbox::due(&self.db, self.clock.now(), BATCH).await?;
            for id in &ids {
                if self.stop.is_cancelled() {
                    return Err(Interrupted::Stopped);
                }
                if let Some(claimed) = outbox::claim(&self.db, *id, self.clock.now()).await? {
                    self.deliver(claimed, &mut report).await?;
                }
            }
            if (ids.len() as i64) < BATCH {
                return Ok(report);
            }
        }
    }

    async fn deliver(
        &self,
        claimed: Claimed,
        report: &mut DeliveryReport,
    ) -> Result<(), Interrupted> {
        let now = self.clock.now();
        if claimed.discard_after.is_some_and(|until| until <= now) {
            return self
                .abandon(
                    &claimed,
                    now,
                    "its link expired before it could be sent",
                    report,
                )
                .await;
        }
        let composed = match &claimed.message {
            Some(sealed) => match outbox::open(&self.cipher, claimed.id, sealed) {
                Some(composed) => composed,
                None => {
                    return self
                        .abandon(
                            &claimed,
                            now,
                            "the stored message cannot be opened (was ENCRYPTION_KEY changed?)",
                            report,
                        )
                        .await;
                }
            },
            None if claimed.kind == MailKind::PasswordReset => {
                match self.compose_late(&claimed, now).await {
                    Ok(Some(composed)) => composed,
                    Ok(None) => {
                        // Abandoned inside the composing transaction.
                        report.abandoned += 1;
                        return Ok(());
                    }
                    Err(e) => {
                        tracing::warn!(mail_id = %claimed.id, error = %e, "composing a mail failed");
                        return self.defer(&claimed, now, &e.to_string(), report).await;
                    }
                }
            }
            None => {
                return self
                    .abandon(&claimed, now, "the row holds no message", report)
                    .await;
            }
        };

        let outcome = tokio::select! {
            () = self.stop.cancelled() => return Err(Interrupted::Stopped),
            outcome = self.send(&claimed, &composed) => outcome,
        };
        let now = self.clock.now();
        match outcome {
            Ok(()) => {
                outbox::mark_sent(&self.db, claimed.id, now).await?;
                report.sent += 1;
                tracing::info!(mail_id = %claimed.id, kind = claimed.kind.as_str(), attempts = claimed.attempts, "mail sent");
                Ok(())
            }
            Err(error) => self.defer(&claimed, now, &error, report).await,
        }
    }

    /// Turns a row queued without a body into a message ([`LateComposer`]) and stores it
    /// sealed, in one transaction; `None` (the row abandoned) when there is nothing to send.
    async fn compose_late(
        &self,
        claimed: &Claimed,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Composed>> {
        let mut tx = self.db.begin().await?;
        // Serialises late composition for this address across instances.
        outbox::lock_recipient(&mut tx, &claimed.recipient, now).await?;
        let late = self
            .late
            .compose(
                &mut tx,
                &self.outgoing.composer,
                claimed.kind,
                &claimed.recipient,
                now,
            )
            .await?;
        let composed = match late {
            Some(late) => {
                outbox::set_message(
                    &mut tx,
                    &self.cipher,
                    claimed.id,
                    late.user_id,
                    &late.message,
                    late.discard_after,
                )
                .await?;
                Some(late.message)
            }
            None => {
                outbox::mark_abandoned(
                    &mut tx,
                    claimed.id,
                    now,
                    "no active account has this address",
                )
                .await?;
                None
            }
        };
        tx.commit().await?;
        Ok(composed)
    }

    async fn send(&self, claimed: &Claimed, composed: &Composed) -> Result<(), String> {
        match &self.outgoing.transport {
            Transport::Log => {
                tracing::info!(
                    mail_id = %claimed.id,
                    to = %claimed.recipient,
                    subject = %composed.subject,
                    "email (written to the log because SMTP_URL is not set):\n{}",
                    composed.text
                );
                Ok(())
            }
            Transport::Smtp(transport) => {
                let message = build_message(&self.outgoing.from, claimed, composed)?;
                match tokio::time::timeout(SEND_TIMEOUT, transport.send(message)).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!("no answer within {} s", SEND_TIMEOUT.as_secs())),
                }
            }
        }
    }

    /// Schedules another attempt, or gives up after [`MAX_ATTEMPTS`].
    async fn defer(
        &self,
        claimed: &Claimed,
        now: DateTime<Utc>,
        error: &str,
        report: &mut DeliveryReport,
    ) -> Result<(), Interrupted> {
        let error: String = error.chars().take(MAX_ERROR_LEN).collect();
        if claimed.attempts >= MAX_ATTEMPTS {
            let why = format!("gave up after {} attempts: {error}", claimed.attempts);
            tracing::error!(mail_id = %claimed.id, kind = claimed.kind.as_str(), "{why}");
            return self.abandon(claimed, now, &why, report).await;
        }
        let retry_in = backoff(claimed.attempts);
        tracing::warn!(
            mail_id = %claimed.id,
            attempts = claimed.attempts,
            retry_in_seconds = retry_in.num_seconds(),
            error = %error,
            "mail delivery failed; will retry"
        );
        outbox::mark_retry(&self.db, claimed.id, now + retry_in, &error).await?;
        report.deferred += 1;
        Ok(())
    }

    async fn abandon(
        &self,
        claimed: &Claimed,
        now: DateTime<Utc>,
        why: &str,
        report: &mut DeliveryReport,
    ) -> Result<(), Interrupted> {
        tracing::warn!(mail_id = %claimed.id, kind = claimed.kind.as_str(), reason = why, "mail abandoned");
        outbox::mark_abandoned(self.db.writer(), claimed.id, now, why).await?;
        report.abandoned += 1;
        Ok(())
    }
}

/// The MIME message: plain text and HTML alternatives, `Message-ID` from the row id.
fn build_message(
    from: &Mailbox,
    claimed: &Claimed,
    composed: &Composed,
) -> Result<Message, String> {
    let to: Mailbox = claimed
        .recipient
        .parse()
        .map_err(|e| format!("the recipient is not an address: {e}"))?;
    let domain = from.email.domain();
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(composed.subject.clone())
        .message_id(Some(format!("<{}@{domain}>", claimed.id)))
        .multipart(MultiPart::alternative_plain_html(
            composed.text.clone(),
            composed.html.clone(),
        ))
        .map_err(|e| format!("the message cannot be built: {e}"))
}

impl Courier {
    /// One pass, as [`Courier::run`] makes it between waits.
    pub async fn deliver_once(&self) -> Result<DeliveryReport, sqlx::Error> {
        match self.deliver_due().await {
            Ok(report) => Ok(report),
            Err(Interrupted::Stopped) => Ok(DeliveryReport::default()),
            Err(Interrupted::Database(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_up_to_an_hour() {
        let waits: Vec<i64> = (1..=12).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(
            waits,
            [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(backoff(MAX_ATTEMPTS).num_seconds(), 3600);
    }
}
