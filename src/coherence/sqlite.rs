//! The SQLite feed. The triggers of migration 0006 append to `cache_invalidations`; SQLite
//! commits one writer at a time, so the sequence is commit order. Each instance polls the
//! rows after the last it applied and records its progress in `instances`; to sync, it
//! applies what is new and waits until every live peer's progress reaches it.

use std::sync::Weak;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::SqlitePool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::registry::{LEASE, PEER_TIMEOUT, PeerRow, Shared};

const POLL: Duration = Duration::from_millis(25);
/// Log rows applied per query.
const BATCH: usize = 10_000;
/// Log rows kept behind the newest (peers far behind clear their caches instead).
const KEEP: i64 = 100_000;

pub struct SqliteFeed {
    pool: SqlitePool,
    /// The last applied sequence number.
    applied: AtomicI64,
    /// Serialises applying, so `applied` only moves forward over applied rows.
    applying: tokio::sync::Mutex<()>,
}

#[derive(sqlx::FromRow)]
struct Invalidation {
    seq: i64,
    user_id: Option<Uuid>,
    session_id: Option<Uuid>,
}

impl SqliteFeed {
    /// A feed starting at the end of the log (the cache starts empty).
    pub async fn new(pool: SqlitePool) -> anyhow::Result<SqliteFeed> {
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM cache_invalidations")
            .fetch_one(&pool)
            .await?;
        Ok(SqliteFeed {
            pool,
            applied: AtomicI64::new(last),
            applying: tokio::sync::Mutex::new(()),
        })
    }

    /// The other instances that heartbeat within [`PEER_TIMEOUT`].
    pub async fn live_peers(&self, instance: Uuid) -> Result<Vec<PeerRow>, sqlx::Error> {
        let alive_since = Utc::now() - chrono::Duration::from_std(PEER_TIMEOUT).unwrap_or_default();
        sqlx::query_as("SELECT id, known_peers FROM instances WHERE id <> $1 AND heartbeat_at > $2")
            .bind(instance)
            .bind(alive_since)
            .fetch_all(&self.pool)
            .await
    }

