//! Writing the log: [`append`] inside the transaction of the change, [`sequence_pending`]
//! to number what has committed, and [`purge_before`] for the retention
//! (`EVENT_RETENTION_DAYS`).
//!
//! The same SQL runs on both engines. A change's transaction only inserts its events,
//! unnumbered: it takes no lock another writer could wait for, so an event can never be
//! the reason two requests deadlock. The sequencer numbers committed events later, in
//! its own short transaction that locks the one-row `event_counter` (so instances
//! number one after another): `sequence` follows the order in which events became
//! visible, and a reader polling `after=N` never misses one that committed late. A
//! transaction numbers a whole batch set-based, in four statements however large the
//! batch (`row_number()` over the batch for `sequence`, and per subject, added to the
//! subject's last number, for `subjectsequence`), not two statements per event.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::db::{Db, Exec, Tx};
use crate::on_exec;

/// How many events one sequencer transaction numbers at most.
const BATCH: i64 = 5_000;

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
    super::wakeup::note_appended();
    Ok(())
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
        let batch = number_batch(db).await?;
        numbered += batch;
        if batch < BATCH as u64 {
            return Ok(numbered);
        }
    }
}

/// Numbers up to [`BATCH`] committed events in one transaction of four statements,
/// however many there are: lock the counter, number the batch, advance the subjects'
/// counters, advance the database's counter.
async fn number_batch(db: &Db) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    // Taking the counter's row lock first: sequencers of other instances wait here. On
    // PostgreSQL every later statement then reads a snapshot taken after the lock, so it
    // sees what the previous holder numbered and committed.
    let last: i64 = on_exec!(&mut tx, c => sqlx::query_scalar(
        "UPDATE event_counter SET last = last WHERE id = 1 RETURNING last")
        .fetch_one(c)
        .await)?;
    // The oldest unnumbered events by position, numbered after `last` in that order, and
    // each after its subject's last number (row_number() counts within the batch).
    let numbered = on_exec!(&mut tx, c => sqlx::query(
        "UPDATE events SET sequence = numbered.sequence, subject_sequence = numbered.subject_sequence \
         FROM (SELECT pending.position, \
                 $1 + row_number() OVER (ORDER BY pending.position) AS sequence, \
                 COALESCE(subjects.last, 0) \
                   + row_number() OVER (PARTITION BY pending.subject ORDER BY pending.position) AS subject_sequence \
               FROM (SELECT position, subject FROM events WHERE sequence IS NULL ORDER BY position LIMIT $2) AS pending \
               LEFT JOIN event_subjects AS subjects ON subjects.subject = pending.subject) AS numbered \
         WHERE events.position = numbered.position")
        .bind(last)
        .bind(BATCH)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    if numbered == 0 {
        return Ok(0); // Rolled back: nothing was written.
    }
    let through = last + numbered as i64;
    on_exec!(&mut tx, c => sqlx::query(
        "INSERT INTO event_subjects (subject, last) \
         SELECT subject, MAX(subject_sequence) FROM events WHERE sequence > $1 AND sequence <= $2 GROUP BY subject \
         ON CONFLICT (subject) DO UPDATE SET last = excluded.last")
        .bind(last)
        .bind(through)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    on_exec!(&mut tx, c => sqlx::query("UPDATE event_counter SET last = $1 WHERE id = 1")
        .bind(through)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(numbered)
}

/// Deletes the events older than `cutoff` whose `sequence` is at most `through` (what
/// every consumer of the log is done with, see `crate::maintenance`); returns how many.
/// The per-subject counters stay, so a subject's `subjectsequence` never starts again.
pub async fn purge_before(
    ex: impl Into<Exec<'_>>,
    cutoff: DateTime<Utc>,
    through: i64,
) -> Result<u64, sqlx::Error> {
    on_exec!(ex, c => sqlx::query(
        "DELETE FROM events WHERE time < $1 AND sequence IS NOT NULL AND sequence <= $2")
        .bind(cutoff)
        .bind(through)
        .execute(c)
        .await.map(|r| r.rows_affected()))
}
