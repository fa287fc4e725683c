//! System endpoints: information, health, database status, metrics, OpenAPI and the docs,
//! plus the walk-through over a real socket.

use serde_json::{Value, json};

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;

on_both_engines!(
    root_names_the_service,
    health_checks_the_database_and_says_503_when_it_is_gone,
    db_status_reports_backend_pool_and_migrations,
    metrics_count_requests_by_route_logins_and_sessions,
    openapi_documents_every_route_with_its_errors,
    docs_and_redoc_are_served_from_the_binary,
    the_readme_walkthrough_works_over_a_real_socket,
);

async fn root_names_the_service(backend: Backend) {
    let app = TestApp::new(backend).await;
    let body = app.get("/").send().await.json();
    assert_eq!(body["name"], "roster");
    assert_eq!(body["docs"], "/docs");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

async fn health_checks_the_database_and_says_503_when_it_is_gone(backend: Backend) {
    let app = TestApp::new(backend).await;
    let healthy = app.get("/health").send().await;
    assert_eq!(healthy.status, 200);
    let body = healthy.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert!(body["uptime_seconds"].is_u64());
    app.state.db.close().await;
    let started = std::time::Instant::now();
    let degraded = app.get("/health").send().await;
    assert_eq!(degraded.status, 503);
    assert_eq!(degraded.json()["status"], "degraded");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    let status = app.get("/db/status").send().await;
    assert_eq!(status.status, 503);
    assert_eq!(status.json()["connected"], false);
    // API calls fail with a 503 problem, not a 500.
    app.post("/api/v1/auth/login")
        .json(json!({"login": "a", "password": "b"}))
        .send()
        .await
        .problem(503);
}

/// The first burst after a start must not wait for new PostgreSQL server processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_opens_db_pool_size_connections_at_start() {
    let first = TestApp::new(Backend::Postgres).await;
    let app = first
        .restarted_with(&[("DB_POOL_SIZE", "10"), ("DB_MAX_OVERFLOW", "2")])
        .await;
    let started = std::time::Instant::now();
    loop {
        let pool = app.get("/db/status").send().await.json()["pool"].clone();
        assert_eq!(pool["max"], 12);
        let size = pool["size"].as_u64().unwrap();
        // Without it the pool holds the 4 or 5 connections start-up happened to use.
        if size >= 10 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the pool stayed at {pool}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn db_status_reports_backend_pool_and_migrations(backend: Backend) {
    let app = TestApp::new(backend).await;
    let body = app.get("/db/status").send().await.json();
    assert_eq!(
        body["backend"],
        if backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
    assert_eq!(body["connected"], true);
    assert!(body["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(body["pool"]["max"], 6);
    assert!(body["migrations"]["applied"].as_i64().unwrap() >= 1);
    assert_eq!(body["migrations"]["applied"], body["migrations"]["latest"]);
    let text = body.to_string();
    assert!(
        !text.contains("postgres://") && !text.contains("roster.db"),
        "{text}"
    );
}

async fn metrics_count_requests_by_route_logins_and_sessions(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    app.post("/api/v1/auth/login")
        .json(json!({"login": session.username, "password": "Wrong-1"}))
        .send()
        .await;
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": session.refresh_token}))
        .send()
        .await;
    let response = app.get("/metrics").send().await;
    assert_eq!(response.status, 200);
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text;
    for needle in [
        "roster_http_requests_total{method=\"POST\",route=\"/api/v1/auth/login\",status=\"200\"}",
        "roster_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/auth/register\",status=\"201\"",
        "roster_logins_total{result=\"success\"}",
        "roster_logins_total{result=\"failure\"}",
        "roster_token_refreshes_total{result=\"rotated\"}",
        "roster_active_sessions",
    ] {
        assert!(text.contains(needle), "missing {needle}");
    }
    assert!(!text.contains(&session.access_token) && !text.contains(&session.refresh_token));
}

async fn openapi_documents_every_route_with_its_errors(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doc: Value = app.get("/openapi.json").send().await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("post", "/api/v1/auth/register"),
        ("post", "/api/v1/auth/login"),
        ("post", "/api/v1/auth/token"),
        ("post", "/api/v1/auth/refresh"),
        ("post", "/api/v1/auth/logout"),
        ("post", "/api/v1/auth/logout-all"),
        ("get", "/api/v1/auth/me"),
        ("get", "/api/v1/auth/sessions"),
        ("delete", "/api/v1/auth/sessions/{session_id}"),
        ("post", "/api/v1/auth/change-password"),
        ("get", "/"),
        ("get", "/health"),
        ("get", "/db/status"),
        ("get", "/metrics"),
        ("get", "/openapi.json"),
        ("get", "/docs"),
        ("get", "/redoc"),
        ("get", "/.well-known/jwks.json"),
    ];
    for (method, path) in expected {
        let operation = &paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not documented"))[method];
        assert!(operation.is_object(), "{method} {path}");
        assert!(
            operation["responses"]
                .as_object()
                .is_some_and(|r| !r.is_empty()),
            "{method} {path} has no responses"
        );
    }
    // Every documented operation answers something, and authenticated ones document 401.
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            if operation.get("security").is_some() {
                assert!(
                    operation["responses"].get("401").is_some(),
                    "{method} {path} lacks 401"
                );
            }
        }
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

async fn docs_and_redoc_are_served_from_the_binary(backend: Backend) {
    let app = TestApp::new(backend).await;
    let redirect = app.get("/docs").send().await;
    assert!(redirect.status.is_redirection());
    let swagger = app.get("/docs/").send().await;
    assert_eq!(swagger.status, 200);
    assert!(swagger.text.contains("swagger-ui"));
    let initializer = app.get("/docs/swagger-initializer.js").send().await;
    assert!(
        initializer.text.contains("/openapi.json"),
        "{}",
        initializer.text
    );
    let redoc = app.get("/redoc").send().await;
    assert_eq!(redoc.status, 200);
    assert!(
        redoc.text.contains("/redoc/redoc.standalone.js") && redoc.text.contains("/openapi.json")
    );
    for page in [&swagger.text, &redoc.text] {
        assert!(
            !page.contains("https://") && !page.contains("http://"),
            "the docs load nothing from elsewhere"
        );
    }
    let bundle = app.get("/redoc/redoc.standalone.js").send().await;
    assert_eq!(bundle.status, 200);
    assert!(bundle.text.len() > 500_000);
}

async fn the_readme_walkthrough_works_over_a_real_socket(backend: Backend) {
    let app = TestApp::new(backend).await;
    let base = app.serve().await;
    let client = reqwest::Client::new();
    let registered = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"username": "alice", "email": "alice@example.com", "password": DEFAULT_PASSWORD, "full_name": "Alice Example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let pair: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"login": "alice", "password": DEFAULT_PASSWORD, "device_name": "laptop"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = pair["access_token"].as_str().unwrap();
    let me = client
        .get(format!("{base}/api/v1/auth/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let sessions: Value = client
        .get(format!("{base}/api/v1/auth/sessions"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sessions["items"][0]["ip"], "127.0.0.1");
    let refreshed: Value = client
        .post(format!("{base}/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": pair["refresh_token"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = refreshed["access_token"].as_str().unwrap();
    let logout = client
        .post(format!("{base}/api/v1/auth/logout"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let after = client
        .get(format!("{base}/api/v1/auth/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
}
