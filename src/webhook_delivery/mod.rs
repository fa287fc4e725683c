//! Webhook delivery: every event an endpoint takes reaches it as a signed `POST`
//! (Standard Webhooks), at least once, in order per subject, off the request path.
//!
//! - Fan-out ([`fanout`]): numbered events after each endpoint's cursor become one
//!   delivery row per endpoint and event it takes, and the cursor advances, in one
//!   transaction. An endpoint starts at the last sequence when it is made.
//! - Sending ([`worker`]): each instance runs a worker (woken when events are numbered,
//!   and every second) that claims due deliveries with a lease ([`queue::claim`]; on
//!   PostgreSQL `FOR UPDATE SKIP LOCKED`) and sends at most `WEBHOOK_MAX_IN_FLIGHT` at
//!   once. On an `ordered` endpoint only the head of each subject (its lowest sequence
//!   neither delivered nor dead) is eligible; the pending deliveries right after it
//!   are claimed with it and sent after it, one after another in its slot, until one
//!   is not delivered ([`runs`]). A sender renews the leases of its requests in
//!   flight; one that dies leaves them to expire (in at most [`LEASE`]), and any
//!   instance then takes the deliveries again.
//! - The request ([`transport`], [`signing`]): the event's CloudEvents JSON, as `GET
//!   /api/v1/events` shows it, signed `v1,` + HMAC-SHA256 (by the previous secret too
//!   for a day after a rotation), connected only to an address checked after DNS, at
//!   every attempt (the name is resolved once, by the connection's own resolver).
//! - Outcomes ([`outcome`]): `2xx` delivered; anything else retried on
//!   `WEBHOOK_RETRY_SCHEDULE` (with `Retry-After` on 429/503 when longer) and `dead`
//!   when it is spent; `410` disables the endpoint at once; an endpoint failing without a
//!   success for `WEBHOOK_DISABLE_AFTER_HOURS` is disabled and the administrators mailed.
//!
//! This room sits below the webhooks admin API (`crate::webhooks`), which uses its
//! tables, and imports no feature above it.

mod alerts;
pub mod endpoints;
pub mod fanout;
mod outcome;
pub mod queue;
pub mod resolver;
mod runs;
pub mod signing;
pub mod targets;
mod transport;
mod worker;

use std::sync::Arc;

use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::{CancellationToken, DropGuard};
use uuid::Uuid;

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::Cipher;
use crate::db::Db;
use crate::mail::templates::Composer;
use resolver::HostResolver;
use worker::Worker;

/// The instance's webhook sender. Dropping it (with the application) stops the worker;
/// deliveries it had in flight are taken again by any instance when their lease ends.
pub struct Dispatcher {
    worker: Arc<Worker>,
    /// Resolves targets' host names, for the check when an endpoint is saved too.
    resolver: HostResolver,
    _stop_on_drop: DropGuard,
}

impl Dispatcher {
    pub fn new(
        config: &Config,
        db: Db,
        clock: Arc<dyn Clock>,
        cipher: Cipher,
        resolver: HostResolver,
    ) -> anyhow::Result<Dispatcher> {
        let settings = &config.webhooks;
        let stop = CancellationToken::new();
        let worker = Worker {
            db,
            clock,
            cipher,
            transport: transport::Transport::new(
                settings.timeout,
                settings.allow.clone(),
                resolver.clone(),
            )?,
            allow: settings.allow.clone(),
            schedule: settings.retry_schedule.clone(),
            disable_after: settings.disable_after,
            lease: LEASE,
            leased: std::sync::Mutex::default(),
            made_since_analyze: std::sync::atomic::AtomicU64::new(0),
            slots: Arc::new(Semaphore::new(settings.max_in_flight)),
            slots_total: settings.max_in_flight,
            source: config.http.public_url.clone(),
            composer: Composer::for_deployment(config)?,
            owner: Uuid::new_v4(),
            wake: Notify::new(),
            stop: stop.clone(),
        };
        Ok(Dispatcher {
            worker: Arc::new(worker),
            resolver,
            _stop_on_drop: stop.drop_guard(),
        })
    }

    /// Starts this instance's worker; it stops when the dispatcher is dropped.
    pub fn spawn_worker(&self) {
        tokio::spawn(Arc::clone(&self.worker).run());
    }

    /// Checks `url` as a webhook target when an endpoint is saved (see
    /// [`targets::check`]), resolving its host as deliveries will.
    pub async fn check_target(&self, url: &str) -> Result<url::Url, crate::error::Why> {
        targets::check(url, &self.worker.allow, &self.resolver).await
    }

    /// Tells the worker that events were numbered or deliveries made due (no lost
    /// wake-ups: a wake while it is busy makes it look again right after).
    pub fn wake(&self) {
        self.worker.wake.notify_one();
    }
}

/// How long a claimed delivery stays with its sender without a renewal. A sender renews
/// the leases of its requests in flight every few seconds (`worker::RENEW_EVERY`), so a
/// lease ends only for a sender that died or lost its database: any instance takes its
/// deliveries again within this time, however long `WEBHOOK_TIMEOUT_SECONDS` is.
const LEASE: chrono::Duration = chrono::Duration::seconds(15);
