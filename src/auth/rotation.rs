//! Refresh-token rotations, gathered into batches.
//!
//! A rotation is one statement (see [`rotate_all`]), but on SQLite every statement
//! that writes waits its turn for the one writing connection, and each turn is two
//! thread hand-offs (to the connection's thread and back) and a commit. Under load
//! those turns, not the work inside them, set the pace: at 32 concurrent refreshes the
//! writer's thread was busy a third of the time and the machine a third idle. So
//! rotations go through one queue: a batch is every rotation that arrived while the
//! previous batch ran (at most [`MAX_BATCH`]), rotated by one statement in one turn
//! with one commit. A lone request runs at once, as a batch of one; nothing waits for
//! a batch to fill. PostgreSQL gets the same statement, with two batches in flight,
//! and saves a round trip and a commit per rotation.
//!
//! A batch runs in its own task, so a request that is cancelled after queueing never
//! leaves a statement half-sent; a request whose client has gone before its batch
//! starts is left out (its token stays unused).

use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use crate::clock::Clock;
use crate::crypto::{random_token, token_hash};
use crate::db::{Db, Exec};
use crate::error::ApiError;
use crate::on_exec;

/// Most rotations in one statement (three bound values each).
pub const MAX_BATCH: usize = 32;

/// How many requests may wait for a batch before new ones wait to queue.
const QUEUE_CAPACITY: usize = 4096;

/// A successor to issue for a presented refresh token.
#[derive(Debug)]
pub struct Successor {
    id: Uuid,
    token: String,
    hash: Vec<u8>,
    presented_hash: Vec<u8>,
}

impl Successor {
    /// A fresh random successor for the token `presented`.
    pub fn for_token(presented: &str) -> Successor {
        let token = random_token();
        Successor {
            id: Uuid::now_v7(),
            hash: token_hash(&token),
            token,
            presented_hash: token_hash(presented),
        }
    }
}

/// A rotation that happened: the successor token and whose it is.
#[derive(Debug, sqlx::FromRow)]
pub struct Rotation {
    /// The successor's hash, which says which presented token this row answers.
    token_hash: Vec<u8>,
    pub session_id: Uuid,
    pub user_id: Uuid,
    /// The account's `updated_at` when the rotation ran.
    pub user_updated_at: DateTime<Utc>,
    #[sqlx(skip)]
    pub refresh_token: String,
    /// When the successor (and its session) expires.
    #[sqlx(skip)]
    pub expires_at: DateTime<Utc>,
}

/// The rotation statement for 1 to [`MAX_BATCH`] tokens, built once.
static STATEMENTS: LazyLock<Vec<String>> =
    LazyLock::new(|| (1..=MAX_BATCH).map(rotation_statement).collect());

/// Issues the successor of every presented token that is unused and unexpired, whose
/// session is live and whose account is active: `$1` is now, `$2` the successors'
/// expiry, then (id, hash, presented hash) per token. The trigger of migration 0007
/// marks each predecessor used and slides its session's expiry, and the unique index on
/// `rotated_from` turns a second rotation of one token (a concurrent request, or the
/// same token twice in one batch) into a conflict: nothing inserted for it.
///
/// The presented tokens are found first, by hash, in a materialised CTE: both planners
/// then reach them through the hash index whatever their statistics say. As a plain
/// join, PostgreSQL (statistics from when the table was smaller) scanned the sessions
/// and combined each session's tokens with every unexpired token (a `BitmapAnd` over
/// two indexes: 12 ms for a batch of 26, growing with the table), and SQLite 3.51
/// scanned the live tokens by expiry and probed the `VALUES` through a bloom filter.
fn rotation_statement(count: usize) -> String {
    let rows: Vec<String> = (0..count)
        .map(|i| format!("(${}, ${}, ${})", 3 * i + 3, 3 * i + 4, 3 * i + 5))
        .collect();
    let presented: Vec<String> = (0..count).map(|i| format!("${}", 3 * i + 5)).collect();
    format!(
        "WITH presented AS MATERIALIZED ( \
             SELECT id, session_id, token_hash FROM refresh_tokens \
              WHERE token_hash IN ({}) AND used_at IS NULL AND expires_at > $1) \
         INSERT INTO refresh_tokens (id, session_id, token_hash, rotated_from, created_at, expires_at) \
         SELECT v.column1, p.session_id, v.column2, p.id, $1, $2 \
           FROM (VALUES {}) AS v CROSS JOIN presented p \
           JOIN sessions s ON s.id = p.session_id JOIN users u ON u.id = s.user_id \
          WHERE p.token_hash = v.column3 \
            AND s.revoked_at IS NULL AND s.expires_at > $1 AND u.is_active \
         ON CONFLICT (rotated_from) DO NOTHING \
         RETURNING token_hash, session_id, \
           (SELECT user_id FROM sessions WHERE id = refresh_tokens.session_id) AS user_id, \
           (SELECT u.updated_at FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = refresh_tokens.session_id) AS user_updated_at",
        presented.join(", "),
        rows.join(", ")
    )
}

