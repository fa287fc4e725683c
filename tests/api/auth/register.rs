use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;

on_both_engines!(
    registration_returns_the_user_with_a_lower_cased_email,
    duplicate_usernames_and_emails_conflict_ignoring_case,
    every_invalid_field_is_named_at_once,
    registration_cannot_assign_role_or_tier,
    weak_passwords_are_rejected_by_the_policy,
    confirm_password_must_match,
    concurrent_registrations_of_one_name_give_one_201_and_one_409,
);

async fn registration_returns_the_user_with_a_lower_cased_email(backend: Backend) {
    let app = TestApp::new(backend).await;
    let response = app
        .post("/api/v1/auth/register")
        .json(json!({"username": "Ada.L", "email": "Ada@Example.COM", "password": DEFAULT_PASSWORD, "full_name": " Ada Lovelace ", "confirm_password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let user = response.json();
    assert_eq!(user["username"], "Ada.L");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["full_name"], "Ada Lovelace");
    assert_eq!(user["role"], "user");
    assert_eq!(user["tier"], "basic");
    assert_eq!(user["is_active"], true);
    assert_eq!(user["email_verified"], false);
    assert!(user["last_login_at"].is_null());
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    let id = user["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert_eq!(
        response.header("location"),
        Some(format!("/api/v1/users/{id}").as_str())
    );
    assert!(user["created_at"].as_str().unwrap().ends_with('Z'));
    // One credential row, current; the password itself is stored nowhere.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM credentials WHERE is_current")
            .await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM credentials WHERE password_hash LIKE '$argon2id$v=19$m=19456,t=2,p=1$%'").await, 1);
}

async fn duplicate_usernames_and_emails_conflict_ignoring_case(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.register("grace", DEFAULT_PASSWORD).await;
    let same_name = app
        .post("/api/v1/auth/register")
        .json(json!({"username": "GRACE", "email": "other@example.com", "password": DEFAULT_PASSWORD}))
        .send()
        .await;
    let problem = same_name.problem(409);
    assert_eq!(problem["errors"][0]["field"], "username");
    let same_email = app
        .post("/api/v1/auth/register")
        .json(json!({"username": "hopper", "email": "Grace@EXAMPLE.com", "password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(same_email.problem(409)["errors"][0]["field"], "email");
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
}

async fn every_invalid_field_is_named_at_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let response = app
        .post("/api/v1/auth/register")
        .json(json!({"username": "x", "email": "not-an-email", "password": "short", "full_name": "a".repeat(101)}))
        .send()
        .await;
    assert_eq!(
        response.failing_fields(),
        ["email", "full_name", "password", "username"]
    );
    let missing = app
        .post("/api/v1/auth/register")
        .json(json!({}))
        .send()
        .await;
    assert_eq!(missing.failing_fields(), ["email", "password", "username"]);
    let wrong_type = app
        .post("/api/v1/auth/register")
        .json(json!({"username": 5, "email": "a@b.co", "password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(wrong_type.failing_fields(), ["username"]);
}

async fn registration_cannot_assign_role_or_tier(backend: Backend) {
    let app = TestApp::new(backend).await;
    let response = app
        .post("/api/v1/auth/register")
        .json(json!({"username": "mallory", "email": "m@example.com", "password": DEFAULT_PASSWORD, "role": "admin", "tier": "premium", "email_verified": true}))
        .send()
        .await;
    assert_eq!(
        response.failing_fields(),
        ["email_verified", "role", "tier"]
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}

async fn weak_passwords_are_rejected_by_the_policy(backend: Backend) {
    let app = TestApp::new(backend).await;
    for password in [
        "Sh0rt!",
        "alllowercase123",
        "ALLUPPERCASE123",
        "NoDigitsAtAll!",
        "Password1",
        "Xyz-carol-Q9-long",
    ] {
        let response = app
            .post("/api/v1/auth/register")
            .json(json!({"username": "carol", "email": "carol@example.com", "password": password}))
            .send()
            .await;
        assert_eq!(
            response.failing_fields(),
            ["password"],
            "{password}: {}",
            response.text
        );
    }
    let long = format!("Aa1-{}", "x".repeat(125));
    let response = app
        .post("/api/v1/auth/register")
        .json(json!({"username": "carol", "email": "carol@example.com", "password": long}))
        .send()
        .await;
    assert_eq!(response.failing_fields(), ["password"]);
}

async fn confirm_password_must_match(backend: Backend) {
    let app = TestApp::new(backend).await;
    let response = app
        .post("/api/v1/auth/register")
        .json(json!({"username": "dave", "email": "dave@example.com", "password": DEFAULT_PASSWORD, "confirm_password": "Something-Else-99"}))
        .send()
        .await;
    assert_eq!(response.failing_fields(), ["confirm_password"]);
}

async fn concurrent_registrations_of_one_name_give_one_201_and_one_409(backend: Backend) {
    let app = TestApp::new(backend).await;
    for round in 0..3 {
        let name = format!("racer{round}");
        let requests = (0..2).map(|i| {
            app.post("/api/v1/auth/register")
                .json(json!({"username": name, "email": format!("{name}-{i}@example.com"), "password": DEFAULT_PASSWORD}))
                .send()
        });
        let mut statuses: Vec<u16> = futures::future::join_all(requests)
            .await
            .iter()
            .map(|r| r.status.as_u16())
            .collect();
        statuses.sort();
        assert_eq!(statuses, [201, 409], "round {round}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 3);
}
