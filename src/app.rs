//! The application: the router with its middleware, background tasks, and serving with
//! graceful shutdown. `Application::build` does all start-up work once (database,
//! migrations, keys, hashing pool, OpenAPI document) and wires the features together, so
//! that the request path does none of it; tests build the same application on a fresh
//! database.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use axum::Router;
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::accounts::preferences::PreferencesSchema;
use crate::auth::sessions;
use crate::clock::Clock;
use crate::coherence::ChangeFeed;
use crate::coherence::cache::AuthCache;
use crate::config::{Config, Features};
use crate::db::Db;
use crate::federation::upstream::Upstream;
use crate::http::{middleware, ratelimit};
use crate::mail::Mailer;
use crate::passwords::PasswordHasher;
use crate::ratelimit::AuthRateLimiter;
use crate::state::{App, AppState};
use crate::system::instances::{self, Registration};
use crate::system::{self, openapi::ApiDoc};
use crate::tokens::access::TokenService;
use crate::tokens::keys;
use crate::tokens::rotation::{RotationQueue, SuccessorKey};
use crate::webhook_delivery::resolver::HostResolver;

/// A built application: its state and its router, ready to serve.
pub struct Application {
    state: AppState,
    router: Router,
    /// `/metrics` and `/db/status` when `METRICS_ADDRESS` serves them apart.
    operator: Option<Router>,
    /// This instance's row in `serving_instances`.
    instance: Registration,
}

/// The `/api/v1` routes of the modules `features` serves and the system routes, with
/// their OpenAPI description; the operators' routes (`/metrics`, `/db/status`) only when
/// `with_operator_routes` (`METRICS_ADDRESS` unset); `upstream` talks to identity
/// providers.
pub fn api_routes(
    upstream: &Upstream,
    features: &Features,
    with_operator_routes: bool,
) -> OpenApiRouter<AppState> {
    let system = if with_operator_routes {
        system::router().merge(system::operator_router())
    } else {
        system::router()
    };
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(
            "/api/v1/auth",
            crate::auth::router().merge(crate::users::email_change_router()),
        )
        .nest(
            "/api/v1/users",
            crate::users::router(features)
                .merge(if features.achievements {
                    crate::achievements::router()
                } else {
                    OpenApiRouter::new()
                })
                .merge(crate::oidc::grants_router())
                .merge(crate::federation::identities_router()),
        )
        .nest(
            "/api/v1/admin",
            crate::admin::router()
                .merge(crate::oidc::admin_router())
                .merge(crate::webhooks::admin_router())
                .merge(crate::federation::admin_router(upstream)),
        )
        .merge(crate::event_api::router())
        .merge(system)
}

