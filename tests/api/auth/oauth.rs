//! The OAuth2 token endpoint: form bodies, both grants, RFC 6749 success and error shapes.

use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;

on_both_engines!(
    password_grant_answers_rfc_6749_json_with_no_store,
    refresh_token_grant_rotates,
    token_errors_follow_rfc_6749,
    the_token_endpoint_takes_only_form_bodies,
);

async fn password_grant_answers_rfc_6749_json_with_no_store(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.register("leo", DEFAULT_PASSWORD).await;
    for content_type in [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "application/x-www-form-urlencoded;charset=ISO-8859-1",
    ] {
        let body = serde_urlencoded::to_string([
            ("grant_type", "password"),
            ("username", "leo"),
            ("password", DEFAULT_PASSWORD),
            ("client_id", "spa"),
            ("scope", "openid profile"),
        ])
        .unwrap();
        let response = app
            .post("/api/v1/auth/token")
            .body(content_type, body)
            .send()
            .await;
        assert_eq!(response.status, 200, "{content_type}: {}", response.text);
        assert_eq!(response.header("cache-control"), Some("no-store"));
        assert_eq!(response.header("pragma"), Some("no-cache"));
        let token = response.json();
        assert_eq!(token["token_type"], "Bearer");
        assert_eq!(token["expires_in"], 900);
        assert!(token["access_token"].is_string() && token["refresh_token"].is_string());
        assert_eq!(
            app.get("/api/v1/auth/me")
                .bearer(token["access_token"].as_str().unwrap())
                .send()
                .await
                .status,
            200
        );
    }
    // An email works as the username, as OAuth clients often send it.
    let by_email = app
        .post("/api/v1/auth/token")
        .form(&[
            ("grant_type", "password"),
            ("username", "leo@example.com"),
            ("password", DEFAULT_PASSWORD),
        ])
        .send()
        .await;
    assert_eq!(by_email.status, 200);
}

async fn refresh_token_grant_rotates(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let first = app
        .post("/api/v1/auth/token")
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &session.refresh_token),
        ])
        .send()
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("cache-control"), Some("no-store"));
    app.clock.advance(chrono::Duration::seconds(11));
    let reused = app
        .post("/api/v1/auth/token")
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &session.refresh_token),
        ])
        .send()
        .await;
    assert_eq!(reused.status, 400);
    assert_eq!(reused.json()["error"], "invalid_grant");
    let rotated = first.json()["refresh_token"].as_str().unwrap().to_owned();
    let after_reuse = app
        .post("/api/v1/auth/token")
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &rotated)])
        .send()
        .await;
    assert_eq!(
        after_reuse.json()["error"],
        "invalid_grant",
        "reuse revoked the session"
    );
}

async fn token_errors_follow_rfc_6749(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.register("mia", DEFAULT_PASSWORD).await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("grant_type", "password"),
                ("username", "mia"),
                ("password", "Wrong-Password-1"),
            ],
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("username", "nobody"),
                ("password", "Wrong-Password-1"),
            ],
            "invalid_grant",
        ),
        (
            vec![("grant_type", "password"), ("username", "mia")],
            "invalid_request",
        ),
        (
            vec![("username", "mia"), ("password", DEFAULT_PASSWORD)],
            "invalid_request",
        ),
        (
            vec![("grant_type", "client_credentials")],
            "unsupported_grant_type",
        ),
        (vec![("grant_type", "refresh_token")], "invalid_request"),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", "garbage"),
            ],
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("grant_type", "password"),
                ("username", "mia"),
                ("password", DEFAULT_PASSWORD),
            ],
            "invalid_request",
        ),
    ];
    for (form, error) in cases {
        let response = app.post("/api/v1/auth/token").form(&form).send().await;
        assert_eq!(response.status, 400, "{form:?}: {}", response.text);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.header("cache-control"), Some("no-store"));
        let body = response.json();
        assert_eq!(body["error"], error, "{form:?}");
        assert!(body["error_description"].is_string());
    }
    let unknown = app
        .post("/api/v1/auth/token")
        .form(&[
            ("grant_type", "password"),
            ("username", "nobody"),
            ("password", "Wrong-Password-1"),
        ])
        .send()
        .await;
    let wrong = app
        .post("/api/v1/auth/token")
        .form(&[
            ("grant_type", "password"),
            ("username", "mia"),
            ("password", "Wrong-Password-1"),
        ])
        .send()
        .await;
    assert_eq!(unknown.text, wrong.text);
}

async fn the_token_endpoint_takes_only_form_bodies(backend: Backend) {
    let app = TestApp::new(backend).await;
    let response = app
        .post("/api/v1/auth/token")
        .json(json!({"grant_type": "password", "username": "a", "password": "b"}))
        .send()
        .await;
    response.problem(415);
    app.post("/api/v1/auth/token").send().await.problem(415);
}
