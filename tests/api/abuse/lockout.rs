//! Brute force per login identifier: concurrent guesses, growing locks, the token
//! endpoint, password reset, and sessions that outlive a lock.

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;

on_both_engines!(
    a_locked_account_keeps_its_existing_sessions,
    concurrent_guesses_cannot_exceed_the_failure_limit,
    concurrent_first_logins_within_the_limit_all_succeed,
    locks_grow_to_fifteen_minutes_and_stay_there,
    the_token_endpoint_counts_and_honours_the_same_lock,
    a_password_reset_clears_every_spelling_of_the_account,
    an_attempt_refused_for_the_account_lock_is_no_guess_against_its_identifier,
);

async fn fail_login(app: &TestApp, login: &str) -> crate::helpers::TestResponse {
    app.post("/api/v1/auth/login")
        .json(json!({"login": login, "password": "Wrong-Password-1"}))
        .send()
        .await
}

async fn a_locked_account_keeps_its_existing_sessions(backend: Backend) {
    let app = TestApp::with_cheap_hashing(backend).await;
    app.register("mona", DEFAULT_PASSWORD).await;
    let session = app.login("mona", DEFAULT_PASSWORD).await;
    for _ in 0..5 {
        fail_login(&app, "mona").await.problem(401);
    }
    app.post("/api/v1/auth/login")
        .json(json!({"login": "mona", "password": DEFAULT_PASSWORD}))
        .send()
        .await
        .problem(429);
    // The lock stops new logins, not the sessions the owner already has.
    let me = app
        .get("/api/v1/auth/me")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    let refreshed = app
        .post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": session.refresh_token}))
        .send()
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    let sessions = app
        .get("/api/v1/auth/sessions")
        .bearer(refreshed.json()["access_token"].as_str().unwrap())
        .send()
        .await;
    assert_eq!(sessions.json()["items"].as_array().unwrap().len(), 1);
}

async fn concurrent_guesses_cannot_exceed_the_failure_limit(backend: Backend) {
    let app = TestApp::with_cheap_hashing(backend).await;
    app.register("nora", DEFAULT_PASSWORD).await;
    let guesses: Vec<_> = (0..20)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post("/api/v1/auth/login")
                    .json(json!({"login": "NORA", "password": format!("Guess-{i}")}))
                    .send()
                    .await
            })
        })
        .collect();
    let mut checked = 0;
    let mut refused = 0;
    for guess in guesses {
        let response = guess.await.unwrap();
        match response.status.as_u16() {
            401 => checked += 1,
            429 => {
                assert!(response.header("retry-after").is_some());
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", response.text),
        }
    }
    // At most LOGIN_MAX_FAILURES passwords were checked, however the requests raced.
    assert!(checked <= 5, "{checked} guesses were checked");
    assert_eq!(checked + refused, 20);
    // And the identifier is locked now, for the right password too.
    app.post("/api/v1/auth/login")
        .json(json!({"login": "nora", "password": DEFAULT_PASSWORD}))
        .send()
        .await
        .problem(429);
}

/// Attempts are counted before their passwords are checked; the first attempts for an
/// identifier, sent at the same moment, must all be counted (one creates the record, the
/// others increment it), never refused because they raced to create it.
async fn concurrent_first_logins_within_the_limit_all_succeed(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("ARGON2_MEMORY_KIB", "1024")
        .env("ARGON2_ITERATIONS", "1")
        .env("LOGIN_MAX_FAILURES", "1000")
        .start()
        .await;
    app.register("olga", DEFAULT_PASSWORD).await;
    for round in 0..5 {
        let logins: Vec<_> = (0..16)
            .map(|_| {
                let app = app.clone();
                tokio::spawn(async move {
                    app.post("/api/v1/auth/login")
                        .json(json!({"login": "olga", "password": DEFAULT_PASSWORD}))
                        .send()
                        .await
                })
            })
            .collect();
        for login in logins {
            let response = login.await.unwrap();
            assert_eq!(
                response.status,
                StatusCode::OK,
                "round {round}: {}",
                response.text
            );
        }
    }
}

