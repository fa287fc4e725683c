//! The account: `/users/me`, `/users/{user_id}` (views, updates, IDOR, mass assignment),
//! and deletion of the user with everything of theirs.

use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;
use crate::users::support::{full_profile, get_ok, premium};

on_both_engines!(
    me_returns_the_caller_and_updates_with_put_or_patch,
    an_owners_email_change_stays_pending_and_an_unchanged_one_is_no_change,
    usernames_and_emails_stay_unique_ignoring_case,
    every_invalid_account_field_is_named_at_once,
    bodies_cannot_set_role_tier_status_verification_ids_or_timestamps,
    get_by_id_is_public_for_anyone_and_full_for_the_user_and_admins,
    put_by_id_is_for_the_user_or_an_admin_only,
    deleting_me_needs_the_password_and_removes_everything,
    deleting_by_id_needs_the_owners_password_or_an_admin,
    deactivated_accounts_are_hidden_from_other_members,
);

async fn me_returns_the_caller_and_updates_with_put_or_patch(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let me = get_ok(&app, "/api/v1/users/me", &alice.access_token).await;
    assert_eq!(me["id"], alice.user_id.as_str());
    assert_eq!(me["tier"], "basic");
    let before = me["updated_at"].as_str().unwrap().to_owned();
    app.clock.advance(chrono::Duration::seconds(5));

    let put = app
        .put("/api/v1/users/me")
        .bearer(&alice.access_token)
        .json(json!({"full_name": "  Alice Liddell "}))
        .send()
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let user = put.json();
    assert_eq!(user["full_name"], "Alice Liddell");
    assert_eq!(
        user["username"],
        alice.username.as_str(),
        "absent fields stay"
    );
    assert_ne!(user["updated_at"], before.as_str());

    let renamed = format!("{}_x", alice.username);
    let patch = app
        .patch("/api/v1/users/me")
        .bearer(&alice.access_token)
        .json(json!({"username": renamed, "full_name": null}))
        .send()
        .await;
    assert_eq!(patch.status, 200, "{}", patch.text);
    assert_eq!(patch.json()["username"], renamed.as_str());
    assert!(patch.json()["full_name"].is_null(), "null clears");
    // The new username logs in.
    app.login(&renamed, DEFAULT_PASSWORD).await;
    // Null is not a username.
    let null = app
        .patch("/api/v1/users/me")
        .bearer(&alice.access_token)
        .json(json!({"username": null}))
        .send()
        .await;
    assert_eq!(null.failing_fields(), ["username"]);
    app.get("/api/v1/users/me").send().await.problem(401);
}

async fn an_owners_email_change_stays_pending_and_an_unchanged_one_is_no_change(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let admin = app.admin().await;
    let verify = app
        .patch(&format!("/api/v1/admin/users/{}", alice.user_id))
        .bearer(&admin.access_token)
        .json(json!({"email_verified": true}))
        .send()
        .await;
    assert_eq!(verify.json()["email_verified"], true);
    // The same address in other case is no change.
    let same = app
        .put("/api/v1/users/me")
        .bearer(&alice.access_token)
        .json(json!({"email": format!("{}@EXAMPLE.com", alice.username.to_uppercase())}))
        .send()
        .await;
    assert_eq!(same.status, 200, "{}", same.text);
    assert_eq!(same.json()["email_verified"], true);
    // The owner's change stays pending until the new address confirms it: the account
    // keeps its verified address meanwhile.
    let changed = app
        .put("/api/v1/users/me")
        .bearer(&alice.access_token)
        .json(json!({"email": "New.Address@Example.org", "current_password": DEFAULT_PASSWORD}))
        .send()
        .await;
    let user = changed.json();
    assert_eq!(user["email"], format!("{}@example.com", alice.username));
    assert_eq!(user["pending_email"], "new.address@example.org");
    assert_eq!(user["email_verified"], true);
    // Neither request changed a field of the account itself.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'account_update'")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'email_change_request'")
            .await,
        1
    );
}

