//! An administrator's changes to *another administrator's* account need a recent sign-in
//! (third review): a stolen or unattended administrator session alone cannot reset
//! another administrator's second factors, change their email, demote, deactivate or
//! delete them. Ordinary accounts and one's own are not affected.

use chrono::Duration;
use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, Session, TestApp, TestResponse};
use crate::on_both_engines;

on_both_engines!(changes_to_another_administrator_need_a_recent_sign_in);

/// Every administrative change the rule covers, as `admin` on `target`.
async fn changes(
    app: &TestApp,
    admin: &Session,
    target: &str,
) -> Vec<(&'static str, TestResponse)> {
    let users = format!("/api/v1/users/{target}");
    let admin_users = format!("/api/v1/admin/users/{target}");
    vec![
        (
            "mfa reset",
            app.post(&format!("{admin_users}/mfa/reset"))
                .bearer(&admin.access_token)
                .send()
                .await,
        ),
        (
            "email change",
            app.put(&users)
                .bearer(&admin.access_token)
                .json(json!({"email": format!("moved-{}@example.com", &target[..8])}))
                .send()
                .await,
        ),
        (
            "deactivation",
            app.patch(&admin_users)
                .bearer(&admin.access_token)
                .json(json!({"is_active": false}))
                .send()
                .await,
        ),
        (
            "deletion",
            app.delete(&users).bearer(&admin.access_token).send().await,
        ),
    ]
}

async fn changes_to_another_administrator_need_a_recent_sign_in(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (admin, other_admin, user) = (app.admin().await, app.admin().await, app.user().await);
    app.clock.advance(Duration::minutes(11));
    for (what, response) in changes(&app, &admin, &other_admin.user_id).await {
        let problem = response.problem(403);
        assert_eq!(
            problem["type"], "urn:roster:problem:reauthentication-required",
            "{what}"
        );
    }
    // Nothing changed: the other administrator still signs in with their address.
    let me = app
        .get("/api/v1/users/me")
        .bearer(&other_admin.access_token)
        .send()
        .await
        .json();
    assert_eq!(me["email"], format!("{}@example.com", other_admin.username));
    assert_eq!(me["is_active"], true);
    // An ordinary account is not covered by the rule.
    let response = app
        .post(&format!("/api/v1/admin/users/{}/mfa/reset", user.user_id))
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(response.status, 204, "{}", response.text);
    // After re-authenticating, the changes go through.
    let renewed = app
        .post("/api/v1/auth/reauthenticate")
        .bearer(&admin.access_token)
        .json(json!({"password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let admin = Session::from_pair(&renewed.json(), &admin.username, DEFAULT_PASSWORD);
    for (what, response) in changes(&app, &admin, &other_admin.user_id).await {
        assert!(
            response.status.as_u16() < 300,
            "{what}: {} {}",
            response.status,
            response.text
        );
    }
}
