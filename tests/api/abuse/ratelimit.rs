//! Per-client rate limits on the authentication endpoints: in memory, shared through
//! Redis by several instances, and what happens when Redis is gone.

use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;

use crate::helpers::{Backend, TestApp, TestResponse};
use crate::on_both_engines;

on_both_engines!(
    auth_endpoints_share_one_budget_per_client_address,
    the_budget_refills_over_the_minute,
    rejections_are_counted_in_metrics,
    instances_share_one_budget_through_redis,
    without_redis_each_instance_limits_on_its_own_and_stays_fast,
    the_openapi_document_lists_429_and_503,
);

/// One request to each rate-limited endpoint, in turn, from `ip`.
async fn auth_request(app: &TestApp, n: usize, ip: &str) -> TestResponse {
    let request = match n % 4 {
        0 => app
            .post("/api/v1/auth/register")
            .json(json!({"username": "x"})),
        1 => app
            .post("/api/v1/auth/login")
            .json(json!({"login": format!("nobody{n}"), "password": "Wrong-1"})),
        2 => app
            .post("/api/v1/auth/token")
            .form(&[("grant_type", "refresh_token"), ("refresh_token", "nope")]),
        _ => app
            .post("/api/v1/auth/refresh")
            .json(json!({"refresh_token": "nope"})),
    };
    request.from_ip(ip).send().await
}

fn assert_rate_limited(response: &TestResponse) -> u64 {
    let body = response.problem(429);
    assert_eq!(body["type"], "urn:roster:problem:rate-limited");
    response
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds")
}

async fn limited_app(backend: Backend, per_minute: &str) -> TestApp {
    TestApp::builder(backend)
        .env("RATE_LIMIT_AUTH_PER_MINUTE", per_minute)
        .env("ARGON2_MEMORY_KIB", "1024")
        .env("ARGON2_ITERATIONS", "1")
        .start()
        .await
}

async fn auth_endpoints_share_one_budget_per_client_address(backend: Backend) {
    let app = limited_app(backend, "4").await;
    for n in 0..4 {
        let response = auth_request(&app, n, "198.51.100.1").await;
        assert_ne!(response.status, 429, "request {n}: {}", response.text);
    }
    for n in 0..4 {
        let retry_after = assert_rate_limited(&auth_request(&app, n, "198.51.100.1").await);
        assert_eq!(retry_after, 15, "one request every 60/4 s");
    }
    // Another client has its own budget; IPv6 clients are counted by their /64.
    assert_ne!(auth_request(&app, 1, "198.51.100.2").await.status, 429);
    for n in 0..4 {
        let ip = format!("2001:db8:0:7::{n}");
        assert_ne!(auth_request(&app, n, &ip).await.status, 429);
    }
    assert_rate_limited(&auth_request(&app, 1, "2001:db8:0:7::ff").await);
    assert_ne!(auth_request(&app, 1, "2001:db8:0:8::1").await.status, 429);
    // Other endpoints are not limited.
    for _ in 0..5 {
        assert_eq!(
            app.get("/health")
                .from_ip("198.51.100.1")
                .send()
                .await
                .status,
            200
        );
        app.get("/api/v1/auth/me")
            .from_ip("198.51.100.1")
            .send()
            .await
            .problem(401);
    }
}

async fn the_budget_refills_over_the_minute(backend: Backend) {
    let app = limited_app(backend, "3").await;
    for n in 0..3 {
        assert_ne!(auth_request(&app, n, "203.0.113.5").await.status, 429);
    }
    assert_eq!(
        assert_rate_limited(&auth_request(&app, 1, "203.0.113.5").await),
        20
    );
    app.clock.advance(chrono::Duration::seconds(20));
    assert_ne!(auth_request(&app, 1, "203.0.113.5").await.status, 429);
    assert_rate_limited(&auth_request(&app, 1, "203.0.113.5").await);
    app.clock.advance(chrono::Duration::minutes(1));
    for n in 0..3 {
        assert_ne!(auth_request(&app, n, "203.0.113.5").await.status, 429);
    }
    assert_rate_limited(&auth_request(&app, 3, "203.0.113.5").await);
}

async fn rejections_are_counted_in_metrics(backend: Backend) {
    let app = limited_app(backend, "1").await;
    let ip = "192.0.2.77";
    auth_request(&app, 1, ip).await;
    let before = rejections(&app, "/api/v1/auth/login").await;
    for _ in 0..3 {
        assert_rate_limited(&auth_request(&app, 1, ip).await);
    }
    // The recorder is shared by every test in this process: at least our three.
    assert!(rejections(&app, "/api/v1/auth/login").await >= before + 3.0);
}

