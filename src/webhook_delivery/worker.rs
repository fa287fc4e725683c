//! The sender: one per instance. Each pass fans out what was numbered, then claims as
//! many due deliveries as it has free slots (`WEBHOOK_MAX_IN_FLIGHT`) and sends each in
//! its own task, with the deliveries of its subject that follow it on an ordered
//! endpoint (runs, `runs.rs`); a wake-up (events numbered, an administrator's retry) or a
//! second's poll starts the next pass, and so does a finished send (with those ending
//! in the next few milliseconds, so that one claim serves them all), which only claims.
//! The leases of the sends in flight are renewed every [`RENEW_EVERY`]. Stopping aborts
//! the sends in flight: their leases expire and any instance takes them again (delivery
//! is at least once).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::endpoints::{self, Endpoint};
use super::outcome::{self, Verdict};
use super::queue::{self, Claimed, Lease, Recorded};
use super::transport::{Attempt, Transport};
use super::{alerts, fanout, signing, targets};
use crate::audit::{self, AuditEntry, event};
use crate::clock::Clock;
use crate::config::AllowedHosts;
use crate::crypto::Cipher;
use crate::db::Db;
use crate::events::feed::{self, CloudEvent};
use crate::mail::templates::Composer;

const POLL: Duration = Duration::from_secs(1);
/// How long a pass waits for sends about to end, to claim for them together.
const GATHER: Duration = Duration::from_millis(5);
/// How many deliveries the fan-out makes between two refreshes of their statistics.
const ANALYZE_AFTER: u64 = 2_000;
const GAUGES_EVERY: Duration = Duration::from_secs(5);
/// How often the leases of the requests in flight are extended (by the whole lease): a
/// third of it, so that a slow pass or a slow database does not let one lapse.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);

pub struct Worker {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub cipher: Cipher,
    pub transport: Transport,
    pub allow: AllowedHosts,
    pub schedule: Vec<chrono::Duration>,
    pub disable_after: chrono::Duration,
    pub lease: chrono::Duration,
    /// The deliveries (webhook and event ids) whose requests are in flight here.
    pub leased: Mutex<HashSet<(Uuid, Uuid)>>,
    /// Deliveries made by this sender's fan-outs since it last refreshed their statistics.
    pub made_since_analyze: AtomicU64,
    pub slots: Arc<Semaphore>,
    /// `WEBHOOK_MAX_IN_FLIGHT`: how many permits `slots` has in all.
    pub slots_total: usize,
    /// `PUBLIC_URL`, the events' CloudEvents `source`.
    pub source: String,
    pub composer: Composer,
    /// This worker's name on the leases it takes.
    pub owner: Uuid,
    pub wake: Notify,
    pub stop: CancellationToken,
}

