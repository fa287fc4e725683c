//! Writing the log: [`append`] inside the transaction of the change, [`sequence_pending`]
//! to number what has committed, and [`purge_before`] for the retention
//! (`EVENT_RETENTION_DAYS`).
//!
//! The same SQL runs on both engines. A change's transaction only inserts its events,
//! unnumbered: it takes no lock another writer could wait for, so an event can never be
//! the reason two requests deadlock. The sequencer numbers committed events later, in
//! its own short transaction that locks the one-row `event_counter` (so instances
//! number one after another): `sequence` follows the order in which events became
//! visible, and a reader polling `after=N` never misses one that committed late.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::db::{Db, Exec, Tx};
use crate::on_exec;

/// How many events one sequencer transaction numbers at most.
const BATCH: i64 = 500;

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

/// Appends `event` inside `tx`, unnumbered ([`sequence_pending`] numbers it once
/// committed).
pub async fn append(tx: &mut Tx, now: DateTime<Utc>, event: &NewEvent) -> Result<(), sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query(
        "INSERT INTO events (id, type, subject, time, data) VALUES ($1, $2, $3, $4, $5)")
        .bind(Uuid::now_v7())
        .bind(event.kind)
        .bind(&event.subject)
        .bind(now)
        .bind(sqlx::types::Json(&event.data))
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Unnumbered {
    position: i64,
    subject: String,
}

/// Numbers the committed events that have no `sequence` yet, in `position` order, each
/// with the next `sequence` of the database and the next `subjectsequence` of its
/// subject; returns how many. Runs in the background and before every read of the log.
pub async fn sequence_pending(db: &Db) -> Result<u64, sqlx::Error> {
    // A read first, so that an idle log costs no write transaction.
    let waiting: Option<i64> = on_exec!(db, c => sqlx::query_scalar(
        "SELECT position FROM events WHERE sequence IS NULL LIMIT 1")
        .fetch_optional(c)
        .await)?;
    if waiting.is_none() {
        return Ok(0);
    }
    let mut numbered = 0;
    loop {
        let mut tx = db.begin().await?;
        // Taking the counter's row lock first: sequencers of other instances wait here.
        let mut last: i64 = on_exec!(&mut tx, c => sqlx::query_scalar(
            "UPDATE event_counter SET last = last WHERE id = 1 RETURNING last")
            .fetch_one(c)
            .await)?;
        let pending = on_exec!(&mut tx, c => sqlx::query_as::<_, Unnumbered>(
            "SELECT position, subject FROM events WHERE sequence IS NULL ORDER BY position LIMIT $1")
            .bind(BATCH)
            .fetch_all(c)
            .await)?;
        if pending.is_empty() {
            return Ok(numbered);
        }
        for event in &pending {
            last += 1;
            let subject_sequence: i64 = on_exec!(&mut tx, c => sqlx::query_scalar(
                "INSERT INTO event_subjects (subject, last) VALUES ($1, 1) \
                 ON CONFLICT (subject) DO UPDATE SET last = event_subjects.last + 1 RETURNING last")
                .bind(&event.subject)
                .fetch_one(c)
                .await)?;
            on_exec!(&mut tx, c => sqlx::query(
                "UPDATE events SET sequence = $1, subject_sequence = $2 WHERE position = $3")
                .bind(last)
                .bind(subject_sequence)
                .bind(event.position)
                .execute(c)
                .await.map(|r| r.rows_affected()))?;
        }
        on_exec!(&mut tx, c => sqlx::query("UPDATE event_counter SET last = $1 WHERE id = 1")
            .bind(last)
            .execute(c)
            .await.map(|r| r.rows_affected()))?;
        tx.commit().await?;
        numbered += pending.len() as u64;
    }
}

/// Deletes the events older than `cutoff`; returns how many. The per-subject counters
/// stay, so a subject's `subjectsequence` never starts again.
pub async fn purge_before(
    ex: impl Into<Exec<'_>>,
    cutoff: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    on_exec!(ex, c => sqlx::query("DELETE FROM events WHERE time < $1 AND sequence IS NOT NULL")
        .bind(cutoff)
        .execute(c)
        .await.map(|r| r.rows_affected()))
}
