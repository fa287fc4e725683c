//! The channel's row in `event_channels`: how far it has published (`published_through`)
//! and which publisher holds its lease. Leases are taken with one conditional `UPDATE`,
//! like the mail outbox's claims: of several instances exactly one wins (PostgreSQL
//! re-checks the condition after waiting for the row lock; SQLite writes one at a time).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Db, Exec};
use crate::on_exec;

/// How long a publisher may go without renewing its lease before another instance may
/// take the channel over. A pass renews it before every batch, and a batch waits at most
/// a few acknowledgement timeouts, far less than this.
pub const LEASE: chrono::Duration = chrono::Duration::seconds(30);

/// Makes the channel's row (from sequence 0: every event kept is published) unless it
/// exists.
pub async fn ensure(db: &Db, name: &str) -> Result<(), sqlx::Error> {
    on_exec!(db.writer(), c => sqlx::query(
        "INSERT INTO event_channels (name, published_through) VALUES ($1, 0) \
         ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Takes or renews the lease of `name` for `owner` until `now + LEASE`, unless another
/// owner holds it; returns `published_through` when `owner` holds it now.
pub async fn lease(
    db: &Db,
    name: &str,
    owner: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<i64>, sqlx::Error> {
    on_exec!(db.writer(), c => sqlx::query_scalar(
        "UPDATE event_channels SET lease_owner = $2, lease_until = $3 \
         WHERE name = $1 AND (lease_owner = $2 OR lease_until IS NULL OR lease_until < $4) \
         RETURNING published_through")
        .bind(name)
        .bind(owner)
        .bind(now + LEASE)
        .bind(now)
        .fetch_optional(c)
        .await)
}

/// Records that every event up to `through` is published, if `owner` still holds the
/// lease; returns whether it did.
pub async fn advance(db: &Db, name: &str, owner: Uuid, through: i64) -> Result<bool, sqlx::Error> {
    let updated = on_exec!(db.writer(), c => sqlx::query(
        "UPDATE event_channels SET published_through = $3 WHERE name = $1 AND lease_owner = $2")
        .bind(name)
        .bind(owner)
        .bind(through)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(updated == 1)
}

/// Gives the lease up (the publisher stops), so that another instance takes over at once.
pub async fn release(db: &Db, name: &str, owner: Uuid) -> Result<(), sqlx::Error> {
    on_exec!(db.writer(), c => sqlx::query(
        "UPDATE event_channels SET lease_owner = NULL, lease_until = NULL \
         WHERE name = $1 AND lease_owner = $2")
        .bind(name)
        .bind(owner)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// How far channel `name` has published: its `published_through`, or 0 before its
/// publisher first ran (every event kept is still to go out).
pub async fn published_through(ex: impl Into<Exec<'_>>, name: &str) -> Result<i64, sqlx::Error> {
    let through: Option<i64> = on_exec!(ex, c => sqlx::query_scalar(
        "SELECT published_through FROM event_channels WHERE name = $1")
        .bind(name)
        .fetch_optional(c)
        .await)?;
    Ok(through.unwrap_or(0))
}

/// What waits to be published: how many events, and when the oldest of them happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    pub waiting: i64,
    pub oldest: Option<DateTime<Utc>>,
}

/// How many events were numbered after the channel's `published_through`, and that
/// sequence: one read, which tells an idle publisher that it has nothing to do.
pub async fn waiting(db: &Db, name: &str) -> Result<(i64, i64), sqlx::Error> {
    let (last, through): (i64, i64) = on_exec!(db, c => sqlx::query_as(
        "SELECT event_counter.last, event_channels.published_through \
         FROM event_counter, event_channels WHERE event_counter.id = 1 AND event_channels.name = $1")
        .bind(name)
        .fetch_one(c)
        .await)?;
    Ok(((last - through).max(0), through))
}

/// The events numbered after the channel's `published_through`.
pub async fn backlog(db: &Db, name: &str) -> Result<Backlog, sqlx::Error> {
    let (waiting, through) = waiting(db, name).await?;
    let oldest: Option<DateTime<Utc>> = on_exec!(db, c => sqlx::query_scalar(
        "SELECT time FROM events WHERE sequence > $1 ORDER BY sequence LIMIT 1")
        .bind(through)
        .fetch_optional(c)
        .await)?;
    Ok(Backlog { waiting, oldest })
}
