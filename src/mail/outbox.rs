//! The outbox table: every message is a row written in the transaction of the change
//! that caused it, so a message exists exactly when its change committed. The worker
//! ([`super::delivery`]) claims due rows with a lease, sends them and marks them.
//!
//! Message bodies carry tokens, so they are stored sealed (AES-256-GCM under
//! `ENCRYPTION_KEY`, bound to the row id) and erased once sent: a copy of the database
//! never yields a working link. The recipient address stays readable because the
//! per-address quota counts rows by it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::templates::Composed;
use crate::crypto::Cipher;
use crate::db::{Db, Exec, Tx};
use crate::on_exec;

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
    /// An identity at another provider was linked to the account.
    IdentityLinked,
    /// An identity at another provider was removed from the account.
    IdentityUnlinked,
    /// To every active administrator: a webhook endpoint was disabled by its failures.
    WebhookDisabled,
    /// An account an administrator made: the link that sets its first password.
    Invitation,
}

impl MailKind {
    const ALL: [MailKind; 10] = [
        MailKind::PasswordReset,
        MailKind::EmailVerification,
        MailKind::PasswordChanged,
        MailKind::EmailChangeConfirm,
        MailKind::EmailChangeNotice,
        MailKind::EmailChangedByAdmin,
        MailKind::IdentityLinked,
        MailKind::IdentityUnlinked,
        MailKind::WebhookDisabled,
        MailKind::Invitation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::PasswordReset => "password_reset",
            MailKind::EmailVerification => "email_verification",
            MailKind::PasswordChanged => "password_changed",
            MailKind::EmailChangeConfirm => "email_change_confirm",
            MailKind::EmailChangeNotice => "email_change_notice",
            MailKind::EmailChangedByAdmin => "email_changed_by_admin",
            MailKind::IdentityLinked => "identity_linked",
            MailKind::IdentityUnlinked => "identity_unlinked",
            MailKind::WebhookDisabled => "webhook_disabled",
            MailKind::Invitation => "invitation",
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

/// How long one worker may hold a claimed message before another may take it over.
/// Longer than a send may take (see `delivery::SEND_TIMEOUT`).
pub const LEASE: chrono::Duration = chrono::Duration::minutes(2);

/// How far back the per-address quota looks.
pub const QUOTA_WINDOW: chrono::Duration = chrono::Duration::hours(1);

/// A message to queue.
#[derive(Debug)]
pub struct NewMail<'a> {
    pub kind: MailKind,
    pub user_id: Option<Uuid>,
    pub recipient: &'a str,
    /// `None` queues a request the worker composes later (password resets).
    pub message: Option<&'a Composed>,
    pub discard_after: Option<DateTime<Utc>>,
}

/// Writes a message to the outbox inside the caller's transaction; returns its id.
pub async fn enqueue(
    tx: &mut Tx,
    cipher: &Cipher,
    mail: NewMail<'_>,
    now: DateTime<Utc>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    let sealed = mail.message.map(|m| seal(cipher, id, m));
    on_exec!(&mut *tx, c => sqlx::query(
        "INSERT INTO mail_outbox (id, kind, user_id, recipient, message, created_at, discard_after, attempts, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $6)")
        .bind(id)
        .bind(mail.kind.as_str())
        .bind(mail.user_id)
        .bind(mail.recipient)
        .bind(sealed)
        .bind(now)
        .bind(mail.discard_after)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(id)
}

fn seal(cipher: &Cipher, id: Uuid, message: &Composed) -> Vec<u8> {
    let json = serde_json::to_vec(message).unwrap_or_default();
    cipher.seal(&json, id.as_bytes())
}

/// Opens a sealed message; `None` if it cannot be authenticated (wrong key, tampering).
pub fn open(cipher: &Cipher, id: Uuid, sealed: &[u8]) -> Option<Composed> {
    let json = cipher.open(sealed, id.as_bytes()).ok()?;
    serde_json::from_slice(&json).ok()
}

/// Whether another message of `kind` may be queued for `address` now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    Available,
    /// The address had its hourly share; the oldest of those leaves the window then.
    Exhausted {
        retry_after_secs: u64,
    },
}

/// Checks the per-address quota (`MAIL_PER_ADDRESS_PER_HOUR` messages of one kind in
/// the last hour). Upserting the address's row first takes its row lock on PostgreSQL,
/// so concurrent requests for one address are counted one after the other (SQLite's
/// `BEGIN IMMEDIATE` already serialises writers); it also orders token replacement.
pub async fn check_quota(
    tx: &mut Tx,
    address: &str,
    kind: MailKind,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<Quota, sqlx::Error> {
    lock_recipient(tx, address, now).await?;
    let since = now - QUOTA_WINDOW;
    let (count, oldest): (i64, Option<DateTime<Utc>>) = on_exec!(&mut *tx, c => sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at) FROM mail_outbox WHERE recipient = $1 AND kind = $2 AND created_at > $3")
        .bind(address)
        .bind(kind.as_str())
        .bind(since)
        .fetch_one(c)
        .await)?;
    if count < i64::from(limit) {
        return Ok(Quota::Available);
    }
    let free_at = oldest.unwrap_or(now) + QUOTA_WINDOW;
    let retry_after_secs = (free_at - now).num_seconds().max(1) as u64;
    Ok(Quota::Exhausted { retry_after_secs })
}

/// Takes the lock row of `address` for the rest of the transaction.
pub async fn lock_recipient(
    tx: &mut Tx,
    address: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query(
        "INSERT INTO mail_recipients (address, last_queued_at) VALUES ($1, $2) \
         ON CONFLICT (address) DO UPDATE SET last_queued_at = $2")
        .bind(address)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A message claimed by one worker.
#[derive(Debug, sqlx::FromRow)]
pub struct Claimed {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub kind: MailKind,
    pub recipient: String,
    pub message: Option<Vec<u8>>,
    pub attempts: i32,
    pub discard_after: Option<DateTime<Utc>>,
}

/// Up to `limit` ids of messages due now (oldest first), not leased by anyone.
pub async fn due(db: &Db, now: DateTime<Utc>, limit: i64) -> Result<Vec<Uuid>, sqlx::Error> {
    on_exec!(db, c => sqlx::query_scalar(
        "SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
         AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_attempt_at, id LIMIT $2")
        .bind(now)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// Claims message `id` for [`LEASE`] and counts the attempt, unless another worker holds
/// it or it was sent meanwhile. The conditional `UPDATE` makes exactly one of several
/// instances win (PostgreSQL re-checks the condition after waiting for the row lock).
pub async fn claim(db: &Db, id: Uuid, now: DateTime<Utc>) -> Result<Option<Claimed>, sqlx::Error> {
    on_exec!(db.writer(), c => sqlx::query_as::<_, Claimed>(
        "UPDATE mail_outbox SET lease_until = $2, attempts = attempts + 1 \
         WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $3 \
         AND (lease_until IS NULL OR lease_until < $3) \
         RETURNING id, kind, recipient, message, attempts, discard_after")
        .bind(id)
        .bind(now + LEASE)
        .bind(now)
        .fetch_optional(c)
        .await)
}

/// Stores the composed message of a claimed reset request (in the composing transaction).
pub async fn set_message(
    tx: &mut Tx,
    cipher: &Cipher,
    id: Uuid,
    user_id: Uuid,
    message: &Composed,
    discard_after: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query(
        "UPDATE mail_outbox SET message = $2, user_id = $3, discard_after = $4 WHERE id = $1")
        .bind(id)
        .bind(seal(cipher, id, message))
        .bind(user_id)
        .bind(discard_after)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Marks a message delivered and erases its body.
pub async fn mark_sent(db: &Db, id: Uuid, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    on_exec!(db.writer(), c => sqlx::query(
        "UPDATE mail_outbox SET sent_at = $2, message = NULL, lease_until = NULL, last_error = NULL WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Releases a message to be tried again at `retry_at`.
pub async fn mark_retry(
    db: &Db,
    id: Uuid,
    retry_at: DateTime<Utc>,
    error: &str,
) -> Result<(), sqlx::Error> {
    on_exec!(db.writer(), c => sqlx::query(
        "UPDATE mail_outbox SET lease_until = NULL, next_attempt_at = $2, last_error = $3 WHERE id = $1")
        .bind(id)
        .bind(retry_at)
        .bind(error)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Gives a message up for good (no such account, link expired, too many attempts) and
/// erases its body.
pub async fn mark_abandoned(
    ex: impl Into<Exec<'_>>,
    id: Uuid,
    now: DateTime<Utc>,
    why: &str,
) -> Result<(), sqlx::Error> {
    on_exec!(ex, c => sqlx::query(
        "UPDATE mail_outbox SET failed_at = $2, message = NULL, lease_until = NULL, last_error = $3 WHERE id = $1")
        .bind(id)
        .bind(now)
        .bind(why)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes finished messages older than a day (the quota only looks back an hour),
/// expired reset, verification and invitation tokens, and idle recipient lock rows.
pub async fn purge(db: &Db, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let day_ago = now - chrono::Duration::days(1);
    let mut tx = db.begin().await?;
    let mut deleted = 0;
    deleted += on_exec!(&mut tx, c => sqlx::query(
        "DELETE FROM mail_outbox WHERE (sent_at IS NOT NULL AND sent_at < $1) OR (failed_at IS NOT NULL AND failed_at < $1)")
        .bind(day_ago)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    deleted += on_exec!(&mut tx, c => sqlx::query("DELETE FROM password_reset_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    deleted += on_exec!(&mut tx, c => sqlx::query("DELETE FROM email_verification_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    deleted += on_exec!(&mut tx, c => sqlx::query("DELETE FROM invitation_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    deleted += on_exec!(&mut tx, c => sqlx::query("DELETE FROM mail_recipients WHERE last_queued_at < $1")
        .bind(now - QUOTA_WINDOW)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(deleted)
}
