//! The change feed that keeps every instance's authentication cache coherent.
//!
//! Database triggers (migration 0006; PostgreSQL's session triggers as migration 0008
//! redefined them) report each committed change that can make a cached session or
//! account stale: a session revoked or deleted, an account changed or deleted. Each
//! instance applies them to its [`AuthCache`], and after every request that
//! may have written, [`ChangeFeed::sync`] waits until this instance *and every peer it
//! knows* has applied everything committed so far. So a logout, a revocation or a
//! deactivation is refused on the very next request on every instance, while reads need
//! no database round trip.
//!
//! - PostgreSQL: the triggers `NOTIFY roster_changes` inside the writing transaction;
//!   notifications arrive at commit, in commit order. To sync, an instance notifies a
//!   marker after its commit: whoever receives the marker has applied everything committed
//!   before it, and acknowledges. An instance's own heartbeat coming back through the
//!   channel proves its listener is keeping up.
//! - SQLite: the triggers append to `cache_invalidations` (one writer at a time, so the
//!   sequence is commit order). Each instance polls the rows after the last it applied and
//!   records its progress in `instances`; to sync, it applies what is new and waits until
//!   every live peer's progress reaches it.
//!
//! Who waits for whom: every instance heartbeats into `instances`, reading the live
//! instances and then recording their ids as the peers it knows (and waits for). An
//! instance uses its cache only while (1) every live instance lists it, so any sync
//! anywhere waits for it, (2) its own registration is fresh, so nobody has given up on it,
//! and (3) its feed has recently proved it is keeping up (the lease). A peer that does not
//! acknowledge within the lease has stopped using its cache by then, so waiting at most
//! that long is always safe.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use sqlx::postgres::PgListener;
use sqlx::{PgPool, SqlitePool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Db;
use crate::app::AppState;
use crate::auth::cache::AuthCache;

/// How long a proof of keeping up is good for.
pub const LEASE: Duration = Duration::from_secs(2);
/// A peer not heard from for this long is gone (and no longer waited for).
const PEER_TIMEOUT: Duration = Duration::from_secs(3);
/// An instance whose last registration is older than this stops using its cache, well
/// before its peers give up on it.
const REGISTRATION_FRESH: Duration = Duration::from_secs(2);
const HEARTBEAT: Duration = Duration::from_millis(500);
const SQLITE_POLL: Duration = Duration::from_millis(25);
const CHANNEL: &str = "roster_changes";

/// Marks a response whose request is known to have changed nothing the cache holds
/// (a successful refresh-token rotation), so it need not wait for a sync.
#[derive(Debug, Clone, Copy)]
pub struct CacheUnaffected;

pub struct ChangeFeed {
    instance: Uuid,
    cache: Arc<AuthCache>,
    kind: FeedKind,
    registry: Registry,
    stop: CancellationToken,
}

enum FeedKind {
    Sqlite(SqliteFeed),
    Postgres(PgFeed),
}

/// This instance's view of the `instances` table.
#[derive(Default)]
struct Registry {
    /// The live peers, as of the last heartbeat (the ones a sync waits for).
    peers: Mutex<Vec<Uuid>>,
    /// Every live peer listed this instance at the last heartbeat.
    known_by_all: AtomicBool,
    /// When this instance last wrote its heartbeat.
    registered: Mutex<Option<Instant>>,
}

impl Registry {
    fn peers(&self) -> Vec<Uuid> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Conditions (1) and (2) of the module documentation.
    fn may_use_cache(&self) -> bool {
        let fresh = self
            .registered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|at| at.elapsed() < REGISTRATION_FRESH);
        fresh && self.known_by_all.load(Ordering::Acquire)
    }
}

#[derive(sqlx::FromRow)]
struct PeerRow {
    id: Uuid,
    known_peers: String,
}

