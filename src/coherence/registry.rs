//! What both engines' feeds share: this instance's id, its cache, and its view of the
//! `instances` table (who its peers are, and whether it may use its cache at all).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::cache::AuthCache;

/// How long a proof of keeping up is good for.
pub const LEASE: Duration = Duration::from_secs(2);
/// A peer not heard from for this long is gone (and no longer waited for).
pub const PEER_TIMEOUT: Duration = Duration::from_secs(3);
/// An instance whose last registration is older than this stops using its cache, well
/// before its peers give up on it.
pub const REGISTRATION_FRESH: Duration = Duration::from_secs(2);

/// A live instance as the `instances` table lists it.
#[derive(Debug, sqlx::FromRow)]
pub struct PeerRow {
    pub id: Uuid,
    /// The ids it waits for, comma-separated.
    pub known_peers: String,
}

/// The instance, its cache and its registration, shared by the feed and its tasks.
pub struct Shared {
    pub instance: Uuid,
    pub cache: Arc<AuthCache>,
    /// The live peers, as of the last heartbeat (the ones a sync waits for).
    peers: Mutex<Vec<Uuid>>,
    /// Every live peer listed this instance at the last heartbeat.
    known_by_all: AtomicBool,
    /// When this instance last wrote its heartbeat.
    registered: Mutex<Option<Instant>>,
}

impl Shared {
    pub fn new(cache: Arc<AuthCache>) -> Shared {
        Shared {
            instance: Uuid::now_v7(),
            cache,
            peers: Mutex::new(Vec::new()),
            known_by_all: AtomicBool::new(false),
            registered: Mutex::new(None),
        }
    }

    pub fn peers(&self) -> Vec<Uuid> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records a heartbeat that found `rows` alive; returns the ids to list as the peers
    /// this instance waits for. Ends the lease when a peer does not list this instance
    /// (it would not wait for it).
    pub fn registered(&self, rows: &[PeerRow], at: Instant) {
        let me = self.instance.to_string();
        let known_by_all = rows
            .iter()
            .all(|row| row.known_peers.split(',').any(|id| id == me));
        *self.peers.lock().unwrap_or_else(|p| p.into_inner()) =
            rows.iter().map(|row| row.id).collect();
        *self.registered.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
        self.known_by_all.store(known_by_all, Ordering::Release);
        if !known_by_all {
            self.cache.end_lease();
        }
    }

    /// The cache may be used only while every live peer lists this instance (so any sync
    /// anywhere waits for it) and its own registration is fresh (so nobody has given up
    /// on it).
    fn may_use_cache(&self, now: Instant) -> bool {
        let fresh = self
            .registered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|at| now.saturating_duration_since(at) < REGISTRATION_FRESH);
        fresh && self.known_by_all.load(Ordering::Acquire)
    }

    /// The feed proved at `observed` that it has applied every change committed before
    /// then: renews the cache's lease, if this instance may use its cache at all.
    pub fn proved_keeping_up(&self, observed: Instant) {
        if self.may_use_cache(Instant::now()) {
            self.cache.renew_lease(observed, LEASE);
        }
    }
}

/// The peer list as the `known_peers` column stores it.
pub fn listed(rows: &[PeerRow]) -> String {
    rows.iter()
        .map(|row| row.id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Shared {
        Shared::new(Arc::new(AuthCache::new(Duration::from_secs(900))))
    }

    #[test]
    fn the_cache_is_used_only_while_every_peer_lists_this_instance() {
        let feed = shared();
        let now = Instant::now();
        // Never registered: no lease.
        feed.proved_keeping_up(now);
        assert!(!feed.cache.is_coherent());
        // Alone: coherent as soon as the feed proves it keeps up.
        feed.registered(&[], now);
        feed.proved_keeping_up(now);
        assert!(feed.cache.is_coherent());
        // A peer that does not list this instance ends the lease at once.
        let stranger = PeerRow {
            id: Uuid::now_v7(),
            known_peers: Uuid::now_v7().to_string(),
        };
        feed.registered(&[stranger], now);
        assert!(!feed.cache.is_coherent());
        feed.proved_keeping_up(now);
        assert!(!feed.cache.is_coherent());
        // A peer that lists it: coherent again, and that peer is waited for.
        let friend = PeerRow {
            id: Uuid::now_v7(),
            known_peers: format!("{},{}", Uuid::now_v7(), feed.instance),
        };
        let friend_id = friend.id;
        feed.registered(&[friend], now);
        feed.proved_keeping_up(now);
        assert!(feed.cache.is_coherent());
        assert_eq!(feed.peers(), [friend_id]);
    }

    #[test]
    fn a_stale_registration_stops_the_cache_being_used() {
        let feed = shared();
        let long_ago = Instant::now() - REGISTRATION_FRESH - Duration::from_millis(10);
        feed.registered(&[], long_ago);
        assert!(!feed.may_use_cache(Instant::now()));
        assert!(feed.may_use_cache(long_ago));
    }

    #[test]
    fn peers_are_listed_comma_separated() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let rows = [
            PeerRow {
                id: a,
                known_peers: String::new(),
            },
            PeerRow {
                id: b,
                known_peers: String::new(),
            },
        ];
        assert_eq!(listed(&rows), format!("{a},{b}"));
        assert_eq!(listed(&[]), "");
    }
}
