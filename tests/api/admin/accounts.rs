//! Administration: role, tier, status and verification changes, deactivation and session
//! revocation taking effect at once, the last-admin rule, and the audit trail with its
//! filters, pagination and contents.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;
use crate::users::support::{claims, get_ok};

on_both_engines!(
    admins_change_role_tier_status_and_verification,
    deactivation_revokes_every_session_at_once,
    revoke_sessions_ends_every_session_but_keeps_the_account,
    the_last_active_admin_cannot_be_demoted_or_deactivated,
    admin_bodies_are_validated,
    the_audit_trail_records_who_what_and_from_where,
    the_audit_trail_filters_and_pages_newest_first,
    admins_list_an_accounts_active_sessions,
);

async fn admins_list_an_accounts_active_sessions(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let second = app.login(&user.username, &user.password).await;
    let path = format!("{}/sessions", admin_path(&user.user_id));
    let listed = get_ok(&app, &path, &admin.access_token).await;
    let ids: HashSet<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        HashSet::from([user.session_id.as_str(), second.session_id.as_str()])
    );
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["current"] == false)
    );

    // Revoked sessions are not listed; other callers and unknown accounts are refused.
    let out = app
        .post("/api/v1/auth/logout")
        .bearer(&second.access_token)
        .send()
        .await;
    assert_eq!(out.status, 204);
    let listed = get_ok(&app, &path, &admin.access_token).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let refused = app.get(&path).bearer(&user.access_token).send().await;
    assert_eq!(refused.status, 403);
    let unknown = app
        .get(&format!(
            "{}/sessions",
            admin_path(&uuid::Uuid::new_v4().to_string())
        ))
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(unknown.status, 404);
}

fn admin_path(user_id: &str) -> String {
    format!("/api/v1/admin/users/{user_id}")
}

async fn admins_change_role_tier_status_and_verification(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let alice = app.user().await;
    let response = app
        .patch(&admin_path(&alice.user_id))
        .bearer(&admin.access_token)
        .json(json!({"role": "admin", "tier": "premium", "email_verified": true}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let user = response.json();
    assert_eq!(user["role"], "admin");
    assert_eq!(user["tier"], "premium");
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["is_active"], true);
    // Alice is an admin from her very next request (the stored role counts).
    assert_eq!(
        app.get("/api/v1/admin/audit")
            .bearer(&alice.access_token)
            .send()
            .await
            .status,
        200
    );
    let relogged = app.login(&alice.username, DEFAULT_PASSWORD).await;
    assert_eq!(claims(&relogged.access_token)["role"], "admin");
    assert_eq!(claims(&relogged.access_token)["tier"], "premium");
    // Demoted again; an empty body changes nothing.
    let demoted = app
        .patch(&admin_path(&alice.user_id))
        .bearer(&admin.access_token)
        .json(json!({"role": "user"}))
        .send()
        .await;
    assert_eq!(demoted.json()["role"], "user");
    let unchanged = app
        .patch(&admin_path(&alice.user_id))
        .bearer(&admin.access_token)
        .json(json!({}))
        .send()
        .await;
    assert_eq!(unchanged.json()["role"], "user");
    app.get("/api/v1/admin/audit")
        .bearer(&alice.access_token)
        .send()
        .await
        .problem(403);
    for (event, count) in [("role_change", 2), ("tier_change", 1), ("status_change", 1)] {
        let page = get_ok(
            &app,
            &format!(
                "/api/v1/admin/audit?user_id={}&event={event}",
                alice.user_id
            ),
            &admin.access_token,
        )
        .await;
        assert_eq!(page["items"].as_array().unwrap().len(), count, "{event}");
        assert_eq!(page["items"][0]["actor_id"], admin.user_id.as_str());
    }
    app.patch(&admin_path(&uuid::Uuid::now_v7().to_string()))
        .bearer(&admin.access_token)
        .json(json!({"tier": "premium"}))
        .send()
        .await
        .problem(404);
}

async fn deactivation_revokes_every_session_at_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let other_instance = app.sibling().await;
    let admin = app.admin().await;
    let alice = app.user().await;
    let phone = app.login(&alice.username, DEFAULT_PASSWORD).await;
    let response = app
        .patch(&admin_path(&alice.user_id))
        .bearer(&admin.access_token)
        .json(json!({"is_active": false}))
        .send()
        .await;
    assert_eq!(response.json()["is_active"], false);
    for session in [&alice, &phone] {
        for instance in [&app, &other_instance] {
            instance
                .get("/api/v1/users/me")
                .bearer(&session.access_token)
                .send()
                .await
                .problem(401);
        }
        app.post("/api/v1/auth/refresh")
            .json(json!({"refresh_token": session.refresh_token}))
            .send()
            .await
            .problem(400);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE revoked_reason = 'account_deactivated'")
            .await,
        2
    );
    // A deactivated account cannot log in; reactivated, it can.
    app.post("/api/v1/auth/login")
        .json(json!({"login": alice.username, "password": DEFAULT_PASSWORD}))
        .send()
        .await
        .problem(401);
    app.patch(&admin_path(&alice.user_id))
        .bearer(&admin.access_token)
        .json(json!({"is_active": true}))
        .send()
        .await;
    app.login(&alice.username, DEFAULT_PASSWORD).await;
}