impl Drop for ChangeFeed {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl ChangeFeed {
    /// Starts following the database's changes for `cache`.
    pub async fn start(db: &Db, cache: Arc<AuthCache>) -> anyhow::Result<Arc<ChangeFeed>> {
        let instance = Uuid::now_v7();
        let kind = match db {
            Db::Sqlite(pool, _) => FeedKind::Sqlite(SqliteFeed::new(pool.clone()).await?),
            Db::Postgres(pool) => FeedKind::Postgres(PgFeed::new(pool.clone())),
        };
        let feed = Arc::new(ChangeFeed {
            instance,
            cache,
            kind,
            registry: Registry::default(),
            stop: CancellationToken::new(),
        });
        match &feed.kind {
            FeedKind::Sqlite(_) => {
                feed.heartbeat().await?;
                feed.sqlite_catch_up().await?;
                spawn_sqlite_poller(&feed);
            }
            FeedKind::Postgres(pg) => {
                // Listen before registering: whoever commits after this instance is
                // listed reaches its listener.
                let mut listener = PgListener::connect_with(&pg.pool).await?;
                listener.listen(CHANNEL).await?;
                feed.heartbeat().await?;
                spawn_pg_listener(&feed, listener);
            }
        }
        spawn_heartbeat(&feed);
        Ok(feed)
    }

    /// Waits until this instance and every live peer have applied every change committed
    /// before the call, or until waiting longer cannot matter (see the module docs).
    pub async fn sync(&self) {
        let result = match &self.kind {
            FeedKind::Sqlite(_) => self.sqlite_sync().await,
            FeedKind::Postgres(_) => self.pg_sync().await,
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not sync the authentication cache");
            self.cache.end_lease();
        }
    }

    /// How many other live instances this one knows.
    pub fn live_peers(&self) -> usize {
        self.registry.peers().len()
    }

    /// Renews the cache's lease, if this instance may use its cache at all.
    fn proved_keeping_up(&self, observed: Instant) {
        if self.registry.may_use_cache() {
            self.cache.renew_lease(observed, LEASE);
        }
    }

    /// Reads the live instances, records them as this instance's peers, and checks that
    /// each of them lists this one.
    async fn heartbeat(&self) -> Result<(), sqlx::Error> {
        let (rows, applied) = match &self.kind {
            FeedKind::Sqlite(feed) => {
                let alive_since =
                    Utc::now() - chrono::Duration::from_std(PEER_TIMEOUT).unwrap_or_default();
                let rows: Vec<PeerRow> = sqlx::query_as(
                    "SELECT id, known_peers FROM instances WHERE id <> $1 AND heartbeat_at > $2",
                )
                .bind(self.instance)
                .bind(alive_since)
                .fetch_all(&feed.pool)
                .await?;
                (rows, feed.applied.load(Ordering::Acquire))
            }
            FeedKind::Postgres(feed) => {
                // The server's clock judges liveness, so host clocks cannot disagree.
                let rows: Vec<PeerRow> = sqlx::query_as(
                    "SELECT id, known_peers FROM instances WHERE id <> $1 AND heartbeat_at > clock_timestamp() - interval '3 seconds'",
                )
                .bind(self.instance)
                .fetch_all(&feed.pool)
                .await?;
                (rows, 0)
            }
        };
        let peers: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        let listed: String = peers
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(",");
        match &self.kind {
            FeedKind::Sqlite(feed) => {
                sqlx::query(
                    "INSERT INTO instances (id, heartbeat_at, processed_seq, known_peers) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (id) DO UPDATE SET heartbeat_at = $2, processed_seq = MAX(instances.processed_seq, $3), known_peers = $4",
                )
                .bind(self.instance)
                .bind(Utc::now())
                .bind(applied)
                .bind(&listed)
                .execute(&feed.pool)
                .await?;
            }
            FeedKind::Postgres(feed) => {
                sqlx::query(
                    "INSERT INTO instances (id, heartbeat_at, processed_seq, known_peers) VALUES ($1, clock_timestamp(), 0, $2) \
                     ON CONFLICT (id) DO UPDATE SET heartbeat_at = clock_timestamp(), known_peers = $2",
                )
                .bind(self.instance)
                .bind(&listed)
                .execute(&feed.pool)
                .await?;
            }
        }
        let me = self.instance.to_string();
        let known_by_all = rows
            .iter()
            .all(|row| row.known_peers.split(',').any(|id| id == me));
        *self
            .registry
            .peers
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = peers;
        *self
            .registry
            .registered
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        self.registry
            .known_by_all
            .store(known_by_all, Ordering::Release);
        if !known_by_all {
            // A peer that does not list this instance would not wait for it.
            self.cache.end_lease();
        }
        Ok(())
    }

