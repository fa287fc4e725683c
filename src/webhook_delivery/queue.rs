//! The `webhook_deliveries` table: claiming due deliveries with a lease, recording
//! outcomes, and what administrators see and ask for (list, retry, redrive).
//!
//! Statuses: `pending` (never attempted, or made due again by an administrator),
//! `failed` (attempted, waiting for its next try), `delivered`, `dead` (retry schedule
//! spent). A `dead` delivery no longer holds its subject back on an ordered endpoint:
//! otherwise one poisoned event would block an account's later events for good; a
//! redrive sends it late.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{Db, Exec, Tx};
use crate::on_exec;

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";
pub const DEAD: &str = "dead";
pub const STATUSES: [&str; 4] = [PENDING, DELIVERED, FAILED, DEAD];

/// A delivery one sender holds the lease of.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    /// This attempt's number (1 for the first).
    pub attempts: i32,
    pub subject: String,
    pub sequence: i64,
    /// Whether later deliveries of its subject may be sent right after it, from the
    /// same claim ([`claim_followers`]): it is the head of its subject on an ordered
    /// endpoint, never attempted (a retried head is sent alone: it will likely fail
    /// again), and another delivery of the subject is due.
    pub leads: bool,
}

/// Claims up to `limit` due deliveries for `owner` until `now + lease`, counting the
/// attempt: those pending or failed, due, not leased, of an enabled endpoint, and on an
/// ordered endpoint the lowest sequence of their subject not yet delivered or dead.
/// On PostgreSQL rows another instance is claiming are skipped (`SKIP LOCKED`); SQLite
/// has one writer, which runs the statement alone.
pub async fn claim(
    db: &Db,
    owner: Uuid,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let lock = match db {
        Db::Postgres(_) => " FOR UPDATE OF d SKIP LOCKED",
        Db::Sqlite(..) => "",
    };
    let sql = format!(
        "UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
         WHERE (webhook_id, event_id) IN ( \
           SELECT d.webhook_id, d.event_id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
           WHERE w.enabled AND d.status IN ('pending', 'failed') AND d.next_attempt_at <= $3 \
           AND (d.lease_until IS NULL OR d.lease_until < $3) \
           AND (NOT w.ordered OR NOT EXISTS ( \
             SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id AND e.subject = d.subject \
             AND e.sequence < d.sequence AND e.status IN ('pending', 'failed'))) \
           ORDER BY d.next_attempt_at, d.sequence LIMIT $4{lock}) \
         RETURNING webhook_id, event_id, attempts, subject, sequence, \
           status = 'pending' AND EXISTS ( \
             SELECT 1 FROM webhooks w JOIN webhook_deliveries e ON e.webhook_id = w.id \
             WHERE w.id = webhook_deliveries.webhook_id AND w.ordered \
             AND e.subject = webhook_deliveries.subject AND e.sequence > webhook_deliveries.sequence \
             AND e.status = 'pending' AND e.next_attempt_at <= $3) AS leads"
    );
    on_exec!(db.writer(), c => sqlx::query_as::<_, Claimed>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(owner)
        .bind(now + lease)
        .bind(now)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// The most deliveries of one subject a sender sends from one claim, one after another
/// (a run: a head and up to `RUN - 1` followers).
pub const RUN: usize = 32;
/// A sequence beyond any: the bound of a run with fewer than `RUN - 1` waiting behind
/// its head.
const NO_BOUND: i64 = 9_000_000_000_000_000_000;
/// Whether delivery `{t}` may go now: pending (a failed one waits for its retry), due,
/// and not leased.
const READY: &str = "({t}.status = 'pending' AND {t}.next_attempt_at <= $3 \
    AND ({t}.lease_until IS NULL OR {t}.lease_until < $3))";

/// Claims for `owner`, with the attempt counted, the deliveries that follow each of
/// `heads` (claimed just before, each [`Claimed::leads`]) in its subject: the pending,
/// due, unleased ones right after it in sequence order, up to the first that is not
/// (waiting for a retry, leased) and at most `RUN - 1`. No other sender can take them
/// meanwhile: on an ordered endpoint only a subject's head is claimed, and the head is
/// leased here. The sender sends them after their head, in order, and gives back those
/// it did not try ([`release`]).
pub async fn claim_followers(
    db: &Db,
    owner: Uuid,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    heads: &[&Claimed],
) -> Result<Vec<Claimed>, sqlx::Error> {
    if heads.is_empty() {
        return Ok(Vec::new());
    }
    let led: Vec<String> = (0..heads.len())
        .map(|n| {
            format!(
                "(h.webhook_id = ${} AND h.event_id = ${})",
                2 * n + 4,
                2 * n + 5
            )
        })
        .collect();
    // Per head: `upto`, its (RUN - 1)th waiting delivery after it (or none), and `stop`,
    // the first waiting one up to there that cannot go now (a retry's wait, a lease);
    // the run is what lies between the head and `stop`. Each bound is one short scan of
    // the subject's index, whatever the subject's backlog (a test on each candidate
    // instead cost 44 ms with 5,000 waiting on PostgreSQL, against 0.4 ms). The fences
    // (`OFFSET 0`) keep the planner from folding the per-head bounds into the join,
    // where, without statistics, PostgreSQL evaluated them for every candidate and
    // every row they scan (a claim ran for minutes with 1,400 deliveries).
    let fence = match db {
        Db::Postgres(_) => " OFFSET 0",
        Db::Sqlite(..) => " LIMIT -1 OFFSET 0",
    };
    let sql = format!(
        "UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
         WHERE status = 'pending' AND (lease_until IS NULL OR lease_until < $3) AND (webhook_id, event_id) IN ( \
           SELECT f.webhook_id, f.event_id FROM ( \
             SELECT r.webhook_id, r.subject, r.after, COALESCE(( \
               SELECT MIN(e.sequence) FROM webhook_deliveries e WHERE e.webhook_id = r.webhook_id \
               AND e.subject = r.subject AND e.sequence > r.after AND e.sequence <= r.upto \
               AND e.status IN ('pending', 'failed') AND NOT {ready}), r.upto + 1) AS stop \
             FROM ( \
               SELECT h.webhook_id, h.subject, h.sequence AS after, COALESCE(( \
                 SELECT e.sequence FROM webhook_deliveries e WHERE e.webhook_id = h.webhook_id \
                 AND e.subject = h.subject AND e.sequence > h.sequence AND e.status IN ('pending', 'failed') \
                 ORDER BY e.sequence LIMIT 1 OFFSET {offset}), {NO_BOUND}) AS upto \
               FROM webhook_deliveries h WHERE ({led}) AND h.lease_owner = $1{fence}) AS r{fence}) AS s \
           JOIN webhook_deliveries f ON f.webhook_id = s.webhook_id AND f.subject = s.subject \
             AND f.sequence > s.after AND f.sequence < s.stop \
           WHERE f.status IN ('pending', 'failed') AND {ready_f}) \
         RETURNING webhook_id, event_id, attempts, subject, sequence, FALSE AS leads",
        ready = READY.replace("{t}", "e"),
        ready_f = READY.replace("{t}", "f"),
        offset = RUN - 2,
        led = led.join(" OR "),
    );
    on_exec!(db.writer(), c => {
        let mut query = sqlx::query_as::<_, Claimed>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(owner)
            .bind(now + lease)
            .bind(now);
        for head in heads {
            query = query.bind(head.webhook_id).bind(head.event_id);
        }
        query.fetch_all(c).await
    })
}

/// Each claimed head with the followers claimed after it, in sequence order, and the
/// followers whose head is not among `heads` (none in practice: each was claimed
/// through its head), which are to be given back.
pub fn assemble(heads: Vec<Claimed>, followers: Vec<Claimed>) -> (Vec<Vec<Claimed>>, Vec<Claimed>) {
    let mut runs: Vec<Vec<Claimed>> = heads.into_iter().map(|head| vec![head]).collect();
    let leading: HashMap<(Uuid, String), usize> = runs
        .iter()
        .enumerate()
        .filter(|(_, run)| run[0].leads)
        .map(|(n, run)| ((run[0].webhook_id, run[0].subject.clone()), n))
        .collect();
    let mut orphans = Vec::new();
    for follower in followers {
        match leading.get(&(follower.webhook_id, follower.subject.clone())) {
            Some(&n) => runs[n].push(follower),
            None => orphans.push(follower),
        }
    }
    for run in &mut runs {
        run.sort_by_key(|delivery| delivery.sequence);
    }
    (runs, orphans)
}

/// Gives back deliveries `owner` claimed and did not try (the rest of a run after a
/// failure): the lease ends and the attempt is no longer counted.
pub async fn release(db: &Db, owner: Uuid, untried: &[Claimed]) -> Result<u64, sqlx::Error> {
    if untried.is_empty() {
        return Ok(0);
    }
    let held: Vec<String> = (0..untried.len())
        .map(|n| {
            format!(
                "(webhook_id = ${} AND event_id = ${} AND attempts = ${})",
                3 * n + 2,
                3 * n + 3,
                3 * n + 4
            )
        })
        .collect();
    let sql = format!(
        "UPDATE webhook_deliveries SET lease_owner = NULL, lease_until = NULL, attempts = attempts - 1 \
         WHERE lease_owner = $1 AND ({})",
        held.join(" OR ")
    );
    on_exec!(db.writer(), c => {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(owner);
        for claimed in untried {
            query = query.bind(claimed.webhook_id).bind(claimed.event_id).bind(claimed.attempts);
        }
        query.execute(c).await.map(|r| r.rows_affected())
    })
}

/// Refreshes PostgreSQL's statistics of the deliveries table (see the worker's
/// `keep_statistics_fresh`); nothing on SQLite.
pub async fn analyze(db: &Db) -> Result<(), sqlx::Error> {
    if let Db::Postgres(pool) = db {
        sqlx::query("ANALYZE webhook_deliveries")
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Extends to `until` the leases `owner` holds on `deliveries` (webhook and event ids),
/// the ones its requests are still waiting on; returns how many it still held.
pub async fn renew(
    db: &Db,
    owner: Uuid,
    deliveries: &[(Uuid, Uuid)],
    until: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    if deliveries.is_empty() {
        return Ok(0);
    }
    let held: Vec<String> = (0..deliveries.len())
        .map(|n| {
            format!(
                "(webhook_id = ${} AND event_id = ${})",
                2 * n + 3,
                2 * n + 4
            )
        })
        .collect();
    let sql = format!(
        "UPDATE webhook_deliveries SET lease_until = $2 WHERE lease_owner = $1 AND ({})",
        held.join(" OR ")
    );
    on_exec!(db.writer(), c => {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(owner).bind(until);
        for (webhook_id, event_id) in deliveries {
            query = query.bind(*webhook_id).bind(*event_id);
        }
        query.execute(c).await.map(|r| r.rows_affected())
    })
}

/// What happened to one attempt, as stored.
#[derive(Debug, Clone)]
pub struct Recorded<'a> {
    pub status: &'static str,
    pub status_code: Option<u16>,
    pub error: Option<&'a str>,
    pub next_attempt_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// What became of the lease when its outcome was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// The lease was lost meanwhile (taken over after it expired, or the delivery
    /// retried by an administrator): whoever holds it now records.
    Lost,
    /// Recorded, and the lease ended. Read about the endpoint in the same statement:
    /// `failing`, whether its failing clock runs (`failing_since` is set), so a success
    /// knows whether it has a clock to stop without a write of its own; `enabled`,
    /// whether it is still enabled, so a run stops when an administrator disabled it.
    Ended { failing: bool, enabled: bool },
}

/// Records the outcome of `claimed` and ends its lease.
pub async fn record(
    ex: impl Into<Exec<'_>>,
    claimed: &Claimed,
    owner: Uuid,
    outcome: &Recorded<'_>,
) -> Result<Lease, sqlx::Error> {
    let delivered_at = (outcome.status == DELIVERED).then_some(outcome.now);
    let endpoint: Option<(Option<bool>, Option<bool>)> = on_exec!(ex, c => sqlx::query_as(
        "UPDATE webhook_deliveries SET status = $5, last_status_code = $6, last_error = $7, \
         next_attempt_at = $8, delivered_at = COALESCE($9, delivered_at), lease_owner = NULL, lease_until = NULL \
         WHERE webhook_id = $1 AND event_id = $2 AND lease_owner = $3 AND attempts = $4 \
         RETURNING (SELECT w.failing_since IS NOT NULL FROM webhooks w WHERE w.id = webhook_deliveries.webhook_id), \
           (SELECT w.enabled FROM webhooks w WHERE w.id = webhook_deliveries.webhook_id)")
        .bind(claimed.webhook_id)
        .bind(claimed.event_id)
        .bind(owner)
        .bind(claimed.attempts)
        .bind(outcome.status)
        .bind(outcome.status_code.map(i32::from))
        .bind(outcome.error)
        .bind(outcome.next_attempt_at)
        .bind(delivered_at)
        .fetch_optional(c)
        .await)?;
    Ok(match endpoint {
        None => Lease::Lost,
        Some((failing, enabled)) => Lease::Ended {
            failing: failing.unwrap_or(false),
            enabled: enabled.unwrap_or(false),
        },
    })
}

/// One delivery as administrators see it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct DeliveryItem {
    pub event_id: Uuid,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    #[schema(example = "user.updated")]
    pub kind: String,
    /// `pending`, `delivered`, `failed` or `dead`.
    #[schema(example = "failed")]
    pub status: String,
    /// Attempts made (a retry or redrive starts the count again).
    pub attempts: i32,
    /// The HTTP status of the last answer; null when none came.
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed (never a secret or the body).
    pub last_error: Option<String>,
    /// When it is tried next (pending and failed ones).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub sequence: i64,
}

const ITEM: &str = "SELECT event_id, type, status, attempts, last_status_code, last_error, \
    CASE WHEN status IN ('pending', 'failed') THEN next_attempt_at END AS next_attempt_at, delivered_at, sequence \
    FROM webhook_deliveries";

/// Up to `limit + 1` deliveries of endpoint `webhook_id` with `status` (any when
/// `None`), newest event first, before sequence `before`.
pub async fn list(
    db: &Db,
    webhook_id: Uuid,
    status: Option<&str>,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<DeliveryItem>, sqlx::Error> {
    let sql = format!(
        "{ITEM} WHERE webhook_id = $1 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR sequence < $3) \
         ORDER BY sequence DESC LIMIT $4"
    );
    on_exec!(db, c => sqlx::query_as::<_, DeliveryItem>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(webhook_id)
        .bind(status)
        .bind(before)
        .bind(i64::from(limit) + 1)
        .fetch_all(c)
        .await)
}

/// Makes one delivery pending now with a fresh retry schedule (also a delivered one:
/// it is sent again); `None` when the endpoint has no delivery of that event.
pub async fn retry(
    tx: &mut Tx,
    webhook_id: Uuid,
    event_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<DeliveryItem>, sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $3 \
         WHERE webhook_id = $1 AND event_id = $2")
        .bind(webhook_id)
        .bind(event_id)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let sql = format!("{ITEM} WHERE webhook_id = $1 AND event_id = $2");
    on_exec!(&mut *tx, c => sqlx::query_as::<_, DeliveryItem>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(webhook_id)
        .bind(event_id)
        .fetch_optional(c)
        .await)
}

/// Makes every dead delivery of the endpoint pending now; returns how many.
pub async fn redrive(
    tx: &mut Tx,
    webhook_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $2 \
         WHERE webhook_id = $1 AND status = 'dead'")
        .bind(webhook_id)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))
}

/// Makes the waiting deliveries of an endpoint due now (it was just enabled again).
pub async fn due_now(
    tx: &mut Tx,
    webhook_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query(
        "UPDATE webhook_deliveries SET next_attempt_at = $2 \
         WHERE webhook_id = $1 AND status IN ('pending', 'failed') AND next_attempt_at > $2")
        .bind(webhook_id)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))
}