    /// Writes this instance's heartbeat, its progress and the peers it waits for.
    pub async fn register(&self, instance: Uuid, listed: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO instances (id, heartbeat_at, processed_seq, known_peers) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = $2, processed_seq = MAX(instances.processed_seq, $3), known_peers = $4",
        )
        .bind(instance)
        .bind(Utc::now())
        .bind(self.applied.load(Ordering::Acquire))
        .bind(listed)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets instances gone for an hour and log rows far behind the newest.
    pub async fn trim(&self) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM instances WHERE heartbeat_at < $1")
            .bind(Utc::now() - chrono::Duration::hours(1))
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM cache_invalidations WHERE seq < (SELECT MAX(seq) FROM cache_invalidations) - $1")
            .bind(KEEP)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Applies the log rows after the last applied one to the cache; renews the lease.
    pub async fn catch_up(&self, shared: &Shared) -> Result<i64, sqlx::Error> {
        let started = Instant::now();
        let _applying = self.applying.lock().await;
        let after = self.applied.load(Ordering::Acquire);
        let rows: Vec<Invalidation> = sqlx::query_as(
            "SELECT seq, user_id, session_id FROM cache_invalidations WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(BATCH as i64)
        .fetch_all(&self.pool)
        .await?;
        if rows.first().is_some_and(|row| row.seq > after + 1) {
            // Rows were trimmed before this instance read them.
            shared.cache.clear();
        }
        for row in &rows {
            if let Some(session_id) = row.session_id {
                shared.cache.invalidate_session(session_id);
            }
            if let Some(user_id) = row.user_id {
                shared.cache.invalidate_user(user_id);
            }
        }
        let last = rows.last().map_or(after, |row| row.seq);
        self.applied.store(last, Ordering::Release);
        if rows.len() < BATCH {
            shared.proved_keeping_up(started);
        }
        if last > after && !shared.peers().is_empty() {
            sqlx::query(
                "UPDATE instances SET processed_seq = MAX(processed_seq, $2) WHERE id = $1",
            )
            .bind(shared.instance)
            .bind(last)
            .execute(&self.pool)
            .await?;
        }
        Ok(last)
    }

    /// Applies what is new, then waits (at most the lease) until every live peer has too.
    pub async fn sync(&self, shared: &Shared) -> anyhow::Result<()> {
        let target = self.catch_up(shared).await?;
        if shared.peers().is_empty() {
            return Ok(());
        }
        let deadline = Instant::now() + LEASE;
        while Instant::now() < deadline {
            let alive_since =
                Utc::now() - chrono::Duration::from_std(PEER_TIMEOUT).unwrap_or_default();
            let behind: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM instances WHERE id <> $1 AND heartbeat_at > $2 AND processed_seq < $3",
            )
            .bind(shared.instance)
            .bind(alive_since)
            .bind(target)
            .fetch_one(&self.pool)
            .await?;
            if behind == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    }

    /// Polls the log every 25 ms until `stop`, or until the feed is gone.
    pub fn spawn_poller(feed: Weak<SqliteFeed>, shared: Weak<Shared>, stop: CancellationToken) {
        tokio::spawn(async move {
            let mut poll = tokio::time::interval(POLL);
            poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = poll.tick() => {}
                }
                let (Some(feed), Some(shared)) = (feed.upgrade(), shared.upgrade()) else {
                    break;
                };
                if let Err(e) = feed.catch_up(&shared).await {
                    tracing::debug!(error = %e, "reading the change feed failed");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::accounts::model::{Role, Tier, User};
    use crate::coherence::cache::AuthCache;

    async fn pool() -> SqlitePool {
        // One connection: every connection to `:memory:` is a database of its own.
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE cache_invalidations (seq INTEGER PRIMARY KEY AUTOINCREMENT, user_id BLOB, session_id BLOB);
             CREATE TABLE instances (id BLOB PRIMARY KEY, heartbeat_at TEXT NOT NULL, processed_seq INTEGER NOT NULL, known_peers TEXT NOT NULL);",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool
    }

    fn user(id: Uuid) -> User {
        let now = Utc::now();
        User {
            id,
            username: "u".into(),
            email: "u@example.com".into(),
            full_name: None,
            role: Role::User,
            tier: Tier::Basic,
            is_active: true,
            email_verified: false,
            pending_email: None,
            locale: None,
            created_at: now,
            updated_at: now,
            last_login_at: None,
        }
    }

    #[tokio::test]
    async fn committed_invalidations_reach_the_cache_and_the_lease_is_renewed() {
        let pool = pool().await;
        let shared = Shared::new(Arc::new(AuthCache::new(Duration::from_secs(900))));
        let feed = SqliteFeed::new(pool.clone()).await.unwrap();
        shared.registered(&[], Instant::now());
        feed.catch_up(&shared).await.unwrap();
        assert!(shared.cache.is_coherent());
        let (session, account) = (Uuid::now_v7(), Uuid::now_v7());
        let generation = shared.cache.generation();
        shared.cache.fill(
            generation,
            session,
            &user(account),
            Utc::now() + chrono::Duration::hours(1),
        );
        assert!(
            shared
                .cache
                .session_user(session, account, Utc::now())
                .is_some()
        );
        sqlx::query("INSERT INTO cache_invalidations (session_id) VALUES ($1)")
            .bind(session)
            .execute(&pool)
            .await
            .unwrap();
        let applied = feed.catch_up(&shared).await.unwrap();
        assert_eq!(applied, 1);
        assert!(
            shared
                .cache
                .session_user(session, account, Utc::now())
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_gap_in_the_log_clears_the_cache() {
        let pool = pool().await;
        let shared = Shared::new(Arc::new(AuthCache::new(Duration::from_secs(900))));
        let feed = SqliteFeed::new(pool.clone()).await.unwrap();
        shared.registered(&[], Instant::now());
        feed.catch_up(&shared).await.unwrap();
        let (session, account) = (Uuid::now_v7(), Uuid::now_v7());
        shared.cache.fill(
            shared.cache.generation(),
            session,
            &user(account),
            Utc::now() + chrono::Duration::hours(1),
        );
        // Rows 1 and 2 were trimmed before this instance read them.
        sqlx::query("INSERT INTO cache_invalidations (seq, user_id) VALUES (3, $1)")
            .bind(Uuid::now_v7())
            .execute(&pool)
            .await
            .unwrap();
        feed.catch_up(&shared).await.unwrap();
        assert!(shared.cache.user(account).is_none());
    }
}
