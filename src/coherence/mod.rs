//! The change feed that keeps every instance's authentication cache coherent.
//!
//! Database triggers (migration 0006; PostgreSQL's session triggers as migration 0008
//! redefined them) report each committed change that can make a cached session or
//! account stale: a session revoked or deleted, an account changed or deleted. Each
//! instance applies them to its `AuthCache`, and after every request that
//! may have written, [`ChangeFeed::sync`] waits until this instance *and every peer it
//! knows* has applied everything committed so far. So a logout, a revocation or a
//! deactivation is refused on the very next request on every instance, while reads need
//! no database round trip.
//!
//! How each engine carries the changes: `postgres.rs` (LISTEN/NOTIFY) and `sqlite.rs` (a
//! log table, polled); `registry.rs` holds what both share, `cache.rs` the cache itself.
//! The middleware that syncs after writes is `http::middleware::sync_after_writes`.
//!
//! Who waits for whom: every instance heartbeats into `instances`, reading the live
//! instances and then recording their ids as the peers it knows (and waits for). An
//! instance uses its cache only while (1) every live instance lists it, so any sync
//! anywhere waits for it, (2) its own registration is fresh, so nobody has given up on it,
//! and (3) its feed has recently proved it is keeping up (the lease). A peer that does not
//! acknowledge within the lease has stopped using its cache by then, so waiting at most
//! that long is always safe.

pub mod cache;
mod postgres;
mod registry;
mod sqlite;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::db::Db;
use cache::AuthCache;
use postgres::PgFeed;
use registry::{Shared, listed};
use sqlite::SqliteFeed;

pub use registry::LEASE;

const HEARTBEAT: Duration = Duration::from_millis(500);
/// Heartbeats between two housekeeping runs (a minute).
const TRIM_EVERY: u64 = 120;

/// Marks a response whose request is known to have changed nothing the cache holds
/// (a successful refresh-token rotation), so it need not wait for a sync.
#[derive(Debug, Clone, Copy)]
pub struct CacheUnaffected;

/// Marks the response of a safe-method request (a `GET` sign-out, a mail link's page)
/// that did change what the cache holds (revoked a session, changed an account), so it
/// waits for a sync like a write: the change holds on every instance from the very next
/// request on.
#[derive(Debug, Clone, Copy)]
pub struct CacheChanged;

pub struct ChangeFeed {
    shared: Arc<Shared>,
    kind: FeedKind,
    stop: CancellationToken,
}

enum FeedKind {
    Sqlite(Arc<SqliteFeed>),
    Postgres(Arc<PgFeed>),
}

impl Drop for ChangeFeed {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl ChangeFeed {
    /// Starts following the database's changes for `cache`.
    pub async fn start(db: &Db, cache: Arc<AuthCache>) -> anyhow::Result<Arc<ChangeFeed>> {
        let shared = Arc::new(Shared::new(cache));
        let stop = CancellationToken::new();
        let feed = match db {
            Db::Sqlite(pool, _) => {
                let sqlite = Arc::new(SqliteFeed::new(pool.clone()).await?);
                let feed = ChangeFeed {
                    shared: shared.clone(),
                    kind: FeedKind::Sqlite(sqlite.clone()),
                    stop: stop.clone(),
                };
                feed.heartbeat().await?;
                sqlite.catch_up(&shared).await?;
                SqliteFeed::spawn_poller(Arc::downgrade(&sqlite), Arc::downgrade(&shared), stop);
                feed
            }
            Db::Postgres(pool) => {
                let pg = Arc::new(PgFeed::new(pool.clone()));
                let listener = pg.listen().await?;
                let feed = ChangeFeed {
                    shared: shared.clone(),
                    kind: FeedKind::Postgres(pg.clone()),
                    stop: stop.clone(),
                };
                feed.heartbeat().await?;
                PgFeed::spawn_listener(&pg, Arc::downgrade(&shared), listener, stop);
                feed
            }
        };
        let feed = Arc::new(feed);
        spawn_heartbeat(&feed);
        Ok(feed)
    }

    /// Waits until this instance and every live peer have applied every change committed
    /// before the call, or until waiting longer cannot matter (see the module docs).
    pub async fn sync(&self) {
        let result = match &self.kind {
            FeedKind::Sqlite(feed) => feed.sync(&self.shared).await,
            FeedKind::Postgres(feed) => feed.sync(&self.shared).await,
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not sync the authentication cache");
            self.shared.cache.end_lease();
        }
    }

    /// How many other live instances this one knows.
    pub fn live_peers(&self) -> usize {
        self.shared.peers().len()
    }

    /// Reads the live instances, records them as this instance's peers, and checks that
    /// each of them lists this one.
    async fn heartbeat(&self) -> Result<(), sqlx::Error> {
        let instance = self.shared.instance;
        let rows = match &self.kind {
            FeedKind::Sqlite(feed) => feed.live_peers(instance).await?,
            FeedKind::Postgres(feed) => feed.live_peers(instance).await?,
        };
        let peers = listed(&rows);
        match &self.kind {
            FeedKind::Sqlite(feed) => feed.register(instance, &peers).await?,
            FeedKind::Postgres(feed) => feed.register(instance, &peers).await?,
        }
        self.shared.registered(&rows, Instant::now());
        Ok(())
    }

    /// Housekeeping done with the heartbeat: forget long-gone instances and old log rows.
    async fn trim(&self) -> Result<(), sqlx::Error> {
        match &self.kind {
            FeedKind::Sqlite(feed) => feed.trim().await,
            FeedKind::Postgres(feed) => feed.trim().await,
        }
    }
}

fn spawn_heartbeat(feed: &Arc<ChangeFeed>) {
    let weak = Arc::downgrade(feed);
    let stop = feed.stop.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(HEARTBEAT);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        let mut beats = 0u64;
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = ticker.tick() => {}
            }
            let Some(feed) = weak.upgrade() else { break };
            if let Err(e) = feed.heartbeat().await {
                tracing::debug!(error = %e, "change-feed heartbeat failed");
            }
            if let FeedKind::Postgres(pg) = &feed.kind {
                pg.send_own_heartbeat(feed.shared.instance).await;
            }
            beats += 1;
            if beats.is_multiple_of(TRIM_EVERY)
                && let Err(e) = feed.trim().await
            {
                tracing::debug!(error = %e, "change-feed housekeeping failed");
            }
        }
    });
}
