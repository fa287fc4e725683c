//! What every response does: problem+json for every error, request ids, security
//! headers, CORS, and the body limit.

use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;

on_both_engines!(
    unknown_routes_and_wrong_methods_are_problems,
    bodies_over_64_kib_are_413,
    wrong_content_types_are_415,
    malformed_json_is_400,
    request_ids_are_generated_or_echoed,
    every_response_says_nosniff,
    cors_allows_only_the_configured_origins,
    error_bodies_never_carry_internals,
);

async fn unknown_routes_and_wrong_methods_are_problems(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.get("/api/v1/nothing-here").send().await.problem(404);
    app.get("/definitely/not").send().await.problem(404);
    let wrong_method = app.get("/api/v1/auth/login").send().await;
    wrong_method.problem(405);
    assert!(wrong_method.header("allow").unwrap().contains("POST"));
    app.delete("/api/v1/auth/register")
        .send()
        .await
        .problem(405);
}

async fn bodies_over_64_kib_are_413(backend: Backend) {
    let app = TestApp::new(backend).await;
    let big = json!({"username": "x".repeat(70 * 1024), "email": "a@example.com", "password": DEFAULT_PASSWORD});
    app.post("/api/v1/auth/register")
        .json(big)
        .send()
        .await
        .problem(413);
    let form = format!("grant_type=password&username={}", "x".repeat(70 * 1024));
    app.post("/api/v1/auth/token")
        .body("application/x-www-form-urlencoded", form)
        .send()
        .await
        .problem(413);
    // Just under the limit is read (and then validated).
    let near = json!({"username": "x".repeat(60 * 1024), "email": "a@example.com", "password": DEFAULT_PASSWORD});
    assert_eq!(
        app.post("/api/v1/auth/register")
            .json(near)
            .send()
            .await
            .failing_fields(),
        ["username"]
    );
}

async fn wrong_content_types_are_415(backend: Backend) {
    let app = TestApp::new(backend).await;
    let body = r#"{"login": "a", "password": "b"}"#;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        app.post("/api/v1/auth/login")
            .body(content_type, body)
            .send()
            .await
            .problem(415);
    }
    app.post("/api/v1/auth/login").send().await.problem(415);
    let charset = app
        .post("/api/v1/auth/login")
        .body("application/json; charset=utf-8", body)
        .send()
        .await;
    charset.problem(401);
}

async fn malformed_json_is_400(backend: Backend) {
    let app = TestApp::new(backend).await;
    for body in [
        "{",
        "{\"login\": }",
        "[]",
        "\"text\"",
        "null",
        "{\"login\":\"a\",\"password\":\"b\"} trailing",
    ] {
        let problem = app
            .post("/api/v1/auth/login")
            .body("application/json", body)
            .send()
            .await
            .problem(400);
        assert_eq!(
            problem["type"], "urn:roster:problem:malformed-request",
            "{body}"
        );
    }
    let invalid_utf8 = app
        .post("/api/v1/auth/login")
        .body("application/json", vec![b'{', 0xff, 0xfe, b'}'])
        .send()
        .await;
    invalid_utf8.problem(400);
}

async fn request_ids_are_generated_or_echoed(backend: Backend) {
    let app = TestApp::new(backend).await;
    let generated = app.get("/").send().await;
    let id = generated.header("x-request-id").expect("a request id");
    assert!(uuid::Uuid::parse_str(id).is_ok());
    let echoed = app
        .get("/api/v1/nope")
        .header("x-request-id", "trace-abc-123")
        .send()
        .await;
    assert_eq!(echoed.header("x-request-id"), Some("trace-abc-123"));
    let error = app.post("/api/v1/auth/login").json(json!({})).send().await;
    assert!(error.header("x-request-id").is_some());
}

async fn every_response_says_nosniff(backend: Backend) {
    let app = TestApp::new(backend).await;
    for response in [
        app.get("/").send().await,
        app.get("/nope").send().await,
        app.get("/metrics").send().await,
        app.get("/api/v1/auth/me").send().await,
    ] {
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    }
}

async fn cors_allows_only_the_configured_origins(backend: Backend) {
    let app = TestApp::builder(backend)
        .env(
            "ALLOWED_ORIGINS",
            "https://app.example, https://admin.example",
        )
        .start()
        .await;
    let preflight = app
        .request(axum::http::Method::OPTIONS, "/api/v1/auth/login")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .send()
        .await;
    assert!(preflight.status.is_success(), "{}", preflight.status);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let foreign = app
        .get("/")
        .header("origin", "https://evil.example")
        .send()
        .await;
    assert_eq!(foreign.header("access-control-allow-origin"), None);
    let any = TestApp::new(backend).await;
    assert_eq!(
        any.get("/")
            .header("origin", "https://anywhere.example")
            .send()
            .await
            .header("access-control-allow-origin"),
        Some("*")
    );
}

async fn error_bodies_never_carry_internals(backend: Backend) {
    let app = TestApp::new(backend).await;
    let responses = [
        app.post("/api/v1/auth/login").body("application/json", "{\"login\": 1e999999, \"password\": \"x\"}").send().await,
        app.post("/api/v1/auth/register").json(json!({"username": "a'; DROP TABLE users; --", "email": "x@example.com", "password": DEFAULT_PASSWORD})).send().await,
        app.post("/api/v1/auth/refresh").json(json!({"refresh_token": "' OR 1=1 --"})).send().await,
        app.get("/api/v1/auth/sessions/%00%ff").send().await,
        app.post("/api/v1/auth/login").json(json!({"login": "\u{0000}", "password": "\u{0000}"})).send().await,
    ];
    for response in responses {
        assert!(
            response.status.is_client_error(),
            "{}: {}",
            response.status,
            response.text
        );
        let text = response.text.to_lowercase();
        for needle in [
            "sqlx",
            "select ",
            "postgres",
            "sqlite",
            "panicked",
            "backtrace",
            "src/",
            ".rs:",
        ] {
            assert!(!text.contains(needle), "{needle} in {text}");
        }
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}
