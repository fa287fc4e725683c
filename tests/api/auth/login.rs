use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;

on_both_engines!(
    login_accepts_username_email_or_login_field,
    failures_for_unknown_wrong_and_deactivated_accounts_are_indistinguishable,
    unknown_users_take_about_as_long_as_known_ones,
    an_identifier_locks_after_repeated_failures_and_unlocks_later,
    locks_double_and_are_shared_by_instances_and_restarts,
    a_success_resets_the_failure_count,
    login_requires_exactly_one_identifier,
    me_returns_the_caller,
);

async fn login_accepts_username_email_or_login_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.register("erin", DEFAULT_PASSWORD).await;
    for body in [
        json!({"username": "erin", "password": DEFAULT_PASSWORD}),
        json!({"username": "ERIN", "password": DEFAULT_PASSWORD}),
        json!({"email": "Erin@Example.com", "password": DEFAULT_PASSWORD}),
        json!({"login": "erin@example.com", "password": DEFAULT_PASSWORD, "device_name": "phone"}),
    ] {
        let response = app
            .post("/api/v1/auth/login")
            .json(body.clone())
            .send()
            .await;
        assert_eq!(response.status, StatusCode::OK, "{body}: {}", response.text);
        assert_eq!(response.header("cache-control"), Some("no-store"));
        let pair = response.json();
        assert_eq!(pair["token_type"], "Bearer");
        assert_eq!(pair["expires_in"], 900);
        assert_eq!(pair["refresh_expires_in"], 7 * 86_400);
        assert_eq!(pair["user"]["username"], "erin");
        assert!(pair["user"]["last_login_at"].is_string());
        assert!(pair["refresh_token"].as_str().unwrap().len() >= 43);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 4);
    assert_eq!(app.count("SELECT login_count FROM users").await, 4);
}

async fn failures_for_unknown_wrong_and_deactivated_accounts_are_indistinguishable(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    app.register("frank", DEFAULT_PASSWORD).await;
    app.register("gina", DEFAULT_PASSWORD).await;
    app.exec("UPDATE users SET is_active = FALSE WHERE username = 'gina'")
        .await;
    let attempts = [
        ("nobody", DEFAULT_PASSWORD),
        ("frank", "Wrong-Password-42"),
        ("gina", DEFAULT_PASSWORD),
    ];
    let mut bodies = Vec::new();
    for (login, password) in attempts {
        let response = app
            .post("/api/v1/auth/login")
            .json(json!({"login": login, "password": password}))
            .send()
            .await;
        response.problem(401);
        assert!(
            response
                .header("www-authenticate")
                .unwrap()
                .starts_with("Bearer")
        );
        bodies.push(response.text.clone());
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[1], bodies[2]);
}

async fn unknown_users_take_about_as_long_as_known_ones(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.register("henry", DEFAULT_PASSWORD).await;
    // Warm up (the dummy hash is prepared once).
    app.post("/api/v1/auth/login")
        .json(json!({"login": "ghost", "password": "x"}))
        .send()
        .await;
    // Interleaved samples, compared by their medians, so that load from other tests
    // running at the same time affects both sides alike.
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..7 {
        // Distinct identifiers and few attempts each, so that no lockout interferes.
        let started = Instant::now();
        app.post("/api/v1/auth/login")
            .json(json!({"login": "henry", "password": format!("Wrong-{i}")}))
            .send()
            .await
            .problem(401);
        known.push(started.elapsed());
        if i == 3 {
            app.login("henry", DEFAULT_PASSWORD).await;
        }
        let started = Instant::now();
        app.post("/api/v1/auth/login")
            .json(json!({"login": format!("ghost{i}"), "password": "Wrong"}))
            .send()
            .await
            .problem(401);
        unknown.push(started.elapsed());
    }
    let median = |mut samples: Vec<Duration>| -> Duration {
        samples.sort();
        samples[samples.len() / 2]
    };
    let (known, unknown) = (median(known), median(unknown));
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    assert!(
        (0.5..2.0).contains(&ratio),
        "unknown {unknown:?} vs known {known:?}"
    );
}

