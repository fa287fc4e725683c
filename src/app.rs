//! The application: shared state, the router with its middleware, background tasks,
//! and serving with graceful shutdown. `Application::build` does all start-up work once
//! (database, migrations, keys, hashing pool, OpenAPI document) so that the request
//! path does none of it; tests build the same application on a fresh database.

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::cache::AuthCache;
use crate::auth::keys::{self, KeySet};
use crate::auth::password::PasswordHasher;
use crate::auth::rotation::RotationQueue;
use crate::auth::sessions;
use crate::auth::tokens::TokenService;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::{Cipher, load_or_create_key_file};
use crate::db::Db;
use crate::db::changes::{self, ChangeFeed};
use crate::http::middleware;
use crate::http::ratelimit::{self, AuthRateLimiter};
use crate::system::{self, openapi::ApiDoc};
use crate::users::preferences::PreferencesSchema;

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
    pub mail: crate::mail::Mailer,
    /// Refresh-token rotations, run in batches; dropping it stops the batching task.
    pub rotations: RotationQueue,
    /// The per-client budget of the authentication endpoints, spent by the middleware
    /// for the login endpoints and by password confirmations behind a bearer token.
    pub rate_limiter: Arc<AuthRateLimiter>,
    /// The HTML pages' templates (the links in mails open them).
    pub pages: crate::web::Pages,
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

/// A built application: its state and its router, ready to serve.
pub struct Application {
    state: AppState,
    router: Router,
}

/// The `/api/v1` routes and the system routes with their OpenAPI description.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(
            "/api/v1/auth",
            crate::auth::router().merge(crate::users::email_change_router()),
        )
        .nest(
            "/api/v1/users",
            crate::users::router().merge(crate::achievements::router()),
        )
        .nest("/api/v1/admin", crate::admin::router())
        .merge(system::router())
}

impl Application {
    /// Connects, migrates, loads keys and assembles the router.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Application> {
        let preferences = PreferencesSchema::configured(config.preferences_schema.as_deref())?;
        let db = Db::connect(&config).await?;
        migrate(&db, clock.now()).await?;
        db.open_pool_in_background();
        db.checkpoint_in_background();
        let cipher = Cipher::new(&encryption_key(&config)?);
        let key_set = match &config.jwt_secret_key {
            Some(secret) => KeySet::hs256(secret.expose()),
            None => {
                keys::load_or_create(&db, &cipher, clock.now(), config.access_token_ttl).await?
            }
        };
        let tokens = TokenService::new(
            config.jwt_issuer.clone(),
            config.jwt_audience.clone(),
            config.access_token_ttl,
            key_set,
        );
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let hasher = PasswordHasher::new(config.hash_cost, cores)?;
        let auth_cache = Arc::new(AuthCache::new(config.access_token_ttl));
        let changes = ChangeFeed::start(&db, auth_cache.clone()).await?;
        let mail = crate::mail::Mailer::new(&config)?;
        let rotations =
            RotationQueue::start(db.clone(), clock.clone(), sessions::refresh_ttl(&config));
        let rate_limiter = Arc::new(AuthRateLimiter::new(&config, clock.clone())?);
        rate_limiter.spawn_upkeep();
        tracing::debug!(store = rate_limiter.store(), "authentication rate limits");

