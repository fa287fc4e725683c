//! Prometheus metrics. The recorder is process-wide (installed once); the handle renders
//! it for `GET /metrics`. Names: `roster_http_requests_total` and
//! `roster_http_request_duration_seconds` by method, route template and status;
//! `roster_logins_total` by result; `roster_token_refreshes_total` by result;
//! `roster_rate_limit_rejections_total`; `roster_active_sessions`; password-hash timing.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide recorder's handle, installing the recorder on first use.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .expect("the latency buckets are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; then ours stays unused.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Prometheus metrics
#[utoipa::path(get, path = "/metrics", tag = "system", responses(
    (status = 200, description = "Prometheus text exposition format", content_type = "text/plain; version=0.0.4", body = String),
))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    match crate::auth::sessions::count_active(&state.db, state.clock.now()).await {
        Ok(active) => metrics::gauge!("roster_active_sessions").set(active as f64),
        Err(e) => tracing::warn!(error = %e, "could not count active sessions for /metrics"),
    }
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