    /// Housekeeping done with the heartbeat: forget long-gone instances and old log rows.
    async fn trim(&self) -> Result<(), sqlx::Error> {
        match &self.kind {
            FeedKind::Sqlite(feed) => {
                sqlx::query("DELETE FROM instances WHERE heartbeat_at < $1")
                    .bind(Utc::now() - chrono::Duration::hours(1))
                    .execute(&feed.pool)
                    .await?;
                sqlx::query("DELETE FROM cache_invalidations WHERE seq < (SELECT MAX(seq) FROM cache_invalidations) - 100000")
                    .execute(&feed.pool)
                    .await?;
            }
            FeedKind::Postgres(feed) => {
                sqlx::query("DELETE FROM instances WHERE heartbeat_at < clock_timestamp() - interval '1 hour'")
                    .execute(&feed.pool)
                    .await?;
            }
        }
        Ok(())
    }
}

/// After each request that may have written (any method but GET, HEAD and OPTIONS),
/// waits for the change feed to sync before the response goes out.
pub async fn sync_after_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let response = next.run(request).await;
    if writes && response.extensions().get::<CacheUnaffected>().is_none() {
        state.changes.sync().await;
    }
    response
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
                pg.send_own_heartbeat(feed.instance).await;
            }
            beats += 1;
            if beats % 120 == 0 {
                if let Err(e) = feed.trim().await {
                    tracing::debug!(error = %e, "change-feed housekeeping failed");
                }
            }
        }
    });
}

// ---------------------------------------------------------------- SQLite

struct SqliteFeed {
    pool: SqlitePool,
    /// The last applied sequence number.
    applied: AtomicI64,
    /// Serialises applying, so `applied` only moves forward over applied rows.
    applying: tokio::sync::Mutex<()>,
}

impl SqliteFeed {
    async fn new(pool: SqlitePool) -> anyhow::Result<SqliteFeed> {
        // Start at the end of the log: the cache starts empty.
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM cache_invalidations")
            .fetch_one(&pool)
            .await?;
        Ok(SqliteFeed {
            pool,
            applied: AtomicI64::new(last),
            applying: tokio::sync::Mutex::new(()),
        })
    }
}

#[derive(sqlx::FromRow)]
struct Invalidation {
    seq: i64,
    user_id: Option<Uuid>,
    session_id: Option<Uuid>,
}

impl ChangeFeed {
    fn sqlite(&self) -> &SqliteFeed {
        match &self.kind {
            FeedKind::Sqlite(feed) => feed,
            FeedKind::Postgres(_) => unreachable!("SQLite feed operation on a PostgreSQL feed"),
        }
    }

    /// Applies the log rows after the last applied one; renews the lease.
    async fn sqlite_catch_up(&self) -> Result<i64, sqlx::Error> {
        const BATCH: usize = 10_000;
        let feed = self.sqlite();
        let started = Instant::now();
        let _applying = feed.applying.lock().await;
        let after = feed.applied.load(Ordering::Acquire);
        let rows: Vec<Invalidation> =
            sqlx::query_as("SELECT seq, user_id, session_id FROM cache_invalidations WHERE seq > $1 ORDER BY seq LIMIT 10000")
                .bind(after)
                .fetch_all(&feed.pool)
                .await?;
        if rows.first().is_some_and(|row| row.seq > after + 1) {
            // Rows were trimmed before this instance read them.
            self.cache.clear();
        }
        for row in &rows {
            if let Some(session_id) = row.session_id {
                self.cache.invalidate_session(session_id);
            }
            if let Some(user_id) = row.user_id {
                self.cache.invalidate_user(user_id);
            }
        }
        let last = rows.last().map_or(after, |row| row.seq);
        feed.applied.store(last, Ordering::Release);
        if rows.len() < BATCH {
            self.proved_keeping_up(started);
        }
        if last > after && !self.registry.peers().is_empty() {
            sqlx::query(
                "UPDATE instances SET processed_seq = MAX(processed_seq, $2) WHERE id = $1",
            )
            .bind(self.instance)
            .bind(last)
            .execute(&feed.pool)
            .await?;
        }
        Ok(last)
    }

