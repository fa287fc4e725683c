//! The request state: everything a handler may need, built once at start-up by
//! `Application::build`. Every feature takes [`AppState`]; none of them needs the router
//! to do so. It holds only services of the rooms below the features (database, clock,
//! sealing, passwords, tokens, the authentication cache and its feed, mail, webhook
//! delivery, the rate limiter, the preferences schema), so no feature's code is reachable from here.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::accounts::preferences::PreferencesSchema;
use crate::clock::Clock;
use crate::coherence::ChangeFeed;
use crate::coherence::cache::AuthCache;
use crate::config::Config;
use crate::crypto::Cipher;
use crate::db::Db;
use crate::mail::Mailer;
use crate::passwords::PasswordHasher;
use crate::ratelimit::AuthRateLimiter;
use crate::tokens::access::TokenService;
use crate::tokens::rotation::RotationQueue;

/// Everything a request handler may need, built once at start-up.
pub struct App {
    pub config: Config,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub hasher: PasswordHasher,
    pub tokens: TokenService,
    pub cipher: Cipher,
    /// The compiled preferences JSON Schema (`PREFERENCES_SCHEMA` or the built-in one).
    pub preferences: PreferencesSchema,
    pub metrics: PrometheusHandle,
    pub started: Instant,
    /// Verified tokens, sessions and accounts, kept coherent by `changes`.
    pub auth_cache: Arc<AuthCache>,
    pub changes: Arc<ChangeFeed>,
    /// Outgoing mail (templates, transport, worker wake-up); dropping it stops the worker.
    pub mail: Mailer,
    /// The webhook sender (its worker, and waking it); dropping it stops the worker.
    pub webhooks: crate::webhook_delivery::Dispatcher,
    /// Wakes the event sequencer when a request's events have committed.
    pub events_appended: crate::events::wakeup::Appended,
    /// Refresh-token rotations, run in batches; dropping it stops the batching task.
    pub rotations: RotationQueue,
    /// The per-client budget of the authentication endpoints, spent by the middleware
    /// for the login endpoints and by password confirmations behind a bearer token.
    pub rate_limiter: Arc<AuthRateLimiter>,
    /// The WebAuthn relying party (`WEBAUTHN_RP_ID`, the origin of `PUBLIC_URL`).
    pub webauthn: crate::webauthn::RelyingParty,
}

/// Cheap-to-clone handle on [`App`], the router's state.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}