async fn revoke_sessions_ends_every_session_but_keeps_the_account(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let alice = app.user().await;
    let laptop = app.login(&alice.username, DEFAULT_PASSWORD).await;
    let bob = app.user().await;
    let path = format!("{}/revoke-sessions", admin_path(&alice.user_id));
    app.post(&path).send().await.problem(401);
    app.post(&path)
        .bearer(&alice.access_token)
        .send()
        .await
        .problem(403);
    let response = app.post(&path).bearer(&admin.access_token).send().await;
    assert_eq!(response.status, 204, "{}", response.text);
    for session in [&alice, &laptop] {
        app.get("/api/v1/users/me")
            .bearer(&session.access_token)
            .send()
            .await
            .problem(401);
    }
    get_ok(&app, "/api/v1/users/me", &bob.access_token).await;
    app.login(&alice.username, DEFAULT_PASSWORD).await;
    app.post(&format!(
        "{}/revoke-sessions",
        admin_path(&uuid::Uuid::now_v7().to_string())
    ))
    .bearer(&admin.access_token)
    .send()
    .await
    .problem(404);
    let audit = get_ok(
        &app,
        &format!(
            "/api/v1/admin/audit?event=session_revoked&user_id={}",
            alice.user_id
        ),
        &admin.access_token,
    )
    .await;
    assert_eq!(audit["items"][0]["detail"]["sessions_revoked"], 2);
}

async fn the_last_active_admin_cannot_be_demoted_or_deactivated(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    for body in [json!({"role": "user"}), json!({"is_active": false})] {
        let response = app
            .patch(&admin_path(&admin.user_id))
            .bearer(&admin.access_token)
            .json(body)
            .send()
            .await;
        let problem = response.problem(409);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("last active administrator")
        );
    }
    // With two, one may step down; then the other is the last again.
    let second = app.admin().await;
    let stepped_down = app
        .patch(&admin_path(&admin.user_id))
        .bearer(&admin.access_token)
        .json(json!({"role": "user"}))
        .send()
        .await;
    assert_eq!(stepped_down.status, 200, "{}", stepped_down.text);
    app.patch(&admin_path(&second.user_id))
        .bearer(&second.access_token)
        .json(json!({"is_active": false}))
        .send()
        .await
        .problem(409);
    // Two admins demoting each other at once: at least one stays.
    let third = app.admin().await;
    let (a, b) = futures::join!(
        app.patch(&admin_path(&third.user_id))
            .bearer(&second.access_token)
            .json(json!({"role": "user"}))
            .send(),
        app.patch(&admin_path(&second.user_id))
            .bearer(&third.access_token)
            .json(json!({"is_active": false}))
            .send()
    );
    let statuses = [a.status.as_u16(), b.status.as_u16()];
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(
        app.count("SELECT COUNT(*) FROM users WHERE role = 'admin' AND is_active")
            .await
            >= 1
    );
    // A deactivated admin does not count: the active one is still the last.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE role = 'admin' AND is_active")
            .await,
        1
    );
}

async fn admin_bodies_are_validated(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let alice = app.user().await;
    let path = admin_path(&alice.user_id);
    for (body, fields) in [
        (json!({"role": "superuser"}), vec!["role"]),
        (json!({"tier": "gold"}), vec!["tier"]),
        (json!({"is_active": "no"}), vec!["is_active"]),
        (json!({"email_verified": 1}), vec!["email_verified"]),
        (
            json!({"username": "x", "password": "y"}),
            vec!["password", "username"],
        ),
    ] {
        let response = app
            .patch(&path)
            .bearer(&admin.access_token)
            .json(body.clone())
            .send()
            .await;
        assert_eq!(response.failing_fields(), fields, "{body}");
    }
    app.patch(&path)
        .bearer(&admin.access_token)
        .body("application/json", "{")
        .send()
        .await
        .problem(400);
    app.patch("/api/v1/admin/users/not-a-uuid")
        .bearer(&admin.access_token)
        .json(json!({}))
        .send()
        .await
        .problem(404);
    let me = get_ok(&app, "/api/v1/users/me", &alice.access_token).await;
    assert_eq!(me["role"], "user");
}