async fn an_identifier_locks_after_repeated_failures_and_unlocks_later(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("ARGON2_MEMORY_KIB", "1024")
        .env("ARGON2_ITERATIONS", "1")
        .start()
        .await;
    app.register("ivan", DEFAULT_PASSWORD).await;
    for _ in 0..5 {
        app.post("/api/v1/auth/login")
            .json(json!({"login": "ivan", "password": "Wrong-1"}))
            .send()
            .await
            .problem(401);
    }
    // Locked: even the right password gets 429, for any spelling of the account (its
    // username and email share one count).
    for login in ["ivan", "IVAN", "ivan@example.com"] {
        let response = app
            .post("/api/v1/auth/login")
            .json(json!({"login": login, "password": DEFAULT_PASSWORD}))
            .send()
            .await;
        response.problem(429);
        let retry_after: u64 = response.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
    }
    // Unknown identifiers lock the same way.
    for _ in 0..5 {
        app.post("/api/v1/auth/login")
            .json(json!({"login": "nobody", "password": "Wrong-1"}))
            .send()
            .await
            .problem(401);
    }
    app.post("/api/v1/auth/login")
        .json(json!({"login": "nobody", "password": "Wrong-1"}))
        .send()
        .await
        .problem(429);
    app.clock.advance(chrono::Duration::seconds(61));
    let response = app
        .post("/api/v1/auth/login")
        .json(json!({"login": "ivan", "password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
}

async fn locks_double_and_are_shared_by_instances_and_restarts(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("ARGON2_MEMORY_KIB", "1024")
        .env("ARGON2_ITERATIONS", "1")
        .start()
        .await;
    app.register("judy", DEFAULT_PASSWORD).await;
    let other = app.sibling().await;
    let fail = |instance: &TestApp| {
        instance
            .post("/api/v1/auth/login")
            .json(json!({"login": "judy", "password": "Wrong-1"}))
            .send()
    };
    // Failures on two instances add up.
    for i in 0..5 {
        fail(if i % 2 == 0 { &app } else { &other })
            .await
            .problem(401);
    }
    let locked = fail(&other).await;
    locked.problem(429);
    assert_eq!(locked.header("retry-after"), Some("60"));
    // The second lock lasts twice as long, and survives a restart.
    app.clock.advance(chrono::Duration::seconds(61));
    for _ in 0..5 {
        fail(&app).await.problem(401);
    }
    let restarted = app.restarted_with(&[]).await;
    let locked = fail(&restarted).await;
    locked.problem(429);
    assert_eq!(locked.header("retry-after"), Some("120"));
}

async fn a_success_resets_the_failure_count(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("ARGON2_MEMORY_KIB", "1024")
        .env("ARGON2_ITERATIONS", "1")
        .start()
        .await;
    app.register("kate", DEFAULT_PASSWORD).await;
    for _ in 0..4 {
        app.post("/api/v1/auth/login")
            .json(json!({"login": "kate", "password": "Wrong-1"}))
            .send()
            .await
            .problem(401);
    }
    app.login("kate", DEFAULT_PASSWORD).await;
    for _ in 0..4 {
        app.post("/api/v1/auth/login")
            .json(json!({"login": "kate", "password": "Wrong-1"}))
            .send()
            .await
            .problem(401);
    }
    app.login("kate", DEFAULT_PASSWORD).await;
}

async fn login_requires_exactly_one_identifier(backend: Backend) {
    let app = TestApp::new(backend).await;
    let none = app
        .post("/api/v1/auth/login")
        .json(json!({"password": "x"}))
        .send()
        .await;
    assert_eq!(none.failing_fields(), ["login"]);
    let two = app
        .post("/api/v1/auth/login")
        .json(json!({"username": "a", "email": "a@b.co", "password": "x"}))
        .send()
        .await;
    assert_eq!(two.failing_fields(), ["email", "username"]);
    let no_password = app
        .post("/api/v1/auth/login")
        .json(json!({"login": "a"}))
        .send()
        .await;
    assert_eq!(no_password.failing_fields(), ["password"]);
    let extra = app
        .post("/api/v1/auth/login")
        .json(json!({"login": "a", "password": "x", "remember": true}))
        .send()
        .await;
    assert_eq!(extra.failing_fields(), ["remember"]);
}

async fn me_returns_the_caller(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let response = app
        .get("/api/v1/auth/me")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["id"], session.user_id.as_str());
    let anonymous = app.get("/api/v1/auth/me").send().await;
    anonymous.problem(401);
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Bearer realm=\"roster\"")
    );
}
