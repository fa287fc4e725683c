//! Publishing the event log to NATS JetStream (`NATS_URL`): every numbered event, in
//! `sequence` order, to `NATS_SUBJECT_PREFIX.TYPE` with `Nats-Msg-Id` = its id and the
//! CloudEvents JSON that `GET /api/v1/events` serves as its body, into the stream
//! `NATS_STREAM` (created when missing, see [`jetstream`]).
//!
//! Off the request path entirely: one background [`Publisher`] per instance, woken by the
//! sequencer and every second. Of all instances only the holder of the channel's lease
//! publishes ([`channel`]); it publishes a batch, takes the acknowledgements in order, and
//! only then moves `published_through`, so an event counts as published once JetStream
//! has it. While NATS is unreachable nothing moves and events wait; a batch published
//! again after a crash between the acknowledgements and the cursor is dropped by
//! JetStream as duplicates (same `Nats-Msg-Id`, within [`jetstream::DUPLICATE_WINDOW`]).
//!
//! Metrics (label `channel="nats"`): `roster_events_waiting` and
//! `roster_events_oldest_waiting_seconds` (gauges, read every few seconds),
//! `roster_events_published_total`.

pub mod channel;
pub mod jetstream;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, DropGuard};
use uuid::Uuid;

use crate::clock::Clock;
use crate::config::{Config, NatsConfig};
use crate::db::Db;
use crate::events::feed;
use jetstream::Stream;

/// The channel's name in `event_channels` and in the metrics' `channel` label.
pub const CHANNEL: &str = "nats";

/// How many events one batch publishes before it waits for their acknowledgements.
const BATCH: i64 = 500;

/// How often the publisher looks for events when nobody wakes it.
const POLL: Duration = Duration::from_secs(1);

/// How often the backlog gauges are read (two queries): not after every pass, which
/// under a steady trickle of events is every few milliseconds.
const GAUGES_EVERY: Duration = Duration::from_secs(5);

/// This instance's publisher; dropping it stops the publisher (which gives up its lease).
pub struct Publisher {
    wake: Arc<Notify>,
    _stop_on_drop: DropGuard,
}

impl Publisher {
    /// Starts publishing when `NATS_URL` is set; `None` otherwise.
    pub fn start(config: &Config, db: Db, clock: Arc<dyn Clock>) -> Option<Publisher> {
        config.nats.url.as_ref()?;
        let stop = CancellationToken::new();
        let wake = Arc::new(Notify::new());
        let worker = Worker {
            db,
            clock,
            settings: config.nats.clone(),
            source: config.http.public_url.clone(),
            owner: Uuid::new_v4(),
            wake: wake.clone(),
            stop: stop.clone(),
        };
        tracing::info!(
            stream = %config.nats.stream,
            subjects = %format!("{}.>", config.nats.subject_prefix),
            "events are published to NATS JetStream (NATS_URL)"
        );
        tokio::spawn(worker.run());
        Some(Publisher {
            wake,
            _stop_on_drop: stop.drop_guard(),
        })
    }

    /// Tells the publisher that events were numbered (no lost wake-ups: a wake while it
    /// is busy makes it look again right after).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

struct Worker {
    db: Db,
    clock: Arc<dyn Clock>,
    settings: NatsConfig,
    source: String,
    /// This publisher's name on the lease.
    owner: Uuid,
    wake: Arc<Notify>,
    stop: CancellationToken,
}

/// Why a pass stopped before everything was published.
#[derive(Debug, thiserror::Error)]
enum PassError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("NATS: {0}")]
    Nats(String),
}

impl Worker {
    async fn run(self) {
        let mut stream: Option<Stream> = None;
        let mut ready = false;
        let mut gauges_at: Option<Instant> = None;
        // The first pass looks for events the log kept while no publisher ran.
        let mut woken = false;
        loop {
            if !ready {
                match channel::ensure(&self.db, CHANNEL).await {
                    Ok(()) => ready = true,
                    Err(e) => tracing::warn!(error = %e, "recording the NATS channel failed"),
                }
            }
            if stream.is_none() {
                match Stream::connect(&self.settings).await {
                    Ok(connecting) => stream = Some(connecting),
                    Err(e) => tracing::warn!(error = %e, "NATS_URL cannot be used"),
                }
            }
            if let (true, Some(stream)) = (ready, stream.as_mut()) {
                match self.pass(stream, woken).await {
                    Ok(()) => {}
                    Err(PassError::Database(sqlx::Error::PoolClosed)) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "publishing events to NATS stopped; the rest wait")
                    }
                }
                if gauges_at.is_none_or(|at| at.elapsed() >= GAUGES_EVERY) {
                    self.report_backlog().await;
                    gauges_at = Some(Instant::now());
                }
            }
            woken = tokio::select! {
                () = self.stop.cancelled() => break,
                () = self.wake.notified() => true,
                () = tokio::time::sleep(POLL) => false,
            };
        }
        if let Err(e) = channel::release(&self.db, CHANNEL, self.owner).await {
            tracing::debug!(error = %e, "giving up the NATS channel's lease failed");
        }
        tracing::debug!("NATS publisher stopped");
    }

    /// Publishes, batch after batch, every event after the channel's cursor, as long as
    /// this publisher holds the lease and NATS is connected. `woken`: the sequencer has
    /// just numbered events, so there is something to publish; otherwise (the poll) the
    /// pass first reads whether anything waits, so that an idle pass only reads (the
    /// lease is taken, and renewed, while there is something to publish).
    async fn pass(&self, stream: &mut Stream, woken: bool) -> Result<(), PassError> {
        if !woken && channel::waiting(&self.db, CHANNEL).await?.0 == 0 {
            return Ok(());
        }
        while stream.connected() && !self.stop.is_cancelled() {
            let now = self.clock.now();
            let Some(cursor) = channel::lease(&self.db, CHANNEL, self.owner, now).await? else {
                return Ok(());
            };
            let events = feed::every_type_after(&self.db, &self.source, cursor, BATCH).await?;
            if events.is_empty() {
                return Ok(());
            }
            stream.prepare().await.map_err(PassError::Nats)?;
            let published = stream.publish(&events).await;
            if let Some(through) = published.through {
                if !channel::advance(&self.db, CHANNEL, self.owner, through).await? {
                    // Another instance took the lease over; it publishes from here.
                    return Ok(());
                }
                metrics::counter!("roster_events_published_total", "channel" => CHANNEL)
                    .increment(published.acknowledged);
                if published.duplicates > 0 {
                    tracing::info!(
                        duplicates = published.duplicates,
                        "JetStream already had some events published again (dropped by Nats-Msg-Id)"
                    );
                }
            }
            if let Some(error) = published.error {
                return Err(PassError::Nats(error));
            }
            if (events.len() as i64) < BATCH {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Sets the gauges: how many events wait, and how old the oldest of them is.
    async fn report_backlog(&self) {
        match channel::backlog(&self.db, CHANNEL).await {
            Ok(backlog) => {
                let age = backlog.oldest.map_or(0.0, |oldest| {
                    (self.clock.now() - oldest).num_milliseconds().max(0) as f64 / 1000.0
                });
                metrics::gauge!("roster_events_waiting", "channel" => CHANNEL)
                    .set(backlog.waiting as f64);
                metrics::gauge!("roster_events_oldest_waiting_seconds", "channel" => CHANNEL)
                    .set(age);
            }
            Err(e) => tracing::debug!(error = %e, "reading the NATS channel's backlog failed"),
        }
    }
}