impl Worker {
    pub async fn run(self: Arc<Self>) {
        let mut in_flight = JoinSet::new();
        let mut gauges_at: Option<Instant> = None;
        let mut renewed_at = Instant::now();
        // Whether this pass fans out: the first, and those after a wake-up or the poll.
        // A pass after a send ended only claims (the next of an ordered subject, or what
        // did not fit the slots): no event was numbered for it to fan out.
        let mut fan_out = true;
        loop {
            if renewed_at.elapsed() >= RENEW_EVERY {
                self.renew_leases().await;
                renewed_at = Instant::now();
            }
            match self.pass(&mut in_flight, fan_out).await {
                Ok(()) => {}
                Err(sqlx::Error::PoolClosed) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery pass failed; trying again later")
                }
            }
            if gauges_at.is_none_or(|at| at.elapsed() >= GAUGES_EVERY) {
                self.update_gauges().await;
                gauges_at = Some(Instant::now());
            }
            fan_out = tokio::select! {
                () = self.stop.cancelled() => break,
                () = self.wake.notified() => true,
                () = tokio::time::sleep(POLL) => true,
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {
                    self.gather(&mut in_flight).await;
                    false
                }
            };
        }
        in_flight.abort_all();
        tracing::debug!("webhook worker stopped");
    }

    /// After a send ended, waits a moment (at most [`GATHER`]) for more to end, until a
    /// quarter of the slots are free: one claim then fills them all. Claiming each freed
    /// slot on its own costs a commit per delivery, which on PostgreSQL bounded the rate
    /// to what one connection commits in a row (about 150 a second).
    async fn gather(&self, in_flight: &mut JoinSet<()>) {
        let enough = (self.slots_total / 4).max(1);
        let until = tokio::time::Instant::now() + GATHER;
        while self.slots.available_permits() < enough && !in_flight.is_empty() {
            match tokio::time::timeout_at(until, in_flight.join_next()).await {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }

    async fn pass(
        self: &Arc<Self>,
        in_flight: &mut JoinSet<()>,
        fan_out: bool,
    ) -> Result<(), sqlx::Error> {
        while in_flight.try_join_next().is_some() {}
        if fan_out {
            let made = fanout::fan_out(&self.db, self.clock.now()).await?;
            self.keep_statistics_fresh(made).await;
        }
        let free = self.slots.available_permits();
        if free == 0 || self.stop.is_cancelled() {
            return Ok(());
        }
        let now = self.clock.now();
        let heads = queue::claim(&self.db, self.owner, now, self.lease, free as i64).await?;
        let leading: Vec<&Claimed> = heads.iter().filter(|head| head.leads).collect();
        let followers =
            queue::claim_followers(&self.db, self.owner, now, self.lease, &leading).await?;
        // What the claimed deliveries send, read in two queries for all of them.
        let mut webhook_ids: Vec<Uuid> = heads.iter().map(|d| d.webhook_id).collect();
        webhook_ids.sort_unstable();
        webhook_ids.dedup();
        let event_ids: Vec<Uuid> = (heads.iter().chain(&followers))
            .map(|d| d.event_id)
            .collect();
        let endpoints: HashMap<Uuid, Arc<Endpoint>> = endpoints::find_many(&self.db, &webhook_ids)
            .await?
            .into_iter()
            .map(|(id, endpoint)| (id, Arc::new(endpoint)))
            .collect();
        let events = feed::find_many(&self.db, &self.source, &event_ids).await?;
        let (runs, mut unsent) = queue::assemble(heads, followers);
        let mut runs = runs.into_iter();
        for run in runs.by_ref() {
            let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() else {
                unsent.extend(run);
                break;
            };
            let worker = Arc::clone(self);
            let keys: Vec<(Uuid, Uuid)> = run.iter().map(|d| (d.webhook_id, d.event_id)).collect();
            let endpoint = endpoints.get(&run[0].webhook_id).cloned();
            // One event goes to every endpoint that wants it: each takes a copy.
            let run: Vec<(Claimed, Option<CloudEvent>)> = run
                .into_iter()
                .map(|d| {
                    let event = events.get(&d.event_id).cloned();
                    (d, event)
                })
                .collect();
            self.leased
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(keys.iter().copied());
            in_flight.spawn(async move {
                // Stops the renewals when the run ends, however it ends.
                let _held = Held {
                    worker: &worker,
                    keys,
                };
                worker.send_run(run, endpoint).await;
                drop(permit);
            });
        }
        unsent.extend(runs.flatten());
        self.give_back(&unsent).await;
        Ok(())
    }

    /// Refreshes the planner's statistics of the deliveries once [`ANALYZE_AFTER`] were
    /// made since the last time. The claim must walk the due deliveries in index order
    /// and stop at its limit; with statistics taken when the table was nearly empty,
    /// PostgreSQL instead fetched every due delivery and sorted them (113 ms a claim
    /// with 10,000 waiting, against 0.4 ms after `ANALYZE`), and autovacuum looks at a
    /// table at most once a minute. SQLite's planner needs no statistics for this.
    async fn keep_statistics_fresh(&self, made: u64) {
        let since = self.made_since_analyze.fetch_add(made, Ordering::Relaxed) + made;
        if since < ANALYZE_AFTER {
            return;
        }
        self.made_since_analyze.store(0, Ordering::Relaxed);
        if let Err(e) = queue::analyze(&self.db).await {
            tracing::warn!(error = %e, "refreshing the statistics of webhook deliveries failed");
        }
    }

    /// Extends the leases of the requests in flight, so that no other sender takes them
    /// while they last.
    async fn renew_leases(&self) {
        let held: Vec<(Uuid, Uuid)> = self
            .leased
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect();
        let until = self.clock.now() + self.lease;
        if let Err(e) = queue::renew(&self.db, self.owner, &held, until).await {
            tracing::warn!(error = %e, "renewing the leases of webhook deliveries in flight failed");
        }
    }

    /// Sends one claimed delivery of `endpoint` (`None`: deleted meanwhile, its
    /// deliveries with it) with `event` (`None`: no longer kept) and records what came
    /// of it; true when it was delivered and recorded so, and the endpoint is still
    /// enabled (the next of its run may go).
    pub(super) async fn deliver(
        &self,
        claimed: &Claimed,
        endpoint: Option<Arc<Endpoint>>,
        event: Option<CloudEvent>,
    ) -> anyhow::Result<bool> {
        let Some(endpoint) = endpoint else {
            return Ok(false);
        };
        let attempt = self.attempt(claimed, &endpoint, event).await;
        if self.stop.is_cancelled() {
            return Ok(false); // Left to its lease: whether it arrived is unknown.
        }
        let now = self.clock.now();
        let verdict = outcome::judge(
            &attempt,
            claimed.attempts,
            &self.schedule,
            now,
            outcome::random_jitter(),
        );
        self.record(claimed, &endpoint, &attempt, &verdict, now)
            .await
    }

    /// The request, or why it could not be made.
    async fn attempt(
        &self,
        claimed: &Claimed,
        endpoint: &Endpoint,
        event: Option<CloudEvent>,
    ) -> Attempt {
        let Some(event) = event else {
            return Attempt::Failed("the event is no longer kept (EVENT_RETENTION_DAYS)".into());
        };
        let Ok(body) = serde_json::to_vec(&event) else {
            return Attempt::Failed("the event cannot be written as JSON".into());
        };
        let now = self.clock.now();
        let Some(secrets) = endpoint.signing_secrets(&self.cipher, now) else {
            return Attempt::Failed(
                "the signing secret cannot be opened (was ENCRYPTION_KEY changed?)".into(),
            );
        };
        let id = claimed.event_id.to_string();
        let Some(signature) = signing::signature_header(&secrets, &id, now.timestamp(), &body)
        else {
            return Attempt::Failed("the event cannot be signed".into());
        };
        let target = match targets::deliverable(&endpoint.url, &self.allow) {
            Ok(target) => target,
            Err(why) if why.starts_with("refused:") => return Attempt::Failed(why),
            Err(why) => return Attempt::Failed(format!("refused: the URL {why}")),
        };
        let sending = self
            .transport
            .post(&target, &id, now.timestamp(), &signature, body);
        tokio::select! {
            () = self.stop.cancelled() => Attempt::Failed("this instance stopped".into()),
            attempt = sending => attempt,
        }
    }

    /// Records the outcome; true when it was a delivery, the lease was still held and
    /// the endpoint is still enabled.
    async fn record(
        &self,
        claimed: &Claimed,
        endpoint: &Endpoint,
        attempt: &Attempt,
        verdict: &Verdict,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let (status, error, next_attempt_at) = match verdict {
            Verdict::Delivered { .. } => (queue::DELIVERED, None, now),
            Verdict::Retry { error, at, .. } => (queue::FAILED, Some(error.as_str()), *at),
            Verdict::Dead { error, .. } => (queue::DEAD, Some(error.as_str()), now),
        };
        let recorded = Recorded {
            status,
            status_code: verdict.status_code(),
            error,
            next_attempt_at,
            now,
        };
        if let Verdict::Delivered { .. } = verdict {
            // A success changes its delivery's row alone, so it takes no lock on the
            // endpoint (deliveries to one endpoint would queue on it); a running failing
            // clock stops in a statement of its own. Mostly none runs, and the write is
            // left out: on SQLite even a write that changes nothing takes the one lock
            // the requests' transactions wait for.
            if let Lease::Ended { failing, enabled } =
                queue::record(self.db.writer(), claimed, self.owner, &recorded).await?
            {
                metrics::counter!("roster_webhook_deliveries_total", "outcome" => status)
                    .increment(1);
                if failing {
                    endpoints::note_success(self.db.writer(), endpoint.id).await?;
                }
                // An endpoint disabled meanwhile takes no more of its run.
                return Ok(enabled);
            }
            return Ok(false);
        }
        let mut tx = self.db.begin().await?;
        endpoints::lock(&mut tx, endpoint.id).await?;
        if queue::record(&mut tx, claimed, self.owner, &recorded).await? == Lease::Lost {
            return Ok(false); // Whoever holds the lease now records.
        }
        metrics::counter!("roster_webhook_deliveries_total", "outcome" => status).increment(1);
        match verdict {
            Verdict::Delivered { .. } => {}
            Verdict::Dead { error, .. } => {
                let entry = AuditEntry {
                    event: event::WEBHOOK_DELIVERY_DEAD,
                    actor_id: None,
                    user_id: None,
                    client: None,
                    detail: serde_json::json!({
                        "webhook_id": endpoint.id,
                        "event_id": claimed.event_id,
                        "attempts": claimed.attempts,
                        "last_error": error,
                    }),
                };
                audit::record(&mut tx, now, entry).await?;
                self.note_failure(&mut tx, endpoint, now).await?;
            }
            Verdict::Retry { .. } => self.note_failure(&mut tx, endpoint, now).await?,
        }
        if matches!(attempt, Attempt::Answered { status: 410, .. }) {
            alerts::disable(
                &mut tx,
                &self.cipher,
                &self.composer,
                endpoint.id,
                endpoints::DISABLED_GONE,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        if status != queue::DELIVERED {
            tracing::info!(
                webhook_id = %endpoint.id,
                event_id = %claimed.event_id,
                attempts = claimed.attempts,
                status,
                error = error.unwrap_or_default(),
                "webhook delivery failed"
            );
        }
        Ok(false)
    }

    /// Starts or reads the failing clock; past `WEBHOOK_DISABLE_AFTER_HOURS` the
    /// endpoint is disabled.
    async fn note_failure(
        &self,
        tx: &mut crate::db::Tx,
        endpoint: &Endpoint,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        if let Some((since, true)) = endpoints::note_failure(tx, endpoint.id, now).await?
            && now - since >= self.disable_after
        {
            alerts::disable(
                tx,
                &self.cipher,
                &self.composer,
                endpoint.id,
                endpoints::DISABLED_FAILING,
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// The channel's gauges: deliveries waiting, and the age of the oldest.
    async fn update_gauges(&self) {
        match queue::backlog(&self.db).await {
            Ok((waiting, oldest)) => {
                metrics::gauge!("roster_webhook_deliveries_waiting").set(waiting as f64);
                let age = oldest.map_or(0.0, |at| {
                    (self.clock.now() - at).num_milliseconds().max(0) as f64 / 1000.0
                });
                metrics::gauge!("roster_webhook_oldest_waiting_seconds").set(age);
            }
            Err(e) => tracing::debug!(error = %e, "reading the webhook backlog failed"),
        }
    }
}

/// The deliveries of a run in flight: their leases are renewed until this is dropped
/// (those recorded meanwhile no longer have this sender as owner: renewing them
/// changes nothing).
struct Held<'a> {
    worker: &'a Worker,
    keys: Vec<(Uuid, Uuid)>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut leased = self.worker.leased.lock().unwrap_or_else(|e| e.into_inner());
        for key in &self.keys {
            leased.remove(key);
        }
    }
}