/// `roster_rate_limit_rejections_total{route=...}` as /metrics reports it.
async fn rejections(app: &TestApp, route: &str) -> f64 {
    let text = app.get("/metrics").send().await.text;
    let prefix = format!("roster_rate_limit_rejections_total{{route=\"{route}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.trim().parse().expect("a number"))
        .unwrap_or(0.0)
}

/// Instances configured to count in the local Redis under a prefix of their own.
async fn redis_app(backend: Backend, per_minute: &str, prefix: &str) -> TestApp {
    TestApp::builder(backend)
        .env("RATE_LIMIT_AUTH_PER_MINUTE", per_minute)
        .env("REDIS_URL", "redis://127.0.0.1:6379")
        .env("REDIS_KEY_PREFIX", prefix)
        .start()
        .await
}

async fn redis_keys(prefix: &str) -> Vec<String> {
    let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut connection = tokio::time::timeout(
        Duration::from_secs(5),
        client.get_multiplexed_async_connection(),
    )
    .await
    .expect("Redis answers in time")
    .expect("Redis must be running on 127.0.0.1:6379 (see .ci/run)");
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .unwrap()
}

async fn instances_share_one_budget_through_redis(backend: Backend) {
    let prefix = format!("roster-test:{}:", Uuid::new_v4().simple());
    let app = redis_app(backend, "4", &prefix).await;
    let other = app.sibling().await;
    let ip = "198.51.100.9";
    for n in 0..4 {
        let instance = if n % 2 == 0 { &app } else { &other };
        assert_ne!(auth_request(instance, n, ip).await.status, 429);
    }
    // Both instances see the budget spent.
    assert_eq!(assert_rate_limited(&auth_request(&app, 1, ip).await), 15);
    assert_rate_limited(&auth_request(&other, 2, ip).await);
    // A restart does not forget it either.
    let restarted = app.restarted_with(&[]).await;
    assert_rate_limited(&auth_request(&restarted, 3, ip).await);
    // Another client is unaffected, and the counters live under our prefix only.
    assert_ne!(auth_request(&other, 1, "198.51.100.10").await.status, 429);
    let mut keys = redis_keys(&prefix).await;
    keys.sort();
    assert_eq!(
        keys,
        [
            format!("{prefix}ratelimit:auth:198.51.100.10"),
            format!("{prefix}ratelimit:auth:198.51.100.9"),
        ]
    );
    // Time moves on for all instances alike (they read the time they are given).
    app.clock.advance(chrono::Duration::seconds(15));
    assert_ne!(auth_request(&app, 1, ip).await.status, 429);
}

async fn without_redis_each_instance_limits_on_its_own_and_stays_fast(backend: Backend) {
    // A port where nothing listens: Redis is "down" from the start.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let app = TestApp::builder(backend)
        .env("RATE_LIMIT_AUTH_PER_MINUTE", "3")
        .env("REDIS_URL", format!("redis://127.0.0.1:{closed}"))
        .start()
        .await;
    let ip = "198.51.100.20";
    for n in 0..3 {
        let started = Instant::now();
        let response = auth_request(&app, n, ip).await;
        assert_ne!(response.status, 429, "{}", response.text);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }
    // Not open: the in-memory counters still stop the fourth request.
    let started = Instant::now();
    assert_rate_limited(&auth_request(&app, 3, ip).await);
    assert!(started.elapsed() < Duration::from_secs(1));
    let metrics = app.get("/metrics").send().await.text;
    assert!(
        metrics.contains("roster_rate_limit_backend_errors_total"),
        "{metrics}"
    );
}

async fn the_openapi_document_lists_429_and_503(backend: Backend) {
    let app = TestApp::new(backend).await;
    let document = app.get("/openapi.json").send().await.json();
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/token",
        "/api/v1/auth/refresh",
    ] {
        let responses = &document["paths"][path]["post"]["responses"];
        let limited = &responses["429"];
        assert!(
            limited["content"]["application/problem+json"].is_object(),
            "{path}: {limited}"
        );
        assert!(limited["headers"]["Retry-After"].is_object(), "{path}");
        assert!(
            responses["503"]["content"]["application/problem+json"].is_object(),
            "{path}"
        );
    }
    // Not rate limited, but the database may be down.
    let me = &document["paths"]["/api/v1/auth/me"]["get"]["responses"];
    assert!(me["429"].is_null());
    assert!(me["503"].is_object());
}