async fn locks_grow_to_fifteen_minutes_and_stay_there(backend: Backend) {
    let app = TestApp::with_cheap_hashing(backend).await;
    let mut retry_afters = Vec::new();
    for _ in 0..6 {
        for _ in 0..5 {
            fail_login(&app, "Ghost.User").await.problem(401);
        }
        let locked = fail_login(&app, "ghost.user").await;
        locked.problem(429);
        let seconds: i64 = locked.header("retry-after").unwrap().parse().unwrap();
        retry_afters.push(seconds);
        app.clock.advance(chrono::Duration::seconds(seconds + 1));
    }
    assert_eq!(retry_afters, [60, 120, 240, 480, 900, 900]);
    // A day without attempts starts the doubling over.
    app.clock.advance(chrono::Duration::days(2));
    for _ in 0..5 {
        fail_login(&app, "ghost.user").await.problem(401);
    }
    assert_eq!(
        fail_login(&app, "ghost.user").await.header("retry-after"),
        Some("60")
    );
}

async fn the_token_endpoint_counts_and_honours_the_same_lock(backend: Backend) {
    let app = TestApp::with_cheap_hashing(backend).await;
    app.register("olga", DEFAULT_PASSWORD).await;
    let token = |password: &'static str| {
        app.post("/api/v1/auth/token").form(&[
            ("grant_type", "password"),
            ("username", "olga"),
            ("password", password),
        ])
    };
    for _ in 0..3 {
        assert_eq!(token("Wrong-Password-1").send().await.status, 400);
    }
    for _ in 0..2 {
        fail_login(&app, "OLGA").await.problem(401);
    }
    let locked = token(DEFAULT_PASSWORD).send().await;
    assert_eq!(locked.status, 429, "{}", locked.text);
    assert_eq!(locked.header("retry-after"), Some("60"));
    assert_eq!(locked.json()["error"], "invalid_grant");
}

async fn a_password_reset_clears_every_spelling_of_the_account(backend: Backend) {
    let app = TestApp::with_cheap_hashing(backend).await;
    let user = app.register("petra", DEFAULT_PASSWORD).await;
    for _ in 0..5 {
        fail_login(&app, "petra").await.problem(401);
    }
    // The account is locked, whichever spelling asks.
    for login in ["petra", "petra@example.com"] {
        fail_login(&app, login).await.problem(429);
    }
    // What the password-reset confirmation calls once the new password is set.
    let id: uuid::Uuid = user["id"].as_str().unwrap().parse().unwrap();
    roster::auth::lockout::clear_account(&app.state.db, id, "Petra", "PETRA@example.com")
        .await
        .unwrap();
    app.login("petra", DEFAULT_PASSWORD).await;
    app.login("petra@example.com", DEFAULT_PASSWORD).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM login_throttle").await, 0);
}

async fn an_attempt_refused_for_the_account_lock_is_no_guess_against_its_identifier(
    backend: Backend,
) {
    let app = TestApp::with_cheap_hashing(backend).await;
    app.register("quinn", DEFAULT_PASSWORD).await;
    for _ in 0..5 {
        fail_login(&app, "quinn").await.problem(401);
    }
    // The account is locked; its email address, never guessed, is refused with the
    // account's wait, and each refused attempt is taken back from it.
    for _ in 0..7 {
        let refused = app
            .post("/api/v1/auth/login")
            .json(json!({"login": "quinn@example.com", "password": DEFAULT_PASSWORD}))
            .send()
            .await;
        refused.problem(429);
        assert_eq!(refused.header("retry-after"), Some("60"));
    }
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM login_throttle WHERE identifier = 'login:quinn@example.com' AND failures > 0"
        )
        .await,
        0
    );
    // Once the account's lock ends, the email address logs in at once.
    app.clock.advance(chrono::Duration::seconds(61));
    app.login("quinn@example.com", DEFAULT_PASSWORD).await;
}