/// How many deliveries wait (pending or failed), and when the oldest was made.
pub async fn backlog(db: &Db) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
    on_exec!(db, c => sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at) FROM webhook_deliveries WHERE status IN ('pending', 'failed')")
        .fetch_one(c)
        .await)
}

/// The sequence through which the endpoints are done with the log: every endpoint has
/// fanned it out, and no delivery up to it waits (pending or failed); `None` without
/// endpoints or deliveries. Events after it must be kept whatever their age.
pub async fn done_through(ex: impl Into<Exec<'_>>) -> Result<Option<i64>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_scalar(
        "SELECT MIN(through) FROM ( \
           SELECT MIN(fanned_out_through) AS through FROM webhooks \
           UNION ALL \
           SELECT MIN(sequence) - 1 AS through FROM webhook_deliveries WHERE status IN ('pending', 'failed') \
         ) AS marks")
        .fetch_one(c)
        .await)
}

/// Deletes the delivered and dead deliveries of the events older than `cutoff` up to
/// sequence `through` (they go with their events, at `EVENT_RETENTION_DAYS`); returns
/// how many. Deliveries still waiting are never deleted here.
pub async fn purge_before(
    ex: impl Into<Exec<'_>>,
    cutoff: DateTime<Utc>,
    through: i64,
) -> Result<u64, sqlx::Error> {
    on_exec!(ex, c => sqlx::query(
        "DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'dead') AND sequence <= $2 \
         AND event_id IN (SELECT id FROM events WHERE time < $1 AND sequence IS NOT NULL AND sequence <= $2)")
        .bind(cutoff)
        .bind(through)
        .execute(c)
        .await.map(|r| r.rows_affected()))
}