async fn usernames_and_emails_stay_unique_ignoring_case(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let bob = app.user().await;
    let taken_name = app
        .put("/api/v1/users/me")
        .bearer(&bob.access_token)
        .json(json!({"username": alice.username.to_uppercase()}))
        .send()
        .await;
    assert_eq!(taken_name.problem(409)["errors"][0]["field"], "username");
    let taken_email = app
        .patch("/api/v1/users/me")
        .bearer(&bob.access_token)
        .json(json!({"email": format!("{}@Example.COM", alice.username), "current_password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(taken_email.problem(409)["errors"][0]["field"], "email");
    // Keeping one's own name in another case is allowed.
    let own = app
        .put("/api/v1/users/me")
        .bearer(&bob.access_token)
        .json(json!({"username": bob.username.to_uppercase()}))
        .send()
        .await;
    assert_eq!(own.status, 200, "{}", own.text);
    // Two concurrent renames to one free name: one 200, one 409.
    let carol = app.user().await;
    let (a, b) = futures::join!(
        app.put("/api/v1/users/me")
            .bearer(&alice.access_token)
            .json(json!({"username": "Contested"}))
            .send(),
        app.put("/api/v1/users/me")
            .bearer(&carol.access_token)
            .json(json!({"username": "contested"}))
            .send()
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", a.text, b.text);
}

async fn every_invalid_account_field_is_named_at_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let response = app
        .put("/api/v1/users/me")
        .bearer(&alice.access_token)
        .json(json!({"username": "a b", "email": "not-an-email", "full_name": "x".repeat(101)}))
        .send()
        .await;
    assert_eq!(
        response.failing_fields(),
        ["email", "full_name", "username"]
    );
    let control = app
        .put("/api/v1/users/me")
        .bearer(&alice.access_token)
        .json(json!({"full_name": "bad\u{7}name", "username": 5}))
        .send()
        .await;
    assert!(!control.failing_fields().is_empty());
    let malformed = app
        .put("/api/v1/users/me")
        .bearer(&alice.access_token)
        .body("application/json", "{\"username\":")
        .send()
        .await;
    malformed.problem(400);
    let wrong_type = app
        .put("/api/v1/users/me")
        .bearer(&alice.access_token)
        .body("text/plain", "username=x")
        .send()
        .await;
    wrong_type.problem(415);
    // Nothing changed.
    let me = get_ok(&app, "/api/v1/users/me", &alice.access_token).await;
    assert_eq!(me["username"], alice.username.as_str());
}

async fn bodies_cannot_set_role_tier_status_verification_ids_or_timestamps(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let admin = app.admin().await;
    for (field, value) in [
        ("role", json!("admin")),
        ("tier", json!("premium")),
        ("is_active", json!(false)),
        ("email_verified", json!(true)),
        ("id", json!(uuid::Uuid::now_v7())),
        ("created_at", json!("2000-01-01T00:00:00Z")),
        ("updated_at", json!("2000-01-01T00:00:00Z")),
        ("last_login_at", json!("2000-01-01T00:00:00Z")),
    ] {
        for (method, path, token) in [
            ("PUT", "/api/v1/users/me".to_owned(), &alice.access_token),
            ("PATCH", "/api/v1/users/me".to_owned(), &alice.access_token),
            (
                "PUT",
                format!("/api/v1/users/{}", alice.user_id),
                &alice.access_token,
            ),
            (
                "PUT",
                format!("/api/v1/users/{}", alice.user_id),
                &admin.access_token,
            ),
        ] {
            let response = crate::users::support::send(
                &app,
                method,
                &path,
                Some(token),
                Some(json!({"full_name": "Mallory", field: value})),
            )
            .await;
            assert_eq!(response.failing_fields(), [field], "{method} {path}");
        }
    }
    // Profile bodies cannot set them either, nor the derived age.
    for field in [
        "role",
        "tier",
        "is_active",
        "email_verified",
        "age",
        "updated_at",
        "user_id",
    ] {
        let response = app
            .put("/api/v1/users/me/profile")
            .bearer(&alice.access_token)
            .json(json!({"occupation": "x", field: 1}))
            .send()
            .await;
        assert_eq!(response.failing_fields(), [field]);
    }
    let me = get_ok(&app, "/api/v1/users/me", &alice.access_token).await;
    assert_eq!(me["role"], "user");
    assert_eq!(me["tier"], "basic");
    assert_eq!(me["is_active"], true);
    assert_eq!(me["email_verified"], false);
    assert_ne!(me["full_name"], "Mallory");
}

async fn get_by_id_is_public_for_anyone_and_full_for_the_user_and_admins(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let bob = app.user().await;
    let admin = app.admin().await;
    app.put("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(full_profile())
        .send()
        .await;
    let path = format!("/api/v1/users/{}", alice.user_id);
    let anonymous = app.get(&path).send().await;
    assert_eq!(anonymous.status, 200);
    let public = anonymous.json();
    let mut keys: Vec<&String> = public.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "avatar_url",
            "bio",
            "created_at",
            "full_name",
            "id",
            "username"
        ]
    );
    assert_eq!(public["avatar_url"], "https://cdn.example.com/a.png");
    assert_eq!(public["bio"], "Likes quiet libraries.\nAnd coffee.");
    assert_eq!(get_ok(&app, &path, &bob.access_token).await, public);
    for token in [&alice.access_token, &admin.access_token] {
        let full = get_ok(&app, &path, token).await;
        assert_eq!(full["email"], format!("{}@example.com", alice.username));
        assert_eq!(full["role"], "user");
        assert!(full.get("avatar_url").is_none());
    }
    app.get(&format!("/api/v1/users/{}", uuid::Uuid::now_v7()))
        .send()
        .await
        .problem(404);
    app.get("/api/v1/users/not-a-uuid")
        .send()
        .await
        .problem(404);
    app.get(&path).bearer("garbage").send().await.problem(401);
}

async fn put_by_id_is_for_the_user_or_an_admin_only(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let mallory = premium(&app).await;
    let admin = app.admin().await;
    let path = format!("/api/v1/users/{}", alice.user_id);
    // IDOR: another member, even premium, cannot change Alice.
    app.put(&path)
        .bearer(&mallory.access_token)
        .json(json!({"email": "mallory@evil.example"}))
        .send()
        .await
        .problem(403);
    app.put(&path)
        .json(json!({"full_name": "x"}))
        .send()
        .await
        .problem(401);
    let own = app
        .put(&path)
        .bearer(&alice.access_token)
        .json(json!({"full_name": "Alice"}))
        .send()
        .await;
    assert_eq!(own.json()["full_name"], "Alice");
    let by_admin = app
        .put(&path)
        .bearer(&admin.access_token)
        .json(json!({"full_name": "Alice A."}))
        .send()
        .await;
    assert_eq!(by_admin.json()["full_name"], "Alice A.");
    let me = get_ok(&app, "/api/v1/users/me", &alice.access_token).await;
    assert_eq!(me["email"], format!("{}@example.com", alice.username));
    app.put(&format!("/api/v1/users/{}", uuid::Uuid::now_v7()))
        .bearer(&admin.access_token)
        .json(json!({"full_name": "x"}))
        .send()
        .await
        .problem(404);
    // The admin's change is audited with the admin as actor and Alice as subject.
    let audit = get_ok(
        &app,
        &format!(
            "/api/v1/admin/audit?user_id={}&event=account_update",
            alice.user_id
        ),
        &admin.access_token,
    )
    .await;
    assert_eq!(audit["items"][0]["actor_id"], admin.user_id.as_str());
}

async fn deleting_me_needs_the_password_and_removes_everything(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let second_device = app.login(&alice.username, DEFAULT_PASSWORD).await;
    let bystander = app.user().await;
    let token = &alice.access_token;
    app.put("/api/v1/users/me/profile")
        .bearer(token)
        .json(full_profile())
        .send()
        .await;
    app.put("/api/v1/users/me/preferences")
        .bearer(token)
        .json(json!({"wifi": false}))
        .send()
        .await;
    app.post("/api/v1/users/me/payment-info")
        .bearer(token)
        .json(json!({"payment_token": "tok_visa_4242424242424242"}))
        .send()
        .await;
    app.put("/api/v1/users/me/profile")
        .bearer(&bystander.access_token)
        .json(json!({"occupation": "Baker"}))
        .send()
        .await;

    let wrong = app
        .delete("/api/v1/users/me")
        .bearer(token)
        .json(json!({"password": "Wrong-Password-1"}))
        .send()
        .await;
    assert_eq!(
        wrong.problem(400)["type"],
        "urn:roster:problem:wrong-password"
    );
    let missing = app
        .delete("/api/v1/users/me")
        .bearer(token)
        .json(json!({}))
        .send()
        .await;
    assert_eq!(missing.failing_fields(), ["password"]);
    app.delete("/api/v1/users/me")
        .bearer(token)
        .send()
        .await
        .problem(415);
    let deleted = app
        .delete("/api/v1/users/me")
        .bearer(token)
        .json(json!({"password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);

    // Tokens of every session are dead on the next request; refresh tokens too.
    for access in [&alice.access_token, &second_device.access_token] {
        app.get("/api/v1/users/me")
            .bearer(access)
            .send()
            .await
            .problem(401);
    }
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": second_device.refresh_token}))
        .send()
        .await
        .problem(400);
    app.get(&format!("/api/v1/users/{}", alice.user_id))
        .send()
        .await
        .problem(404);
    // Everything of hers is gone, the bystander's rows stay.
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM credentials").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM refresh_tokens").await,
        1,
        "only the bystander's"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM user_profiles").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM user_preferences").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM payment_info").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM user_search").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'user_deleted'")
            .await,
        1
    );
    // The name is free again.
    app.register(&alice.username, DEFAULT_PASSWORD).await;
}

async fn deleting_by_id_needs_the_owners_password_or_an_admin(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let bob = premium(&app).await;
    let admin = app.admin().await;
    let path = format!("/api/v1/users/{}", alice.user_id);
    app.delete(&path).send().await.problem(401);
    app.delete(&path)
        .bearer(&bob.access_token)
        .send()
        .await
        .problem(403);
    // The owner confirms with the password, as on /me.
    assert_eq!(
        app.delete(&path)
            .bearer(&alice.access_token)
            .send()
            .await
            .failing_fields(),
        ["password"]
    );
    app.delete(&path)
        .bearer(&alice.access_token)
        .json(json!({"password": "Not-The-Password-9"}))
        .send()
        .await
        .problem(400);
    let own = app
        .delete(&path)
        .bearer(&alice.access_token)
        .json(json!({"password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(own.status, 204, "{}", own.text);
    // An admin needs no password.
    let by_admin = app
        .delete(&format!("/api/v1/users/{}", bob.user_id))
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(by_admin.status, 204, "{}", by_admin.text);
    app.get("/api/v1/users/me")
        .bearer(&bob.access_token)
        .send()
        .await
        .problem(401);
    app.delete(&path)
        .bearer(&admin.access_token)
        .send()
        .await
        .problem(404);
    // The last active administrator cannot be deleted, by anyone.
    let last = app
        .delete(&format!("/api/v1/users/{}", admin.user_id))
        .bearer(&admin.access_token)
        .json(json!({"password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(last.problem(409)["type"], "urn:roster:problem:conflict");
    let me = app
        .delete("/api/v1/users/me")
        .bearer(&admin.access_token)
        .json(json!({"password": DEFAULT_PASSWORD}))
        .send()
        .await;
    me.problem(409);
    // With a second admin, the first may go.
    let other_admin = app.admin().await;
    let gone = app
        .delete(&format!("/api/v1/users/{}", admin.user_id))
        .bearer(&other_admin.access_token)
        .send()
        .await;
    assert_eq!(gone.status, 204);
    let audit = get_ok(
        &app,
        &format!(
            "/api/v1/admin/audit?event=user_deleted&user_id={}",
            bob.user_id
        ),
        &other_admin.access_token,
    )
    .await;
    assert_eq!(audit["items"][0]["actor_id"], admin.user_id.as_str());
    assert_eq!(audit["items"][0]["detail"]["by"], "admin");
}

async fn deactivated_accounts_are_hidden_from_other_members(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let bob = premium(&app).await;
    let admin = app.admin().await;
    let response = app
        .patch(&format!("/api/v1/admin/users/{}", alice.user_id))
        .bearer(&admin.access_token)
        .json(json!({"is_active": false}))
        .send()
        .await;
    assert_eq!(response.json()["is_active"], false);
    let path = format!("/api/v1/users/{}", alice.user_id);
    app.get(&path).send().await.problem(404);
    app.get(&format!("{path}/profile"))
        .bearer(&bob.access_token)
        .send()
        .await
        .problem(404);
    let full = get_ok(&app, &path, &admin.access_token).await;
    assert_eq!(full["is_active"], false);
    get_ok(&app, &format!("{path}/profile"), &admin.access_token).await;
}