    async fn sqlite_sync(&self) -> anyhow::Result<()> {
        let target = self.sqlite_catch_up().await?;
        if self.registry.peers().is_empty() {
            return Ok(());
        }
        let deadline = Instant::now() + LEASE;
        while Instant::now() < deadline {
            let alive_since =
                Utc::now() - chrono::Duration::from_std(PEER_TIMEOUT).unwrap_or_default();
            let behind: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM instances WHERE id <> $1 AND heartbeat_at > $2 AND processed_seq < $3")
                    .bind(self.instance)
                    .bind(alive_since)
                    .bind(target)
                    .fetch_one(&self.sqlite().pool)
                    .await?;
            if behind == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    }
}

fn spawn_sqlite_poller(feed: &Arc<ChangeFeed>) {
    let weak = Arc::downgrade(feed);
    let stop = feed.stop.clone();
    tokio::spawn(async move {
        let mut poll = tokio::time::interval(SQLITE_POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = poll.tick() => {}
            }
            let Some(feed) = weak.upgrade() else { break };
            if let Err(e) = feed.sqlite_catch_up().await {
                tracing::debug!(error = %e, "reading the change feed failed");
            }
        }
    });
}

// ---------------------------------------------------------------- PostgreSQL

struct PgFeed {
    pool: PgPool,
    next_nonce: AtomicU64,
    /// Own heartbeats in flight through the channel: nonce -> when sent.
    heartbeats: Mutex<std::collections::HashMap<u64, Instant>>,
    /// Syncs in flight: nonce -> who still has to acknowledge.
    syncs: Mutex<std::collections::HashMap<u64, Arc<SyncWait>>>,
    listening: AtomicBool,
}

struct SyncWait {
    /// Still waiting for: `None` stands for this instance's own listener.
    pending: Mutex<HashSet<Option<Uuid>>>,
    done: Notify,
}

impl PgFeed {
    fn new(pool: PgPool) -> PgFeed {
        PgFeed {
            pool,
            next_nonce: AtomicU64::new(1),
            heartbeats: Mutex::new(Default::default()),
            syncs: Mutex::new(Default::default()),
            listening: AtomicBool::new(false),
        }
    }

    async fn notify(&self, payload: String) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A heartbeat through the channel; receiving it back renews the lease.
    async fn send_own_heartbeat(&self, instance: Uuid) {
        let nonce = self.next_nonce.fetch_add(1, Ordering::AcqRel);
        {
            let mut sent = self.heartbeats.lock().unwrap_or_else(|p| p.into_inner());
            sent.retain(|_, at| at.elapsed() < LEASE);
            sent.insert(nonce, Instant::now());
        }
        if let Err(e) = self.notify(format!("h {instance} {nonce}")).await {
            tracing::debug!(error = %e, "change-feed heartbeat notification failed");
        }
    }
}

impl ChangeFeed {
    fn pg(&self) -> &PgFeed {
        match &self.kind {
            FeedKind::Postgres(feed) => feed,
            FeedKind::Sqlite(_) => unreachable!("PostgreSQL feed operation on a SQLite feed"),
        }
    }