async fn the_audit_trail_records_who_what_and_from_where(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let response = app
        .post("/api/v1/auth/register")
        .header("user-agent", "AuditTest/2.0")
        .from_ip("198.51.100.23")
        .json(json!({"username": "audited", "email": "audited@example.com", "password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(response.status, 201);
    let alice = app.login("audited", DEFAULT_PASSWORD).await;
    let token = &alice.access_token;
    app.post("/api/v1/auth/login")
        .json(json!({"login": "audited", "password": "Wrong-Password-1"}))
        .send()
        .await;
    app.put("/api/v1/users/me/profile")
        .bearer(token)
        .from_ip("198.51.100.24")
        .header("user-agent", "AuditTest/2.1")
        .json(json!({"phone": "+12125550000"}))
        .send()
        .await;
    app.put("/api/v1/users/me/preferences")
        .bearer(token)
        .json(json!({"wifi": false}))
        .send()
        .await;
    app.post("/api/v1/users/me/payment-info")
        .bearer(token)
        .json(json!({"payment_token": "tok_secret_token_value_1234"}))
        .send()
        .await;
    app.post("/api/v1/users/me/upgrade")
        .bearer(token)
        .send()
        .await;
    app.put("/api/v1/users/me")
        .bearer(token)
        .json(json!({"full_name": "Moved", "email": "moved@example.com", "current_password": DEFAULT_PASSWORD}))
        .send()
        .await;
    app.post("/api/v1/auth/change-password")
        .bearer(token)
        .json(
            json!({"current_password": DEFAULT_PASSWORD, "new_password": "Another-Strong-Pass-42"}),
        )
        .send()
        .await;
    app.patch(&admin_path(&alice.user_id))
        .bearer(&admin.access_token)
        .json(json!({"is_active": false}))
        .send()
        .await;

    let page = get_ok(
        &app,
        &format!("/api/v1/admin/audit?user_id={}&limit=100", alice.user_id),
        &admin.access_token,
    )
    .await;
    let items = page["items"].as_array().unwrap();
    let events: HashSet<&str> = items.iter().map(|e| e["event"].as_str().unwrap()).collect();
    for expected in [
        "register",
        "login_success",
        "login_failure",
        "profile_change",
        "preferences_change",
        "payment_info_change",
        "tier_change",
        "account_update",
        "email_change_request",
        "password_change",
        "status_change",
    ] {
        assert!(
            events.contains(expected),
            "{expected} missing from {events:?}"
        );
    }
    let find = |event: &str| -> &Value { items.iter().find(|e| e["event"] == event).unwrap() };
    let register = find("register");
    assert_eq!(register["ip"], "198.51.100.23");
    assert_eq!(register["user_agent"], "AuditTest/2.0");
    assert_eq!(register["user_id"], alice.user_id.as_str());
    let profile = find("profile_change");
    assert_eq!(profile["actor_id"], alice.user_id.as_str());
    assert_eq!(profile["ip"], "198.51.100.24");
    assert_eq!(profile["detail"]["fields"], json!(["phone"]));
    let status = find("status_change");
    assert_eq!(status["actor_id"], admin.user_id.as_str());
    assert_eq!(status["detail"]["to"], false);
    for item in items {
        for key in [
            "id",
            "at",
            "event",
            "actor_id",
            "user_id",
            "ip",
            "user_agent",
            "detail",
        ] {
            assert!(item.get(key).is_some(), "{key} in {item}");
        }
    }
    let text = page.to_string();
    for secret in [
        "+12125550000",
        "tok_secret_token_value_1234",
        DEFAULT_PASSWORD,
        "Another-Strong-Pass-42",
        "Wrong-Password-1",
    ] {
        assert!(!text.contains(secret), "{secret} is in the audit trail");
    }
}

async fn the_audit_trail_filters_and_pages_newest_first(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let alice = app.user().await;
    for _ in 0..5 {
        app.put("/api/v1/users/me/preferences")
            .bearer(&alice.access_token)
            .json(json!({"wifi": true}))
            .send()
            .await;
    }
    let base = format!(
        "/api/v1/admin/audit?user_id={}&event=preferences_change&limit=2",
        alice.user_id
    );
    let mut ids = Vec::new();
    let mut path = base.clone();
    loop {
        let page = get_ok(&app, &path, &admin.access_token).await;
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["event"], "preferences_change");
            ids.push(item["id"].as_str().unwrap().to_owned());
        }
        // Events recorded meanwhile do not disturb later pages.
        app.put("/api/v1/users/me/preferences")
            .bearer(&alice.access_token)
            .json(json!({"wifi": false}))
            .send()
            .await;
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{base}&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(ids.len(), 5);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 5);
    let parsed: Vec<uuid::Uuid> = ids.iter().map(|i| i.parse().unwrap()).collect();
    assert!(parsed.windows(2).all(|w| w[0] > w[1]), "newest first");
    let login_events = get_ok(
        &app,
        "/api/v1/admin/audit?event=login_success",
        &admin.access_token,
    )
    .await;
    assert!(
        login_events["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["event"] == "login_success")
    );
    let nothing = get_ok(
        &app,
        "/api/v1/admin/audit?event=no_such_event",
        &admin.access_token,
    )
    .await;
    assert!(nothing["items"].as_array().unwrap().is_empty());
    let bad = app
        .get("/api/v1/admin/audit?user_id=not-a-uuid")
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(bad.failing_fields(), ["user_id"]);
}