impl Application {
    /// Connects, migrates, loads keys and assembles the router.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Application> {
        Application::build_resolving(config, clock, HostResolver::System).await
    }

    /// [`Self::build`], with webhook targets' host names resolved by `resolver` (tests
    /// give a table, as they give a manual clock).
    pub async fn build_resolving(
        config: Config,
        clock: Arc<dyn Clock>,
        resolver: HostResolver,
    ) -> anyhow::Result<Application> {
        let preferences = PreferencesSchema::configured(config.preferences_schema.as_deref())?;
        let db = Db::connect(&config).await?;
        migrate(&db, clock.now()).await?;
        db.open_pool_in_background();
        db.checkpoint_in_background();
        if let Some(warning) = instances::own_issuer_warning(&config, db.backend()) {
            tracing::warn!("{warning}");
        }
        // Before anything sealed is written: the key must be this database's key.
        let sealing_key = crate::secrets::verified_key(&config, &db, clock.now()).await?;
        let cipher = crate::crypto::Cipher::new(&sealing_key);
        // The stored keys sign ID tokens even when access tokens use the HS256 secret.
        let stored = keys::load_or_create(&db, &cipher, clock.now(), &config.tokens).await?;
        let key_set = match &config.tokens.jwt_secret_key {
            Some(secret) => stored.with_access_secret(secret.expose()),
            None => stored,
        };
        let tokens = TokenService::new(
            config.tokens.issuer.clone(),
            config.tokens.audience.clone(),
            config.tokens.access_ttl,
            key_set,
        );
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let hasher = PasswordHasher::new(config.passwords.cost, cores)?;
        let auth_cache = Arc::new(AuthCache::new(config.tokens.access_ttl));
        let changes = ChangeFeed::start(&db, auth_cache.clone()).await?;
        let mail = Mailer::new(
            &config,
            db.clone(),
            clock.clone(),
            cipher.clone(),
            Arc::new(crate::auth::reset::ResetMails),
        )?;
        let webhooks = crate::webhook_delivery::Dispatcher::new(
            &config,
            db.clone(),
            clock.clone(),
            cipher.clone(),
            resolver,
        )?;
        let rotations = RotationQueue::start(
            db.clone(),
            clock.clone(),
            sessions::refresh_ttl(&config),
            SuccessorKey::derive(&sealing_key),
        );
        let rate_limiter = Arc::new(AuthRateLimiter::new(&config, clock.clone())?);
        rate_limiter.spawn_upkeep();
        tracing::debug!(store = rate_limiter.store(), "authentication rate limits");

        let webauthn = crate::webauthn::RelyingParty::new(&config.mfa.rp_id, &config.mfa.origin)?;
        if config.mfa.rp_id_is_ip_address() {
            tracing::warn!(
                rp_id = %config.mfa.rp_id,
                "WEBAUTHN_RP_ID is an IP address, which browsers refuse for passkeys: set PUBLIC_URL to a host name (http://localhost:PORT in development)"
            );
        }
        let pages = Arc::new(
            crate::web::Pages::new(&config.http.public_url)?
                .with_templates(&crate::console::templates())?
                .with_templates(crate::admin::setup::TEMPLATES)?
                .branded(&config.brand)?,
        );
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
            webhooks,
            events_appended: crate::events::wakeup::Appended::new(),
            rotations,
            rate_limiter: rate_limiter.clone(),
            webauthn,
        }));
        let refusing_pages = pages.clone();
        let metrics_apart = state.config.http.metrics_address.is_some();
        if !metrics_apart && state.config.is_production() {
            tracing::warn!(
                "METRICS_ADDRESS is unset: /metrics and /db/status are served on the public port"
            );
        }
        let operator = metrics_apart.then(|| {
            let (routes, _) = system::operator_router().split_for_parts();
            routes.with_state(state.clone())
        });
        let upstream = Upstream::new()?;
        let (routes, mut openapi) = api_routes(&upstream, &state.config.features, !metrics_apart)
            .merge(crate::oidc::protocol_router(&state))
            .split_for_parts();
        system::openapi::describe_token_signing(&mut openapi, &state.config.tokens);
        let router = middleware::stack(
            system::docs::with_docs(routes, openapi)
                .with_state(state.clone())
                .merge(crate::web::router(state.clone(), pages.clone()))
                .merge(
                    crate::oidc::pages_router()
                        .layer(axum::Extension(crate::federation::sign_in_buttons()))
                        .merge(crate::federation::pages_router(&upstream))
                        .merge(crate::console::router(&upstream, &state.config.features))
                        .merge(crate::admin::setup::router())
                        .with_state(crate::web::Web {
                            app: state.clone(),
                            pages,
                        }),
                )
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    middleware::sync_after_writes,
                ))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    middleware::number_events_after_commit,
                ))
                .layer(axum::middleware::from_fn_with_state(
                    ratelimit::RateLimits {
                        limiter: rate_limiter,
                        refused_page: crate::web::too_many_attempts_page(refusing_pages),
                    },
                    ratelimit::limit_auth_requests,
                ))
                // Outermost: every page rendered for this request, the rate limit's
                // refusal too, speaks the browser's (or the account's) language.
                .layer(axum::middleware::from_fn(
                    crate::i18n::request::remember_accept_language,
                )),
            &state.config,
        );
        let instance = Registration::new(&state.config, state.clock.now());
        instances::heartbeat(
            &state.db,
            &instance,
            &state.tokens.key_set().signing_kid,
            state.clock.now(),
        )
        .await?;
        spawn_background_tasks(&state, &instance);
        Ok(Application {
            state,
            router,
            operator,
            instance,
        })
    }

    /// The operators' router (`/metrics`, `/db/status`) when `METRICS_ADDRESS` is set;
    /// the main router then has neither.
    pub fn operator_router(&self) -> Option<Router> {
        self.operator.clone()
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
        let drain = self.state.config.http.shutdown_drain;
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
        if let Err(e) = instances::deregister(&self.state.db, self.instance.id).await {
            tracing::warn!(error = %e, "could not remove this instance from serving_instances");
        }
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
) -> anyhow::Result<Option<crate::accounts::email::CanonicalReport>> {
    db.migrate().await?;
    crate::accounts::email::canonicalise_stored(db, now).await
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

/// Reloads the signing keys from the table (a rotation, or a key another instance made).
async fn reload_keys(state: &AppState) {
    match keys::reload(
        &state.db,
        &state.cipher,
        state.clock.now(),
        &state.config.tokens,
    )
    .await
    {
        Ok(Some(set)) => state
            .tokens
            .replace_keys(match &state.config.tokens.jwt_secret_key {
                Some(secret) => set.with_access_secret(secret.expose()),
                None => set,
            }),
        Ok(None) => {
            tracing::warn!("no usable signing key in the database; keeping the current one")
        }
        Err(e) => tracing::warn!(error = %e, "reloading signing keys failed"),
    }
}

/// On a fresh database: makes the RSA key that signs ID tokens while the application
/// already serves, then loads it. Retried every 5 s if it fails; ends with the application.
fn spawn_rsa_key_creation(state: &AppState) {
    if state
        .tokens
        .key_set()
        .signs_id_tokens(keys::IdTokenAlgorithm::Rs256)
    {
        return;
    }
    let weak: Weak<App> = Arc::downgrade(&state.0);
    tokio::spawn(async move {
        loop {
            let Some(app) = weak.upgrade() else { break };
            let state = AppState(app);
            match keys::create_rsa_key(&state.db, &state.cipher, state.clock.now()).await {
                Ok(created) => {
                    if let Some(kid) = created {
                        tracing::info!(kid = %kid, "created an RSA key for ID tokens");
                    }
                    reload_keys(&state).await;
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "creating the RSA key for ID tokens failed; retrying in 5 s")
                }
            }
            drop(state);
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    });
}

fn spawn_background_tasks(state: &AppState, instance: &Registration) {
    spawn_rsa_key_creation(state);
    let instance = instance.clone();
    every(state, instances::HEARTBEAT, move |state| {
        let instance = instance.clone();
        async move {
            let kid = state.tokens.key_set().signing_kid.clone();
            if let Err(e) =
                instances::heartbeat(&state.db, &instance, &kid, state.clock.now()).await
            {
                tracing::warn!(error = %e, "instance heartbeat failed");
            }
            if let Ok(false) = crate::secrets::still_current(&state.db, &state.cipher).await {
                tracing::error!(
                    "ENCRYPTION_KEY no longer matches the database's key check value (was `roster encryption-key rotate` run?): restart this instance with the new ENCRYPTION_KEY"
                );
            }
        }
    });
    every(state, state.config.cleanup_interval, |state| async move {
        if let Err(e) = crate::maintenance::purge(&state).await {
            tracing::warn!(error = %e, "periodic cleanup failed");
        }
    });
    every(
        state,
        state.config.tokens.key_refresh_interval,
        |state| async move { reload_keys(&state).await },
    );
    every(state, Duration::from_secs(5), |state| async move {
        state.metrics.run_upkeep()
    });
    // Committed events get their numbers off the request path, as soon as a request
    // that appended some has committed (`events::wakeup`) or at the poll (events of
    // background work and of other instances); webhooks and the NATS publisher
    // (`NATS_URL`) then hear of them. The publisher lives as long as this task,
    // that is the application.
    let nats = crate::nats::Publisher::start(&state.config, state.db.clone(), state.clock.clone())
        .map(Arc::new);
    let weak: Weak<App> = Arc::downgrade(&state.0);
    let appended = state.events_appended.clone();
    let poll = state.config.events.poll_interval;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = appended.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
            let Some(app) = weak.upgrade() else { break };
            match crate::events::log::sequence_pending(&app.db).await {
                Ok(numbered) if numbered > 0 => {
                    app.webhooks.wake();
                    if let Some(nats) = &nats {
                        nats.wake();
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "numbering events failed"),
            }
        }
    });
    state.mail.spawn_worker();
    state.webhooks.spawn_worker();
    every(state, state.config.cleanup_interval, |state| async move {
        if let Err(e) = crate::mail::outbox::purge(&state.db, state.clock.now()).await {
            tracing::warn!(error = %e, "purging sent mail and expired mail tokens failed");
        }
    });
}
