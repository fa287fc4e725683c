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
//! a batch to fill. PostgreSQL saves a round trip and a commit per rotation the same
//! way, and gets a set-based statement of its own (`POSTGRES_STATEMENT`), which
//! slides the sessions once per batch, not once per token.
//!
//! One batch is in flight at a time on both engines. PostgreSQL once had two, so that a
//! second batch filled while the first was on the server; that halved the batches,
//! and the per-batch costs (commit, protocol, executor start) outweighed the wait. In
//! an alternating probe (32 connections, 10 s, 7 pairs) one batch in flight was faster
//! in every pair, by 3 to 37 %, and PostgreSQL's CPU per rotation fell by a fifth.
//!
//! Batches run in the queue's own task, so a request that is cancelled after queueing
//! never leaves a statement half-sent; a request whose client has gone before its batch
//! starts is left out (its token stays unused).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::clock::Clock;
use crate::crypto::token_hash;
use crate::db::{Db, Exec};
use crate::error::ApiError;
use crate::on_exec;

/// Most rotations in one statement (three bound values each).
pub const MAX_BATCH: usize = 32;

/// How many requests may wait for a batch before new ones wait to queue.
const QUEUE_CAPACITY: usize = 4096;

/// The server-side key from which a refresh token's successor is derived.
///
/// A successor is `HMAC-SHA256(key, SHA-256(presented token))`, base64url: 256 bits that
/// nobody without the key can compute, and that the service can compute again. So a
/// token presented twice (two tabs, a retried request whose answer was lost) is answered
/// with the very successor the first presentation issued, while only hashes are stored
/// and a rotation still writes one row. Derived from the stored hash rather than the
/// token, a successor can also be issued where only the hash is at hand (a
/// re-authentication renews the session's current token). The key is derived from
/// `ENCRYPTION_KEY`, which every instance of one deployment shares, under a label of its
/// own.
#[derive(Clone)]
pub struct SuccessorKey(Hmac<Sha256>);

impl std::fmt::Debug for SuccessorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SuccessorKey(<redacted>)")
    }
}

impl SuccessorKey {
    pub fn derive(encryption_key: &[u8; 32]) -> SuccessorKey {
        let mut label = <Hmac<Sha256> as KeyInit>::new_from_slice(encryption_key)
            .expect("HMAC takes keys of any length");
        label.update(b"roster: refresh-token successors, v1");
        let key = label.finalize().into_bytes();
        SuccessorKey(
            <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("HMAC takes keys of any length"),
        )
    }

