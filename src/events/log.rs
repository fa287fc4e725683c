//! Writing the log: [`append`] inside the transaction of the change, and
//! [`purge_before`] for the retention (`EVENT_RETENTION_DAYS`).
//!
//! The same SQL runs on both engines. The one-row `event_counter` is incremented with
//! `UPDATE ... RETURNING`: on PostgreSQL its row lock queues every other writer of
//! events until this transaction ends, which is what makes `sequence` follow commit
//! order (a rollback hands the number back). SQLite has a single writer anyway.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::db::{Exec, Tx};
use crate::on_exec;

/// An event to append: its type (from [`super::types`]), whose it is, and what it says.
/// `data` holds ids, names and counts only: never a password, hash, token, secret,
/// TOTP seed or payment token.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: &'static str,
    /// The account id, or the client id for client events.
    pub subject: String,
    pub data: Value,
}

/// Appends `event` inside `tx`, with the next `sequence` of the database and the next
/// `subjectsequence` of its subject; returns the sequence.
pub async fn append(tx: &mut Tx, now: DateTime<Utc>, event: &NewEvent) -> Result<i64, sqlx::Error> {
    let sequence: i64 = on_exec!(&mut *tx, c => sqlx::query_scalar(
        "UPDATE event_counter SET last = last + 1 WHERE id = 1 RETURNING last")
        .fetch_one(c)
        .await)?;
    let subject_sequence: i64 = on_exec!(&mut *tx, c => sqlx::query_scalar(
        "INSERT INTO event_subjects (subject, last) VALUES ($1, 1) \
         ON CONFLICT (subject) DO UPDATE SET last = event_subjects.last + 1 RETURNING last")
        .bind(&event.subject)
        .fetch_one(c)
        .await)?;
    on_exec!(&mut *tx, c => sqlx::query(
        "INSERT INTO events (sequence, id, type, subject, subject_sequence, time, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(sequence)
        .bind(Uuid::now_v7())
        .bind(event.kind)
        .bind(&event.subject)
        .bind(subject_sequence)
        .bind(now)
        .bind(sqlx::types::Json(&event.data))
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(sequence)
}

/// Deletes the events older than `cutoff`; returns how many. The per-subject counters
/// stay, so a subject's `subjectsequence` never starts again.
pub async fn purge_before(
    ex: impl Into<Exec<'_>>,
    cutoff: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    on_exec!(ex, c => sqlx::query("DELETE FROM events WHERE time < $1")
        .bind(cutoff)
        .execute(c)
        .await.map(|r| r.rows_affected()))
}