    fn pg_handle(self: &Arc<Self>, payload: &str) {
        let mut parts = payload.split(' ');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("i"), Some("s"), Some(id), None) => match Uuid::parse_str(id) {
                Ok(id) => self.cache.invalidate_session(id),
                Err(_) => self.cache.clear(),
            },
            (Some("i"), Some("u"), Some(id), None) => match Uuid::parse_str(id) {
                Ok(id) => self.cache.invalidate_user(id),
                Err(_) => self.cache.clear(),
            },
            (Some("h"), Some(origin), Some(nonce), None) => {
                let (Ok(origin), Ok(nonce)) = (Uuid::parse_str(origin), nonce.parse::<u64>())
                else {
                    return;
                };
                if origin == self.instance {
                    let sent = self
                        .pg()
                        .heartbeats
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&nonce);
                    if let Some(sent) = sent {
                        self.proved_keeping_up(sent);
                    }
                }
            }
            (Some("m"), Some(origin), Some(nonce), None) => {
                let (Ok(origin), Ok(nonce)) = (Uuid::parse_str(origin), nonce.parse::<u64>())
                else {
                    return;
                };
                if origin == self.instance {
                    self.pg_acknowledged(nonce, None);
                } else {
                    let feed = Arc::clone(self);
                    tokio::spawn(async move {
                        let ack = format!("a {origin} {nonce} {}", feed.instance);
                        if let Err(e) = feed.pg().notify(ack).await {
                            tracing::debug!(error = %e, "could not acknowledge a sync");
                        }
                    });
                }
            }
            (Some("a"), Some(origin), Some(nonce), Some(acker)) => {
                let (Ok(origin), Ok(nonce), Ok(acker)) = (
                    Uuid::parse_str(origin),
                    nonce.parse::<u64>(),
                    Uuid::parse_str(acker),
                ) else {
                    return;
                };
                if origin == self.instance {
                    self.pg_acknowledged(nonce, Some(acker));
                }
            }
            _ => tracing::debug!(payload, "ignoring an unknown change-feed message"),
        }
    }

    fn pg_acknowledged(&self, nonce: u64, by: Option<Uuid>) {
        let wait = self
            .pg()
            .syncs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&nonce)
            .cloned();
        if let Some(wait) = wait {
            let mut pending = wait.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.remove(&by);
            if pending.is_empty() {
                wait.done.notify_one();
            }
        }
    }

    async fn pg_sync(&self) -> anyhow::Result<()> {
        let feed = self.pg();
        if !feed.listening.load(Ordering::Acquire) {
            anyhow::bail!("the change-feed listener is not connected");
        }
        let nonce = feed.next_nonce.fetch_add(1, Ordering::AcqRel);
        let mut pending: HashSet<Option<Uuid>> =
            self.registry.peers().into_iter().map(Some).collect();
        pending.insert(None);
        let wait = Arc::new(SyncWait {
            pending: Mutex::new(pending),
            done: Notify::new(),
        });
        feed.syncs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(nonce, wait.clone());
        let outcome = async {
            feed.notify(format!("m {} {nonce}", self.instance)).await?;
            let _ = tokio::time::timeout(LEASE, wait.done.notified()).await;
            Ok::<_, sqlx::Error>(())
        }
        .await;
        feed.syncs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&nonce);
        outcome?;
        if wait
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&None)
        {
            anyhow::bail!(
                "this instance's listener did not see its own sync marker within the lease"
            );
        }
        Ok(())
    }
}

fn spawn_pg_listener(feed: &Arc<ChangeFeed>, listener: PgListener) {
    let weak = Arc::downgrade(feed);
    let stop = feed.stop.clone();
    let pool = feed.pg().pool.clone();
    feed.pg().listening.store(true, Ordering::Release);
    tokio::spawn(async move {
        let mut listener = Some(listener);
        loop {
            let Some(active) = listener.as_mut() else {
                // Reconnect after a failure, unless the pool is gone.
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
                if pool.is_closed() {
                    break;
                }
                match PgListener::connect_with(&pool).await {
                    Ok(mut fresh) => match fresh.listen(CHANNEL).await {
                        Ok(()) => listener = Some(fresh),
                        Err(e) => {
                            tracing::debug!(error = %e, "change-feed listener could not LISTEN")
                        }
                    },
                    Err(e) => tracing::debug!(error = %e, "change-feed listener could not connect"),
                }
                continue;
            };
            let message = tokio::select! {
                () = stop.cancelled() => break,
                message = active.try_recv() => message,
            };
            let Some(feed) = weak.upgrade() else { break };
            match message {
                Ok(Some(notification)) => {
                    feed.pg().listening.store(true, Ordering::Release);
                    feed.pg_handle(notification.payload());
                }
                Ok(None) => {
                    // The connection dropped (it reconnects on the next call): changes may
                    // have been missed meanwhile.
                    tracing::warn!("change-feed listener lost its connection; reconnecting");
                    feed.pg().listening.store(false, Ordering::Release);
                    feed.cache.end_lease();
                }
                Err(e) => {
                    feed.pg().listening.store(false, Ordering::Release);
                    feed.cache.end_lease();
                    // Let go of the connection it holds (a closing pool waits for it).
                    listener = None;
                    if matches!(e, sqlx::Error::PoolClosed) {
                        break;
                    }
                    tracing::warn!(error = %e, "change-feed listener failed; reconnecting");
                }
            }
        }
    });
}