    /// The successor of the refresh token whose stored hash is `presented_hash`.
    pub fn successor_of(&self, presented_hash: &[u8]) -> String {
        let mut mac = self.0.clone();
        mac.update(presented_hash);
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

/// A successor to issue for a presented refresh token.
#[derive(Debug)]
pub struct Successor {
    id: Uuid,
    token: String,
    hash: Vec<u8>,
    presented_hash: Vec<u8>,
}

impl Successor {
    /// The successor of the token `presented` (see [`SuccessorKey`]).
    pub fn for_token(key: &SuccessorKey, presented: &str) -> Successor {
        let presented_hash = token_hash(presented);
        let token = key.successor_of(&presented_hash);
        Successor {
            id: Uuid::now_v7(),
            hash: token_hash(&token),
            token,
            presented_hash,
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
    /// When and how the session's user last authenticated (`sessions.auth_time`, `amr`).
    pub auth_time: DateTime<Utc>,
    pub amr: String,
    /// The OpenID client the session was issued to, and the scope it was granted.
    pub client_id: Option<String>,
    pub scope: Option<String>,
    #[sqlx(skip)]
    pub refresh_token: String,
    /// When the successor (and its session) expires.
    #[sqlx(skip)]
    pub expires_at: DateTime<Utc>,
}

/// SQLite's rotation statement for 1 to [`MAX_BATCH`] tokens, built once.
static SQLITE_STATEMENTS: LazyLock<Vec<String>> =
    LazyLock::new(|| (1..=MAX_BATCH).map(sqlite_rotation_statement).collect());

/// SQLite: issues the successor of every presented token that is unused and unexpired,
/// whose session is live and whose account is active: `$1` is now, `$2` the successors'
/// expiry, then (id, hash, presented hash) per token. A token is used once it has a
/// successor: the unique index on `rotated_from` turns a second rotation of one token (a
/// concurrent request, a used token presented again, or the same token twice in one
/// batch) into a conflict, and nothing is inserted for it; so does the unique index on
/// `token_hash`, as a successor is the same whoever derives it (see [`SuccessorKey`]),
/// hence `ON CONFLICT` without a target. The trigger (migration 0009)
/// slides each new successor's session expiry. `used_at IS NULL` only honours the marks
/// of versions before migration 0009, which wrote them.
///
/// The presented tokens are found first, by hash, in a materialised CTE: the planner
/// then reaches them through the hash index whatever its statistics say (as a plain
/// join, SQLite 3.51 scanned the live tokens by expiry and probed the `VALUES` through a
/// bloom filter).
fn sqlite_rotation_statement(count: usize) -> String {
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
         ON CONFLICT DO NOTHING \
         RETURNING token_hash, session_id, \
           (SELECT user_id FROM sessions WHERE id = refresh_tokens.session_id) AS user_id, \
           (SELECT u.updated_at FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = refresh_tokens.session_id) AS user_updated_at, \
           (SELECT COALESCE(auth_time, created_at) FROM sessions WHERE id = refresh_tokens.session_id) AS auth_time, \
           (SELECT amr FROM sessions WHERE id = refresh_tokens.session_id) AS amr, \
           (SELECT client_id FROM sessions WHERE id = refresh_tokens.session_id) AS client_id, \
           (SELECT scope FROM sessions WHERE id = refresh_tokens.session_id) AS scope",
        presented.join(", "),
        rows.join(", ")
    )
}

/// PostgreSQL: the same rotation for any number of tokens, as one set-based statement:
/// `$1` is now, `$2` the successors' expiry, `$3`, `$4`, `$5` the successors' ids, their
/// hashes and the presented hashes, as arrays. A data-modifying CTE slides the sessions
/// once per batch, where migration 0007's row trigger ran two statements per token
/// (migration 0008 removed it); one text serves every batch size, prepared once per
/// connection and plan generation (see [`POSTGRES_STATEMENTS`]). A token is used once it
/// has a successor (migration 0009): a second rotation of one token (a concurrent batch,
/// a used token presented again, or the token twice in one batch) conflicts on
/// `rotated_from` (and on `token_hash`: the successor is the same) and inserts nothing,
/// so it slides nothing either. Not writing `used_at`
/// into the predecessor as well saves a second heap row and index entries per token.
///
/// The presented tokens are found first, by their hash and nothing else, in a
/// materialised CTE; their state, sessions and accounts are checked after that. A
/// prepared statement runs on a generic plan, made with the statistics of the moment:
/// with the expiry also in the first step, a plan made while the table held about 200
/// tokens read every unexpired token through `refresh_tokens_expires` once the flood
/// had added some ten thousand (8.5 ms per batch instead of 0.5). With the sessions joined in the first
/// step, PostgreSQL scanned the sessions and combined each one's tokens with the
/// presented ones (a `BitmapAnd` over two indexes per session).
const POSTGRES_STATEMENT: &str = "\
WITH presented AS MATERIALIZED ( \
    SELECT id, session_id, token_hash, used_at, expires_at FROM refresh_tokens \
     WHERE token_hash = ANY($5)), \
live AS MATERIALIZED ( \
    SELECT p.id, p.session_id, p.token_hash, s.user_id, u.updated_at, \
           COALESCE(s.auth_time, s.created_at) AS auth_time, s.amr, s.client_id, s.scope \
      FROM presented p JOIN sessions s ON s.id = p.session_id JOIN users u ON u.id = s.user_id \
     WHERE p.used_at IS NULL AND p.expires_at > $1 \
       AND s.revoked_at IS NULL AND s.expires_at > $1 AND u.is_active), \
inserted AS ( \
    INSERT INTO refresh_tokens (id, session_id, token_hash, rotated_from, created_at, expires_at) \
    SELECT v.id, p.session_id, v.hash, p.id, $1, $2 \
      FROM unnest($3::uuid[], $4::bytea[], $5::bytea[]) AS v(id, hash, presented) \
      JOIN live p ON p.token_hash = v.presented \
    ON CONFLICT DO NOTHING \
    RETURNING token_hash, session_id, rotated_from), \
slid AS ( \
    UPDATE sessions SET last_used_at = $1, expires_at = $2 \
     WHERE id IN (SELECT session_id FROM inserted)) \
SELECT i.token_hash, i.session_id, p.user_id, p.updated_at AS user_updated_at, p.auth_time, p.amr, \
       p.client_id, p.scope \
  FROM inserted i JOIN live p ON p.id = i.rotated_from";

/// The first re-planning comes after this many rotations by this process; each later
/// one after twice as many as the one before, up to [`LAST_PLAN`].
const FIRST_REPLAN_AFTER: u64 = 1024;
const LAST_PLAN: usize = 16;

/// [`POSTGRES_STATEMENT`] once per plan generation, told apart by a trailing comment.
///
/// PostgreSQL plans a prepared statement with the statistics of the moment, and after
/// five executions keeps a generic plan until the tables' statistics change (ANALYZE,
/// which autovacuum runs at most once a minute). A table that grows from empty under
/// load, as on a new deployment or in the benchmark, keeps a plan made for a few hundred
/// tokens: a sequential scan of `refresh_tokens` took 10.5 of a batch's 13.6 ms at
/// 12,000 tokens, against 0.5 ms with the index. So this process re-prepares the
/// statement each time its count of rotations doubles past [`FIRST_REPLAN_AFTER`]: a
/// new text is a new prepared statement, planned afresh; sqlx's statement cache closes
/// the old ones as they age out.
static POSTGRES_STATEMENTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    (0..=LAST_PLAN)
        .map(|generation| format!("{POSTGRES_STATEMENT} /* plan {generation} */"))
        .collect()
});

/// Rotations sent to PostgreSQL by this process.
static POSTGRES_ROTATIONS: AtomicU64 = AtomicU64::new(0);

/// Which plan generation serves the statement after `rotations` rotations.
fn plan_generation(rotations: u64) -> usize {
    let doublings = 64 - (rotations / FIRST_REPLAN_AFTER).leading_zeros() as usize;
    doublings.min(LAST_PLAN)
}

async fn rotate_on_postgres(
    c: &mut sqlx::PgConnection,
    successors: &[Successor],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Vec<Rotation>, sqlx::Error> {
    let done = POSTGRES_ROTATIONS.fetch_add(successors.len() as u64, Ordering::Relaxed);
    let statement: &'static str = POSTGRES_STATEMENTS[plan_generation(done)].as_str();
    let ids: Vec<Uuid> = successors.iter().map(|s| s.id).collect();
    let hashes: Vec<&[u8]> = successors.iter().map(|s| s.hash.as_slice()).collect();
    let presented: Vec<&[u8]> = successors
        .iter()
        .map(|s| s.presented_hash.as_slice())
        .collect();
    sqlx::query_as::<_, Rotation>(statement)
        .bind(now)
        .bind(expires_at)
        .bind(ids)
        .bind(hashes)
        .bind(presented)
        .fetch_all(c)
        .await
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
    let rows = match ex.into() {
        Exec::PgPool(pool) => {
            rotate_on_postgres(&mut *pool.acquire().await?, successors, now, expires_at).await
        }
        Exec::Postgres(c) => rotate_on_postgres(c, successors, now, expires_at).await,
        sqlite => {
            let statement: &'static str = SQLITE_STATEMENTS[successors.len() - 1].as_str();
            on_exec!(sqlite, c => {
                let mut query = sqlx::query_as::<_, Rotation>(statement).bind(now).bind(expires_at);
                for successor in successors {
                    query = query
                        .bind(successor.id)
                        .bind(&successor.hash)
                        .bind(&successor.presented_hash);
                }
                query.fetch_all(c).await
            })
        }
    }?;
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
    key: SuccessorKey,
}

impl RotationQueue {
    /// Starts the batching task on `db`; it ends when the queue is dropped.
    pub fn start(
        db: Db,
        clock: Arc<dyn Clock>,
        ttl: chrono::Duration,
        key: SuccessorKey,
    ) -> RotationQueue {
        let (queue, waiting) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run_batches(db, clock, ttl, waiting));
        RotationQueue { queue, key }
    }

    /// The key successors are derived under.
    pub fn key(&self) -> &SuccessorKey {
        &self.key
    }

    /// Rotates the refresh token `presented` with the next batch. `None` when it did
    /// not rotate: unknown, used (also by a concurrent request in the same batch),
    /// expired, its session over or its account inactive.
    pub async fn rotate(&self, presented: &str) -> Result<Option<Rotation>, ApiError> {
        let (answer, answered) = oneshot::channel();
        let queued = Queued {
            successor: Successor::for_token(&self.key, presented),
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
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        if waiting.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        // Nobody is listening for these any more: leave their tokens as they are.
        batch.retain(|queued| !queued.answer.is_closed());
        if batch.is_empty() {
            continue;
        }
        let now = clock.now();
        let (successors, listeners): (Vec<Successor>, Vec<_>) =
            batch.drain(..).map(|q| (q.successor, q.answer)).unzip();
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_successor_is_the_same_each_time_and_depends_on_token_and_key() {
        let key = SuccessorKey::derive(&[7; 32]);
        let presented = token_hash("presented");
        let successor = key.successor_of(&presented);
        assert_eq!(successor, key.successor_of(&presented));
        assert_eq!(successor.len(), 43, "256 bits, base64url without padding");
        assert_ne!(successor, key.successor_of(&token_hash("presentee")));
        assert_ne!(
            successor,
            SuccessorKey::derive(&[8; 32]).successor_of(&presented)
        );
        assert_eq!(
            Successor::for_token(&key, "presented").token,
            successor,
            "a rotation issues the derived successor"
        );
        // The key is not the encryption key itself.
        let direct = <Hmac<Sha256> as KeyInit>::new_from_slice(&[7; 32])
            .unwrap()
            .chain_update(&presented)
            .finalize()
            .into_bytes();
        assert_ne!(successor, URL_SAFE_NO_PAD.encode(direct));
        assert_eq!(format!("{key:?}"), "SuccessorKey(<redacted>)");
    }

    #[test]
    fn statements_number_three_values_per_token_after_now_and_expiry() {
        let two = sqlite_rotation_statement(2);
        assert!(two.contains("(VALUES ($3, $4, $5), ($6, $7, $8)) AS v"));
        assert!(two.contains("token_hash IN ($5, $8)"));
        assert!(!two.contains("$9"));
        assert_eq!(SQLITE_STATEMENTS.len(), MAX_BATCH);
        let last = MAX_BATCH * 3 + 2;
        assert!(SQLITE_STATEMENTS[MAX_BATCH - 1].contains(&format!("${last})")));
    }

    #[test]
    fn postgres_plans_are_made_again_each_time_the_rotations_double() {
        assert_eq!(plan_generation(0), 0);
        assert_eq!(plan_generation(FIRST_REPLAN_AFTER - 1), 0);
        assert_eq!(plan_generation(FIRST_REPLAN_AFTER), 1);
        assert_eq!(plan_generation(2 * FIRST_REPLAN_AFTER - 1), 1);
        assert_eq!(plan_generation(2 * FIRST_REPLAN_AFTER), 2);
        assert_eq!(plan_generation(4 * FIRST_REPLAN_AFTER), 3);
        assert_eq!(plan_generation(u64::MAX), LAST_PLAN);
        let texts: std::collections::HashSet<&String> = POSTGRES_STATEMENTS.iter().collect();
        assert_eq!(texts.len(), LAST_PLAN + 1);
    }
}