/// Rotates every token in `successors` (at most [`MAX_BATCH`]) in one statement; the
/// answer holds, in `successors`' order, the rotation of each token that rotated.
pub async fn rotate_all(
    ex: impl Into<Exec<'_>>,
    successors: &[Successor],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Vec<Option<Rotation>>, sqlx::Error> {
    assert!(
        (1..=MAX_BATCH).contains(&successors.len()),
        "a rotation batch holds 1 to {MAX_BATCH} tokens"
    );
    let statement: &'static str = STATEMENTS[successors.len() - 1].as_str();
    let rows = on_exec!(ex, c => {
        let mut query = sqlx::query_as::<_, Rotation>(statement).bind(now).bind(expires_at);
        for successor in successors {
            query = query
                .bind(successor.id)
                .bind(&successor.hash)
                .bind(&successor.presented_hash);
        }
        query.fetch_all(c).await
    })?;
    let mut answers: Vec<Option<Rotation>> = successors.iter().map(|_| None).collect();
    for row in rows {
        if let Some(i) = successors.iter().position(|s| s.hash == row.token_hash) {
            answers[i] = Some(Rotation {
                refresh_token: successors[i].token.clone(),
                expires_at,
                ..row
            });
        }
    }
    Ok(answers)
}

/// What a queued rotation hears back: its rotation, none (the caller finds out why),
/// or why the batch failed.
type Answer = Result<Option<Rotation>, Arc<sqlx::Error>>;

struct Queued {
    successor: Successor,
    answer: oneshot::Sender<Answer>,
}

/// The queue of rotations and the task that runs them in batches.
pub struct RotationQueue {
    queue: mpsc::Sender<Queued>,
}

impl RotationQueue {
    /// Starts the batching task on `db`; it ends when the queue is dropped.
    pub fn start(db: Db, clock: Arc<dyn Clock>, ttl: chrono::Duration) -> RotationQueue {
        let (queue, waiting) = mpsc::channel(QUEUE_CAPACITY);
        // One writing connection on SQLite; on PostgreSQL a second batch fills while
        // the first is on the server.
        let in_flight = match db {
            Db::Sqlite(..) => 1,
            Db::Postgres(_) => 2,
        };
        tokio::spawn(run_batches(db, clock, ttl, waiting, in_flight));
        RotationQueue { queue }
    }

    /// Rotates the refresh token `presented` with the next batch. `None` when it did
    /// not rotate: unknown, used, expired, its session over or its account inactive.
    pub async fn rotate(&self, presented: &str) -> Result<Option<Rotation>, ApiError> {
        let (answer, answered) = oneshot::channel();
        let queued = Queued {
            successor: Successor::for_token(presented),
            answer,
        };
        let stopped = || ApiError::Unavailable("the service is shutting down".to_owned());
        self.queue.send(queued).await.map_err(|_| stopped())?;
        match answered.await {
            Ok(Ok(rotation)) => Ok(rotation),
            Ok(Err(e)) => Err(ApiError::from(&*e)),
            Err(_) => Err(stopped()),
        }
    }
}

async fn run_batches(
    db: Db,
    clock: Arc<dyn Clock>,
    ttl: chrono::Duration,
    mut waiting: mpsc::Receiver<Queued>,
    in_flight: usize,
) {
    let slots = Arc::new(Semaphore::new(in_flight));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if waiting.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        // Nobody is listening for these any more: leave their tokens as they are.
        batch.retain(|queued| !queued.answer.is_closed());
        if batch.is_empty() {
            continue;
        }
        let (db, clock) = (db.clone(), clock.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let now = clock.now();
            let (successors, listeners): (Vec<Successor>, Vec<_>) =
                batch.into_iter().map(|q| (q.successor, q.answer)).unzip();
            match rotate_all(db.writer(), &successors, now, now + ttl).await {
                Ok(rotations) => {
                    for (listener, rotation) in listeners.into_iter().zip(rotations) {
                        let _ = listener.send(Ok(rotation));
                    }
                }
                Err(e) => {
                    let e = Arc::new(e);
                    for listener in listeners {
                        let _ = listener.send(Err(e.clone()));
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_number_three_values_per_token_after_now_and_expiry() {
        let two = rotation_statement(2);
        assert!(two.contains("(VALUES ($3, $4, $5), ($6, $7, $8)) AS v"));
        assert!(two.contains("token_hash IN ($5, $8)"));
        assert!(!two.contains("$9"));
        assert_eq!(STATEMENTS.len(), MAX_BATCH);
        let last = MAX_BATCH * 3 + 2;
        assert!(STATEMENTS[MAX_BATCH - 1].contains(&format!("${last})")));
    }
}
