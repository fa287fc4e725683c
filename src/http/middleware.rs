//! The middleware every request passes through, outermost first: request id (set or
//! echoed), tracing span, panic catching, problem+json for every error response,
//! security headers, CORS, the client address (trusted proxies), metrics by route
//! template, the modules served (`FEATURES`), the request deadline, and the 64 KiB body
//! limit; and the authentication
//! cache's sync after writes ([`sync_after_writes`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::coherence::{CacheChanged, CacheUnaffected};
use crate::config::{AllowedOrigins, Config};
use crate::error::{
    ApiError, InternalErrorMarker, PROBLEM_JSON, generic_problem, problem_response,
};
use crate::i18n::message_key;
use crate::state::AppState;

pub const BODY_LIMIT: usize = 64 * 1024;
static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Runs the request with the deployment's modules (`FEATURES`) in scope, for the fields
/// of answers that belong to a module (see `crate::features`).
async fn serve_features(
    State(features): State<crate::config::Features>,
    request: Request,
    next: Next,
) -> Response {
    crate::features::scope(features, next.run(request)).await
}

/// Wraps `router` in the full middleware stack.
pub fn stack(router: Router, config: &Config) -> Router {
    let router = router
        .fallback(|| async { ApiError::not_found("resource", message_key("not-found-resource")) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            config.http.request_timeout,
            request_deadline,
        ))
        .layer(middleware::from_fn(record_metrics))
        .layer(middleware::from_fn_with_state(
            config.features,
            serve_features,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::<[ipnet::IpNet]>::from(config.http.trusted_proxies.as_slice()),
            super::client::resolve_client_addr,
        ));
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|request: &Request| {
                        let id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                        tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
                    })
                    .on_request(())
                    .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Micros)),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
            .layer(middleware::from_fn(problem_details))
            .layer(CatchPanicLayer::custom(|_| {
                tracing::error!("a request handler panicked");
                ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
            }))
            .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
            .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
            .layer(cors(config)),
    )
}

fn cors(config: &Config) -> CorsLayer {
    let origins = match &config.http.allowed_origins {
        AllowedOrigins::Any => AllowOrigin::any(),
        AllowedOrigins::List(list) => {
            AllowOrigin::list(list.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
        }
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            REQUEST_ID.clone(),
        ])
        .expose_headers([
            REQUEST_ID.clone(),
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
            header::LOCATION,
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// Gives every error response a problem+json body: those produced outside handlers
/// (unknown route, wrong method, body limit, extractor rejections) get one for their
/// status, and 500s get the request id to quote. OAuth error JSON passes through.
async fn problem_details(request: Request, next: Next) -> Response {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let status = response.status();
    if status.as_u16() < 400 {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_internal = response.extensions().get::<InternalErrorMarker>().is_some();
    let is_problem = content_type.starts_with(PROBLEM_JSON);
    // JSON errors are already problems or RFC 6749 errors; HTML pages say what went wrong.
    if (is_problem && !is_internal)
        || content_type.starts_with("application/json")
        || content_type.starts_with("text/html")
    {
        return response;
    }
    let (parts, _) = response.into_parts();
    let mut problem = generic_problem(status);
    if status == StatusCode::INTERNAL_SERVER_ERROR || is_internal {
        problem.request_id = request_id;
    }
    let mut rebuilt = problem_response(status, &problem);
    for name in [
        header::ALLOW,
        header::RETRY_AFTER,
        header::WWW_AUTHENTICATE,
        header::CACHE_CONTROL,
    ] {
        if let Some(value) = parts.headers.get(&name) {
            rebuilt.headers_mut().insert(name, value.clone());
        }
    }
    rebuilt
}

/// Answers 503 when a request has not been answered within `REQUEST_TIMEOUT_SECONDS`,
/// so that a stalled dependency (a database that accepted the connection but never
/// answers) cannot hold a client forever. The handler's future is dropped, which rolls
/// back its open transaction.
async fn request_deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!("roster_request_timeouts_total").increment(1);
            ApiError::Unavailable(format!(
                "the request could not be completed within {} s",
                limit.as_secs()
            ))
            .into_response()
        }
    }
}

/// Counts requests and their latency by method, route template and status.
async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("roster_http_requests_total", &labels).increment(1);
    metrics::histogram!("roster_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        metrics::counter!("roster_rate_limit_rejections_total", "route" => labels[1].1.clone())
            .increment(1);
    }
    response
}

/// After each request that appended events (committed by the time its handler
/// answers), wakes the sequencer to number them now rather than at its next poll.
pub async fn number_events_after_commit(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (response, appended) = crate::events::wakeup::watching(next.run(request)).await;
    if appended {
        state.events_appended.notify();
    }
    response
}

/// After each request that may have written (any method but GET, HEAD and OPTIONS, and
/// those when their response is marked [`CacheChanged`]), waits for the change feed to
/// sync before the response goes out, so that what the request changed is seen by every
/// instance from the next request on.
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
    let extensions = response.extensions();
    let changed = extensions.get::<CacheChanged>().is_some()
        || (writes && extensions.get::<CacheUnaffected>().is_none());
    if changed {
        state.changes.sync().await;
    }
    response
}