        let pages = crate::web::Pages::new(&config.public_url)?;
        let state = AppState(Arc::new(App {
            config,
            db,
            clock,
            hasher,
            tokens,
            cipher,
            preferences,
            metrics: system::metrics::handle(),
            started: Instant::now(),
            auth_cache,
            changes,
            mail,
            rotations,
            rate_limiter: rate_limiter.clone(),
            pages,
        }));
        let (routes, openapi) = api_routes().split_for_parts();
        let router = middleware::stack(
            system::docs::with_docs(routes, openapi)
                .merge(crate::web::router())
                .with_state(state.clone())
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    changes::sync_after_writes,
                ))
                .layer(axum::middleware::from_fn_with_state(
                    rate_limiter,
                    ratelimit::limit_auth_requests,
                )),
            &state.config,
        );
        spawn_background_tasks(&state);
        Ok(Application { state, router })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The complete router (for tests that call it without a socket).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Serves on `listener` until `shutdown` completes; then stops accepting connections,
    /// lets in-flight requests finish for at most `SHUTDOWN_DRAIN_SECONDS`, and closes
    /// the database pool (which, on SQLite, checkpoints the write-ahead log).
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let drain = self.state.config.shutdown_drain;
        let signalled = Arc::new(tokio::sync::Notify::new());
        let notify = signalled.clone();
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let server = axum::serve(listener, service).with_graceful_shutdown(async move {
            shutdown.await;
            notify.notify_one();
        });
        let drain_deadline = async {
            signalled.notified().await;
            tracing::info!(
                drain_seconds = drain.as_secs(),
                "shutting down: no new connections; finishing in-flight requests"
            );
            tokio::time::sleep(drain).await;
        };
        let deadline = tokio::select! {
            served = server.into_future() => {
                served?;
                tracing::info!("every in-flight request finished");
                Instant::now() + Duration::from_secs(5)
            }
            () = drain_deadline => {
                tracing::warn!(
                    drain_seconds = drain.as_secs(),
                    "drain time is over: requests still running are abandoned"
                );
                Instant::now() + Duration::from_secs(1)
            }
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(remaining, self.state.db.close())
            .await
            .is_err()
        {
            tracing::warn!("the database pool did not close in time");
        }
        Ok(())
    }
}

/// Applies pending schema migrations, then the data fixes that need Roster's own code
/// (addresses brought to their canonical form, once); returns what a fix reported.
pub async fn migrate(
    db: &Db,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Option<crate::users::email::CanonicalReport>> {
    db.migrate().await?;
    crate::users::email::canonicalise_stored(db, now).await
}

/// `ENCRYPTION_KEY`, or in development a key generated once into a file beside the database.
pub(crate) fn encryption_key(config: &Config) -> anyhow::Result<[u8; 32]> {
    if let Some(key) = config.encryption_key {
        return Ok(key);
    }
    let path = config.key_file_path();
    let (key, created) = load_or_create_key_file(&path)?;
    if created {
        tracing::warn!(path = %path.display(), "ENCRYPTION_KEY is not set: generated a development key file (owner-only); set ENCRYPTION_KEY in production");
    } else {
        tracing::warn!(path = %path.display(), "ENCRYPTION_KEY is not set: using the development key file");
    }
    Ok(key)
}

/// Runs `task` every `period` for as long as the application exists.
fn every<F, Fut>(state: &AppState, period: Duration, task: F)
where
    F: Fn(AppState) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let weak: Weak<App> = Arc::downgrade(&state.0);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let Some(app) = weak.upgrade() else { break };
            task(AppState(app)).await;
        }
    });
}

fn spawn_background_tasks(state: &AppState) {
    every(state, state.config.cleanup_interval, |state| async move {
        if let Err(e) = crate::maintenance::purge(&state).await {
            tracing::warn!(error = %e, "periodic cleanup failed");
        }
    });
    if state.config.jwt_secret_key.is_none() {
        every(
            state,
            state.config.key_refresh_interval,
            |state| async move {
                match keys::reload(
                    &state.db,
                    &state.cipher,
                    state.clock.now(),
                    state.config.access_token_ttl,
                )
                .await
                {
                    Ok(Some(set)) => state.tokens.replace_keys(set),
                    Ok(None) => tracing::warn!(
                        "no usable signing key in the database; keeping the current one"
                    ),
                    Err(e) => tracing::warn!(error = %e, "reloading signing keys failed"),
                }
            },
        );
    }
    every(state, Duration::from_secs(5), |state| async move {
        state.metrics.run_upkeep()
    });
    crate::mail::delivery::spawn(state);
    every(state, state.config.cleanup_interval, |state| async move {
        if let Err(e) = crate::mail::outbox::purge(&state.db, state.clock.now()).await {
            tracing::warn!(error = %e, "purging sent mail and expired mail tokens failed");
        }
    });
}
