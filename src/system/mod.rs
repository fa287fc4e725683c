//! System endpoints without the `/api/v1` prefix: service information, health, database
//! status, Prometheus metrics, the JWK set, and the API documentation.

pub mod docs;
pub mod instances;
pub mod metrics;
pub mod openapi;

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// How long a health probe waits for the database before calling it unreachable: a
/// healthy database answers in milliseconds, and load balancers want an answer at once.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The public system routes: the service's name, health, the JWK set and the docs.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(root))
        .routes(routes!(health))
        .routes(routes!(jwks))
        .merge(docs::router())
}

/// The operators' routes, `/metrics` and `/db/status`: on the public port unless
/// `METRICS_ADDRESS` names an address of their own.
pub fn operator_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(db_status))
        .routes(routes!(metrics::metrics))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub docs: &'static str,
}

/// Service information
#[utoipa::path(get, path = "/", tag = "system", responses((status = 200, description = "Name, version and where the docs are", body = ServiceInfo)))]
pub async fn root() -> Json<ServiceInfo> {
    Json(ServiceInfo {
        name: "roster",
        version: env!("CARGO_PKG_VERSION"),
        docs: "/docs",
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` when the database does not answer.
    pub status: &'static str,
    pub version: &'static str,
    pub uptime_seconds: u64,
    /// `ok` or `unavailable`.
    pub database: &'static str,
}

/// Milliseconds the database took to answer `SELECT 1`, if it answered in time.
async fn probe(state: &AppState) -> Option<f64> {
    let started = Instant::now();
    match tokio::time::timeout(PROBE_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => Some(started.elapsed().as_secs_f64() * 1000.0),
        _ => None,
    }
}

/// Health check (checks the database)
#[utoipa::path(get, path = "/health", tag = "system", responses(
    (status = 200, description = "Healthy", body = Health),
    (status = 503, description = "The database is unreachable", body = Health),
))]
pub async fn health(State(state): State<AppState>) -> Response {
    let database_ok = probe(&state).await.is_some();
    let body = Health {
        status: if database_ok { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.started.elapsed().as_secs(),
        database: if database_ok { "ok" } else { "unavailable" },
    };
    let status = if database_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PoolStatus {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MigrationStatus {
    pub applied: i64,
    pub latest: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DbStatus {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    pub connected: bool,
    pub latency_ms: Option<f64>,
    pub pool: PoolStatus,
    /// Null when the database cannot be asked.
    pub migrations: Option<MigrationStatus>,
}

/// Database status (backend, latency, pool, migrations; no secrets)
#[utoipa::path(get, path = "/db/status", tag = "system", responses(
    (status = 200, description = "Connected", body = DbStatus),
    (status = 503, description = "The database is unreachable", body = DbStatus),
))]
pub async fn db_status(State(state): State<AppState>) -> Response {
    let latency_ms = probe(&state).await;
    let migrations = match latency_ms {
        Some(_) => tokio::time::timeout(PROBE_TIMEOUT, state.db.migration_status())
            .await
            .ok()
            .and_then(Result::ok)
            .map(|(applied, latest)| MigrationStatus { applied, latest }),
        None => None,
    };
    let stats = state.db.pool_stats();
    let body = DbStatus {
        backend: state.db.backend(),
        connected: latency_ms.is_some(),
        latency_ms: latency_ms.map(|ms| (ms * 1000.0).round() / 1000.0),
        pool: PoolStatus {
            size: stats.size,
            idle: stats.idle,
            max: stats.max,
        },
        migrations,
    };
    let status = if body.connected {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// The public signing keys (RFC 7517 JWK set)
///
/// Other services verify access tokens with these keys, choosing by the token's `kid`
/// and taking the algorithm from the key's `alg`: `EdDSA` (`OKP`, `Ed25519`), `ES256`
/// (`EC`, `P-256`) or `RS256` (`RSA`). Access tokens are signed with keys of the kind
/// `ACCESS_TOKEN_ALGORITHM` names (the document's description says which); the set also
/// holds the keys of ID tokens and, after a rotation or an algorithm change, the retired
/// keys until every token they signed has expired. Empty when Roster signs with a shared
/// HS256 secret (`JWT_SECRET_KEY`). Cacheable for a minute.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "system", responses(
    (status = 200, description = "The JWK set", content_type = "application/json", body = Object,
     example = json!({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "x": "...", "kid": "...", "use": "sig", "alg": "EdDSA"},
        {"kty": "EC", "crv": "P-256", "x": "...", "y": "...", "kid": "...", "use": "sig", "alg": "ES256"},
        {"kty": "RSA", "n": "...", "e": "AQAB", "kid": "...", "use": "sig", "alg": "RS256"}]})),
))]
pub async fn jwks(State(state): State<AppState>) -> Response {
    crate::http::jwk_set(state.tokens.key_set().jwks.clone())
}
