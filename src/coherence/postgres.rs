//! The PostgreSQL feed. The triggers (migration 0006, the session triggers as 0008
//! redefined them) `NOTIFY roster_changes` inside the writing transaction; notifications
//! arrive at commit, in commit order. To sync, an instance notifies a marker after its
//! commit: whoever receives the marker has applied everything committed before it, and
//! acknowledges. An instance's own heartbeat coming back through the channel proves its
//! listener is keeping up. The server's clock judges liveness, so host clocks cannot
//! disagree.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::registry::{LEASE, PeerRow, Shared};

const CHANNEL: &str = "roster_changes";

pub struct PgFeed {
    pool: PgPool,
    next_nonce: AtomicU64,
    /// Own heartbeats in flight through the channel: nonce -> when sent.
    heartbeats: Mutex<HashMap<u64, Instant>>,
    /// Syncs in flight: nonce -> who still has to acknowledge.
    syncs: Mutex<HashMap<u64, Arc<SyncWait>>>,
    listening: AtomicBool,
}

struct SyncWait {
    /// Still waiting for: `None` stands for this instance's own listener.
    pending: Mutex<HashSet<Option<Uuid>>>,
    done: Notify,
}

/// A message on the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message {
    /// `i s <id>`: a session was revoked or deleted.
    SessionChanged(Uuid),
    /// `i u <id>`: an account changed or was deleted.
    UserChanged(Uuid),
    /// `i ...` that does not parse: something changed, nobody knows what.
    Unreadable,
    /// `h <instance> <nonce>`: an instance's heartbeat through the channel.
    Heartbeat { origin: Uuid, nonce: u64 },
    /// `m <instance> <nonce>`: a sync marker, sent after the origin's commit.
    Marker { origin: Uuid, nonce: u64 },
    /// `a <origin> <nonce> <acker>`: `acker` has applied everything before the marker.
    Acknowledged {
        origin: Uuid,
        nonce: u64,
        acker: Uuid,
    },
}

fn parse(payload: &str) -> Option<Message> {
    let mut parts = payload.split(' ');
    let id = |text: Option<&str>| text.and_then(|t| Uuid::parse_str(t).ok());
    let nonce = |text: Option<&str>| text.and_then(|t| t.parse::<u64>().ok());
    let message = match (parts.next()?, parts.next(), parts.next(), parts.next()) {
        ("i", Some("s"), Some(raw), None) => {
            id(Some(raw)).map_or(Message::Unreadable, Message::SessionChanged)
        }
        ("i", Some("u"), Some(raw), None) => {
            id(Some(raw)).map_or(Message::Unreadable, Message::UserChanged)
        }
        ("h", origin, count, None) => Message::Heartbeat {
            origin: id(origin)?,
            nonce: nonce(count)?,
        },
        ("m", origin, count, None) => Message::Marker {
            origin: id(origin)?,
            nonce: nonce(count)?,
        },
        ("a", origin, count, acker) => Message::Acknowledged {
            origin: id(origin)?,
            nonce: nonce(count)?,
            acker: id(acker)?,
        },
        _ => return None,
    };
    Some(message)
}

impl PgFeed {
    pub fn new(pool: PgPool) -> PgFeed {
        PgFeed {
            pool,
            next_nonce: AtomicU64::new(1),
            heartbeats: Mutex::new(HashMap::new()),
            syncs: Mutex::new(HashMap::new()),
            listening: AtomicBool::new(false),
        }
    }

    /// Listens on the channel (before registering: whoever commits after this instance is
    /// listed then reaches its listener).
    pub async fn listen(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }

    /// The other instances that heartbeat within the last 3 seconds, by the server's clock.
    pub async fn live_peers(&self, instance: Uuid) -> Result<Vec<PeerRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, known_peers FROM instances WHERE id <> $1 AND heartbeat_at > clock_timestamp() - interval '3 seconds'",
        )
        .bind(instance)
        .fetch_all(&self.pool)
        .await
    }

    /// Writes this instance's heartbeat and the peers it waits for.
    pub async fn register(&self, instance: Uuid, listed: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO instances (id, heartbeat_at, processed_seq, known_peers) VALUES ($1, clock_timestamp(), 0, $2) \
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = clock_timestamp(), known_peers = $2",
        )
        .bind(instance)
        .bind(listed)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets instances gone for an hour.
    pub async fn trim(&self) -> Result<(), sqlx::Error> {
        sqlx::query(
            "DELETE FROM instances WHERE heartbeat_at < clock_timestamp() - interval '1 hour'",
        )
        .execute(&self.pool)
        .await?;
        Ok(())
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
    pub async fn send_own_heartbeat(&self, instance: Uuid) {
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

    fn handle(self: &Arc<Self>, shared: &Shared, payload: &str) {
        let Some(message) = parse(payload) else {
            tracing::debug!(payload, "ignoring an unknown change-feed message");
            return;
        };
        match message {
            Message::SessionChanged(id) => shared.cache.invalidate_session(id),
            Message::UserChanged(id) => shared.cache.invalidate_user(id),
            Message::Unreadable => shared.cache.clear(),
            Message::Heartbeat { origin, nonce } if origin == shared.instance => {
                let sent = self
                    .heartbeats
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&nonce);
                if let Some(sent) = sent {
                    shared.proved_keeping_up(sent);
                }
            }
            Message::Heartbeat { .. } => {}
            Message::Marker { origin, nonce } if origin == shared.instance => {
                self.acknowledged(nonce, None);
            }
            Message::Marker { origin, nonce } => {
                let feed = Arc::clone(self);
                let acker = shared.instance;
                tokio::spawn(async move {
                    if let Err(e) = feed.notify(format!("a {origin} {nonce} {acker}")).await {
                        tracing::debug!(error = %e, "could not acknowledge a sync");
                    }
                });
            }
            Message::Acknowledged {
                origin,
                nonce,
                acker,
            } if origin == shared.instance => {
                self.acknowledged(nonce, Some(acker));
            }
            Message::Acknowledged { .. } => {}
        }
    }

    fn acknowledged(&self, nonce: u64, by: Option<Uuid>) {
        let wait = self
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

    /// Sends a marker and waits (at most the lease) until this instance's listener and
    /// every live peer have acknowledged it.
    pub async fn sync(&self, shared: &Shared) -> anyhow::Result<()> {
        if !self.listening.load(Ordering::Acquire) {
            anyhow::bail!("the change-feed listener is not connected");
        }
        let nonce = self.next_nonce.fetch_add(1, Ordering::AcqRel);
        let mut pending: HashSet<Option<Uuid>> = shared.peers().into_iter().map(Some).collect();
        pending.insert(None);
        let wait = Arc::new(SyncWait {
            pending: Mutex::new(pending),
            done: Notify::new(),
        });
        self.syncs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(nonce, wait.clone());
        let outcome = async {
            self.notify(format!("m {} {nonce}", shared.instance))
                .await?;
            let _ = tokio::time::timeout(LEASE, wait.done.notified()).await;
            Ok::<_, sqlx::Error>(())
        }
        .await;
        self.syncs
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

    /// Follows the channel until `stop` or until the feed is gone, reconnecting after a
    /// failure (and ending the cache's lease meanwhile: changes may be missed).
    pub fn spawn_listener(
        feed: &Arc<PgFeed>,
        shared: Weak<Shared>,
        listener: PgListener,
        stop: CancellationToken,
    ) {
        let weak = Arc::downgrade(feed);
        let pool = feed.pool.clone();
        feed.listening.store(true, Ordering::Release);
        tokio::spawn(async move {
            let mut listener = Some(listener);
            loop {
                let Some(active) = listener.as_mut() else {
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
                        Err(e) => {
                            tracing::debug!(error = %e, "change-feed listener could not connect")
                        }
                    }
                    continue;
                };
                let message = tokio::select! {
                    () = stop.cancelled() => break,
                    message = active.try_recv() => message,
                };
                let (Some(feed), Some(shared)) = (weak.upgrade(), shared.upgrade()) else {
                    break;
                };
                match message {
                    Ok(Some(notification)) => {
                        feed.listening.store(true, Ordering::Release);
                        feed.handle(&shared, notification.payload());
                    }
                    Ok(None) => {
                        // The connection dropped (it reconnects on the next call).
                        tracing::warn!("change-feed listener lost its connection; reconnecting");
                        feed.listening.store(false, Ordering::Release);
                        shared.cache.end_lease();
                    }
                    Err(e) => {
                        feed.listening.store(false, Ordering::Release);
                        shared.cache.end_lease();
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_messages_parse_and_garbage_does_not() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(parse(&format!("i s {a}")), Some(Message::SessionChanged(a)));
        assert_eq!(parse(&format!("i u {a}")), Some(Message::UserChanged(a)));
        assert_eq!(parse("i u not-a-uuid"), Some(Message::Unreadable));
        assert_eq!(
            parse(&format!("h {a} 7")),
            Some(Message::Heartbeat {
                origin: a,
                nonce: 7
            })
        );
        assert_eq!(
            parse(&format!("m {a} 8")),
            Some(Message::Marker {
                origin: a,
                nonce: 8
            })
        );
        assert_eq!(
            parse(&format!("a {a} 9 {b}")),
            Some(Message::Acknowledged {
                origin: a,
                nonce: 9,
                acker: b
            })
        );
        for garbage in [
            "",
            "x",
            "h",
            &format!("h {a}"),
            &format!("m {a} nine"),
            &format!("a {a} 9"),
            "i s",
        ] {
            assert_eq!(parse(garbage), None, "{garbage:?}");
        }
    }
}
