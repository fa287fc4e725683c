//! The "recent" rule of the sensitive endpoints and re-authentication.

use chrono::Duration;
use roster::clock::Clock;

use serde_json::json;

use super::{enrol_totp, fresh_code};
use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp, claims};
use crate::on_both_engines;

on_both_engines!(
    an_old_session_must_reauthenticate_before_sensitive_changes,
    reauthentication_needs_the_second_factor_when_there_is_one,
    the_window_follows_the_configuration,
    wrong_reauthentication_passwords_count_toward_the_lockout,
    wrong_codes_at_reauthentication_lock_even_after_right_passwords,
);

async fn an_old_session_must_reauthenticate_before_sensitive_changes(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let first = claims(&session.access_token);
    assert_eq!(first["amr"], json!(["pwd"]));
    assert!(first["auth_time"].is_i64());
    app.clock.advance(Duration::seconds(11 * 60));
    // Refreshing keeps the old auth_time: a refresh is no authentication.
    let response = app
        .post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": session.refresh_token}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let refreshed = response.json();
    let access = refreshed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&access)["auth_time"], first["auth_time"]);
    for (method, path) in [
        ("POST", "/api/v1/auth/mfa/totp"),
        ("POST", "/api/v1/auth/mfa/recovery-codes"),
        ("POST", "/api/v1/auth/mfa/passkeys/options"),
        ("DELETE", "/api/v1/auth/mfa/totp"),
    ] {
        let response = app
            .request(method.parse().unwrap(), path)
            .bearer(&access)
            .send()
            .await;
        let problem = response.problem(403);
        assert_eq!(
            problem["type"], "urn:roster:problem:reauthentication-required",
            "{method} {path}"
        );
    }
    // GET /mfa is not marked recent.
    assert_eq!(
        app.get("/api/v1/auth/mfa")
            .bearer(&access)
            .send()
            .await
            .status,
        200
    );

    let response = app
        .post("/api/v1/auth/reauthenticate")
        .bearer(&access)
        .json(json!({"password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let renewed = response.json();
    assert_eq!(renewed["session_id"], session.session_id.as_str());
    let renewed_access = renewed["access_token"].as_str().unwrap();
    let renewed_claims = claims(renewed_access);
    assert_eq!(renewed_claims["auth_time"], app.clock.now().timestamp());
    assert_eq!(renewed_claims["amr"], json!(["pwd"]));
    let response = app
        .post("/api/v1/auth/mfa/totp")
        .bearer(renewed_access)
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    // The session keeps one live refresh token: the new one works, the one before it
    // counts as used.
    let response = app
        .post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": renewed["refresh_token"]}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        claims(response.json()["access_token"].as_str().unwrap())["auth_time"],
        renewed_claims["auth_time"]
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'reauthenticated'")
            .await,
        1
    );

    let response = app
        .post("/api/v1/auth/reauthenticate")
        .bearer(renewed_access)
        .json(json!({"password": "Wrong-Password-123"}))
        .send()
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.fields(400), ["password"]);
}

async fn reauthentication_needs_the_second_factor_when_there_is_one(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let (secret, codes) = enrol_totp(&app, &session).await;
    let response = app
        .post("/api/v1/auth/reauthenticate")
        .bearer(&session.access_token)
        .json(json!({"password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(response.status, 422);
    assert_eq!(response.failing_fields(), ["code"]);
    let response = app
        .post("/api/v1/auth/reauthenticate")
        .bearer(&session.access_token)
        .json(json!({"password": DEFAULT_PASSWORD, "code": "000000"}))
        .send()
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.fields(400), ["code"]);
    let response = app
        .post("/api/v1/auth/reauthenticate")
        .bearer(&session.access_token)
        .json(json!({"password": DEFAULT_PASSWORD, "code": fresh_code(&app, &secret)}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        claims(response.json()["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    let response = app
        .post("/api/v1/auth/reauthenticate")
        .bearer(response.json()["access_token"].as_str().unwrap())
        .json(json!({"password": DEFAULT_PASSWORD, "recovery_code": codes[0]}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
}

async fn the_window_follows_the_configuration(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("REAUTH_MAX_AGE_MINUTES", "1")
        .start()
        .await;
    let session = app.user().await;
    app.clock.advance(Duration::seconds(50));
    let response = app
        .post("/api/v1/auth/mfa/totp")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    app.clock.advance(Duration::seconds(20));
    let response = app
        .post("/api/v1/auth/mfa/totp")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, 403);
}

async fn wrong_reauthentication_passwords_count_toward_the_lockout(backend: Backend) {
    let app = TestApp::with_cheap_hashing(backend).await;
    let session = app.user().await;
    for _ in 0..5 {
        let response = app
            .post("/api/v1/auth/reauthenticate")
            .bearer(&session.access_token)
            .json(json!({"password": "Wrong-Password-123"}))
            .send()
            .await;
        assert_eq!(response.status, 400, "{}", response.text);
    }
    let response = app
        .post("/api/v1/auth/reauthenticate")
        .bearer(&session.access_token)
        .json(json!({"password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(response.status, 429, "{}", response.text);
    assert_eq!(
        crate::mfa::password_login(&app, &session.username, DEFAULT_PASSWORD)
            .await
            .status,
        429
    );
}

/// Re-authentication with the right password and a wrong code, over and over.
async fn reauthenticate_with(app: &TestApp, access: &str, code: &str) -> u16 {
    app.post("/api/v1/auth/reauthenticate")
        .bearer(access)
        .json(json!({"password": DEFAULT_PASSWORD, "code": code}))
        .send()
        .await
        .status
        .as_u16()
}

/// Third review, finding 2: the right password used to clear the account's failures
/// before each wrong code was counted, so codes could be guessed without limit.
async fn wrong_codes_at_reauthentication_lock_even_after_right_passwords(backend: Backend) {
    let app = TestApp::with_cheap_hashing(backend).await;
    let session = app.user().await;
    let (secret, _) = enrol_totp(&app, &session).await;
    for attempt in 0..5 {
        assert_eq!(
            reauthenticate_with(&app, &session.access_token, "000000").await,
            400,
            "wrong code {attempt}"
        );
    }
    // Locked as /mfa/verify locks: the right password and even the right code wait.
    let code = fresh_code(&app, &secret);
    assert_eq!(
        reauthenticate_with(&app, &session.access_token, &code).await,
        429
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'mfa_failed'")
            .await,
        5
    );
    // Once the lock is over, the right code works and clears the count.
    app.clock.advance(Duration::seconds(61));
    let code = fresh_code(&app, &secret);
    assert_eq!(
        reauthenticate_with(&app, &session.access_token, &code).await,
        200
    );
}
