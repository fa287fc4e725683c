//! Password change with history, and bcrypt hashes re-hashed to Argon2id at login.

use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;

on_both_engines!(
    changing_the_password_revokes_every_other_session,
    a_wrong_current_password_is_400,
    new_passwords_follow_the_policy,
    the_last_five_passwords_cannot_be_reused,
    bcrypt_hashes_verify_and_are_rehashed_to_argon2id,
);

const PASSWORDS: [&str; 6] = [
    "Lantern-Orbit-51",
    "Quartz-Meadow-62",
    "Velvet-Harbor-73",
    "Cinder-Falcon-84",
    "Marble-Tundra-95",
    "Saffron-Glacier-16",
];

async fn change(
    app: &TestApp,
    token: &str,
    current: &str,
    new: &str,
) -> crate::helpers::TestResponse {
    app.post("/api/v1/auth/change-password")
        .bearer(token)
        .json(json!({"current_password": current, "new_password": new}))
        .send()
        .await
}

async fn changing_the_password_revokes_every_other_session(backend: Backend) {
    let app = TestApp::new(backend).await;
    let here = app.user().await;
    let elsewhere = app.login(&here.username, DEFAULT_PASSWORD).await;
    let response = change(&app, &here.access_token, DEFAULT_PASSWORD, PASSWORDS[0]).await;
    assert_eq!(response.status, 204, "{}", response.text);
    assert_eq!(
        app.get("/api/v1/auth/me")
            .bearer(&here.access_token)
            .send()
            .await
            .status,
        200
    );
    app.get("/api/v1/auth/me")
        .bearer(&elsewhere.access_token)
        .send()
        .await
        .problem(401);
    app.post("/api/v1/auth/login")
        .json(json!({"login": here.username, "password": DEFAULT_PASSWORD}))
        .send()
        .await
        .problem(401);
    app.login(&here.username, PASSWORDS[0]).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM credentials").await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM credentials WHERE is_current")
            .await,
        1
    );
}

async fn a_wrong_current_password_is_400(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let problem = change(
        &app,
        &session.access_token,
        "Not-My-Password-1",
        PASSWORDS[0],
    )
    .await
    .problem(400);
    assert_eq!(problem["errors"][0]["field"], "current_password");
    app.login(&session.username, DEFAULT_PASSWORD).await;
    change(&app, "", DEFAULT_PASSWORD, PASSWORDS[0])
        .await
        .problem(401);
}

async fn new_passwords_follow_the_policy(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    for weak in [
        "short",
        "nouppercase123",
        "Password1",
        &format!("Aa1{}", session.username),
    ] {
        let response = change(&app, &session.access_token, DEFAULT_PASSWORD, weak).await;
        assert_eq!(response.failing_fields(), ["new_password"], "{weak}");
    }
    let missing = app
        .post("/api/v1/auth/change-password")
        .bearer(&session.access_token)
        .json(json!({"current_password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(missing.failing_fields(), ["new_password"]);
}

async fn the_last_five_passwords_cannot_be_reused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let token = session.access_token.clone();
    let same = change(&app, &token, DEFAULT_PASSWORD, DEFAULT_PASSWORD).await;
    assert_eq!(same.failing_fields(), ["new_password"]);
    // Five passwords in all: the initial one and four changes.
    let mut current = DEFAULT_PASSWORD;
    for next in &PASSWORDS[..4] {
        assert_eq!(change(&app, &token, current, next).await.status, 204);
        current = next;
    }
    for old in [DEFAULT_PASSWORD, PASSWORDS[0], PASSWORDS[2], PASSWORDS[3]] {
        let response = change(&app, &token, current, old).await;
        assert_eq!(
            response.failing_fields(),
            ["new_password"],
            "{old} is among the last five"
        );
        assert!(response.text.contains("last 5"));
    }
    assert_eq!(
        change(&app, &token, current, PASSWORDS[4]).await.status,
        204
    );
    // The initial password has now left the history.
    assert_eq!(
        change(&app, &token, PASSWORDS[4], DEFAULT_PASSWORD)
            .await
            .status,
        204
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM credentials").await, 5);
}

async fn bcrypt_hashes_verify_and_are_rehashed_to_argon2id(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.register("nora", DEFAULT_PASSWORD).await;
    let bcrypt_hash = bcrypt::hash("Legacy-Bcrypt-Pass-3", 4).unwrap();
    let id = uuid::Uuid::parse_str(user["id"].as_str().unwrap()).unwrap();
    match &app.state.db {
        roster::db::Db::Sqlite(pool, _) => {
            sqlx::query("UPDATE credentials SET password_hash = $1 WHERE user_id = $2")
                .bind(&bcrypt_hash)
                .bind(id)
                .execute(pool)
                .await
                .map(|_| ())
        }
        roster::db::Db::Postgres(pool) => {
            sqlx::query("UPDATE credentials SET password_hash = $1 WHERE user_id = $2")
                .bind(&bcrypt_hash)
                .bind(id)
                .execute(pool)
                .await
                .map(|_| ())
        }
    }
    .unwrap();
    app.login("nora", "Legacy-Bcrypt-Pass-3").await;
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM credentials WHERE password_hash LIKE '$argon2id$%' AND is_current"
        )
        .await,
        1
    );
    app.login("nora", "Legacy-Bcrypt-Pass-3").await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'password_rehash'")
            .await,
        1
    );
}
