//! What a stolen access token, or a patient guesser, must not get: password guesses
//! behind a token are counted and throttled like logins, an account's spellings share
//! one lockout, one mailbox is one account, repeated JSON keys and misleading
//! characters are refused, and premium members see only professional profile fields.

use serde_json::{Value, json};

use crate::achievements::support::{badges_of, goals_of};
use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp, TestResponse};
use crate::on_both_engines;
use crate::users::support::{full_profile, get_ok, premium};

on_both_engines!(
    wrong_passwords_behind_a_token_count_toward_the_account_lockout,
    password_confirmations_spend_the_clients_authentication_budget,
    an_accounts_username_and_email_share_one_lockout,
    one_mailbox_is_one_account_whatever_its_spelling,
    stored_addresses_are_made_canonical_once_and_collisions_are_reported,
    a_body_that_repeats_a_key_is_refused,
    free_text_refuses_control_and_bidirectional_override_characters,
    premium_members_see_only_professional_fields_and_no_private_profile,
);

async fn change_password(app: &TestApp, token: &str, current: &str) -> TestResponse {
    app.post("/api/v1/auth/change-password")
        .bearer(token)
        .json(json!({"current_password": current, "new_password": "Another-Strong-Pass-42"}))
        .send()
        .await
}

async fn delete_me(app: &TestApp, token: &str, password: &str) -> TestResponse {
    app.delete("/api/v1/users/me")
        .bearer(token)
        .json(json!({"password": password}))
        .send()
        .await
}

async fn wrong_passwords_behind_a_token_count_toward_the_account_lockout(backend: Backend) {
    let app = TestApp::with_cheap_hashing(backend).await;
    let alice = app.user().await;
    for _ in 0..3 {
        change_password(&app, &alice.access_token, "Wrong-Guess-1")
            .await
            .problem(400);
    }
    for _ in 0..2 {
        delete_me(&app, &alice.access_token, "Wrong-Guess-1")
            .await
            .problem(400);
    }
    // Five wrong guesses lock the account: even the right password waits now, behind
    // the token as at the login.
    let locked = change_password(&app, &alice.access_token, DEFAULT_PASSWORD).await;
    locked.problem(429);
    assert_eq!(locked.header("retry-after"), Some("60"));
    delete_me(&app, &alice.access_token, DEFAULT_PASSWORD)
        .await
        .problem(429);
    app.post("/api/v1/auth/login")
        .json(json!({"login": alice.username, "password": DEFAULT_PASSWORD}))
        .send()
        .await
        .problem(429);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_events WHERE event = 'password_confirmation_failure'"
        )
        .await,
        5
    );
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(
        change_password(&app, &alice.access_token, DEFAULT_PASSWORD)
            .await
            .status,
        204
    );
}

async fn password_confirmations_spend_the_clients_authentication_budget(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("RATE_LIMIT_AUTH_PER_MINUTE", "5")
        .env("ARGON2_MEMORY_KIB", "1024")
        .env("ARGON2_ITERATIONS", "1")
        .start()
        .await;
    let alice = app.user().await;
    let guess = |ip: &'static str| {
        app.delete("/api/v1/users/me")
            .bearer(&alice.access_token)
            .from_ip(ip)
            .json(json!({"password": "Wrong-Guess-1"}))
            .send()
    };
    for _ in 0..4 {
        guess("203.0.113.7").await.problem(400);
    }
    let email_change = app
        .put("/api/v1/users/me")
        .bearer(&alice.access_token)
        .from_ip("203.0.113.7")
        .json(json!({"email": "new@elsewhere.example", "current_password": "Wrong-Guess-2"}))
        .send()
        .await;
    email_change.problem(400);
    // The sixth request from this client is over its budget of five.
    let limited = guess("203.0.113.7").await;
    let body = limited.problem(429);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("from this address"),
        "{body}"
    );
    assert!(limited.header("retry-after").is_some());
    // Another client has its budget, but the five wrong passwords locked the account.
    let locked = guess("203.0.113.8").await.problem(429);
    assert!(
        locked["detail"].as_str().unwrap().contains("account"),
        "{locked}"
    );
}

async fn an_accounts_username_and_email_share_one_lockout(backend: Backend) {
    let app = TestApp::with_cheap_hashing(backend).await;
    app.register("bruno", DEFAULT_PASSWORD).await;
    let fail = |login: &'static str| {
        app.post("/api/v1/auth/login")
            .json(json!({"login": login, "password": "Wrong-Guess-1"}))
            .send()
    };
    for login in [
        "bruno",
        "bruno@example.com",
        "BRUNO",
        "Bruno@Example.com",
        "bruno",
    ] {
        fail(login).await.problem(401);
    }
    // Five guesses in all, over four spellings: the account is locked for every one.
    let mut account_lock: Option<Value> = None;
    for login in ["bruno", "bruno@example.com", "BRUNO@EXAMPLE.COM"] {
        let response = app
            .post("/api/v1/auth/login")
            .json(json!({"login": login, "password": DEFAULT_PASSWORD}))
            .send()
            .await;
        account_lock = Some(response.problem(429));
    }
    // A locked unknown identifier answers exactly alike.
    for _ in 0..5 {
        fail("nobody-here").await.problem(401);
    }
    let unknown = fail("nobody-here").await.problem(429);
    assert_eq!(Some(unknown), account_lock);
}

async fn one_mailbox_is_one_account_whatever_its_spelling(backend: Backend) {
    let app = TestApp::new(backend).await;
    let register = |username: &str, email: &str| {
        app.post("/api/v1/auth/register")
            .json(json!({"username": username, "email": email, "password": DEFAULT_PASSWORD}))
            .send()
    };
    let first = register("umlaut", "alice@exämple.com").await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.json()["email"], "alice@xn--exmple-cua.com");
    for (i, spelling) in [
        "alice@xn--exmple-cua.com",
        "\"alice\"@exämple.com",
        "alice@ｅｘämple.com",
        "ALICE@EXÄMPLE.COM",
        "alice@exa\u{0308}mple.com",
    ]
    .into_iter()
    .enumerate()
    {
        let again = register(&format!("umlaut{i}"), spelling).await;
        assert_eq!(
            again.problem(409)["errors"][0]["field"],
            "email",
            "{spelling}"
        );
    }
    // Every spelling logs in to the one account.
    for spelling in ["Alice@Exämple.com", "\"alice\"@xn--exmple-cua.com"] {
        app.login(spelling, DEFAULT_PASSWORD).await;
    }
}

async fn stored_addresses_are_made_canonical_once_and_collisions_are_reported(backend: Backend) {
    let app = TestApp::new(backend).await;
    for name in ["legacy_one", "legacy_two", "legacy_three"] {
        app.register(name, DEFAULT_PASSWORD).await;
    }
    // Addresses as versions before the canonical form stored them.
    app.exec("UPDATE users SET email = 'dup@xn--exmple-cua.com' WHERE username = 'legacy_one'")
        .await;
    app.exec("UPDATE users SET email = 'dup@exämple.com' WHERE username = 'legacy_two'")
        .await;
    app.exec("UPDATE users SET email = '\"three\"@example.com' WHERE username = 'legacy_three'")
        .await;
    app.exec("DELETE FROM data_fixes").await;

    let upgraded = app.restarted_with(&[]).await;
    assert_eq!(
        upgraded
            .count("SELECT COUNT(*) FROM users WHERE username = 'legacy_three' AND email = 'three@example.com'")
            .await,
        1
    );
    // The two spellings of one mailbox are both left as they were, and listed.
    assert_eq!(
        upgraded
            .count("SELECT COUNT(*) FROM users WHERE email IN ('dup@xn--exmple-cua.com', 'dup@exämple.com')")
            .await,
        2
    );
    assert_eq!(
        upgraded
            .count("SELECT COUNT(*) FROM email_canonical_duplicates WHERE canonical_email = 'dup@xn--exmple-cua.com'")
            .await,
        2
    );
    // It runs once: a later start changes and reports nothing more.
    upgraded
        .exec("UPDATE users SET email = '\"four\"@example.com' WHERE username = 'legacy_three'")
        .await;
    let again = upgraded.restarted_with(&[]).await;
    assert_eq!(
        again
            .count("SELECT COUNT(*) FROM users WHERE email = '\"four\"@example.com'")
            .await,
        1
    );
    assert_eq!(
        again
            .count("SELECT COUNT(*) FROM email_canonical_duplicates")
            .await,
        2
    );
}

async fn a_body_that_repeats_a_key_is_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let root = app.user().await;
    // The finding: the last of two "login" keys won.
    let body = format!(
        r#"{{"login": "nobody", "login": "{}", "password": "{DEFAULT_PASSWORD}"}}"#,
        root.username
    );
    let response = app
        .post("/api/v1/auth/login")
        .body("application/json", body)
        .send()
        .await;
    let problem = response.problem(400);
    assert!(
        problem["detail"].as_str().unwrap().contains("`login`"),
        "{problem}"
    );
    assert!(response.header("authorization").is_none());
    for (path, body) in [
        (
            "/api/v1/users/me/preferences",
            r#"{"wifi": true, "wifi": false}"#,
        ),
        (
            "/api/v1/users/me/profile",
            r#"{"shipping_address": {"city": "A", "city": "B"}}"#,
        ),
    ] {
        app.put(path)
            .bearer(&root.access_token)
            .body("application/json", body)
            .send()
            .await
            .problem(400);
    }
}

async fn free_text_refuses_control_and_bidirectional_override_characters(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    // The finding: a device name that displays as something else in the session list.
    for device in ["\u{202e}gpj.exe", "tab\there", "\u{2066}isolate\u{2069}"] {
        let response = app
            .post("/api/v1/auth/login")
            .json(json!({"login": alice.username, "password": DEFAULT_PASSWORD, "device_name": device}))
            .send()
            .await;
        assert_eq!(response.failing_fields(), ["device_name"], "{device:?}");
    }
    let fine = app
        .post("/api/v1/auth/login")
        .json(json!({"login": alice.username, "password": DEFAULT_PASSWORD, "device_name": "Zoë's ☕ phone"}))
        .send()
        .await;
    assert_eq!(fine.status, 200, "{}", fine.text);
    let token = &alice.access_token;
    let bidi = "Admin\u{202e}nimda";
    let cases: Vec<(&str, String, Value, &str)> = vec![
        (
            "PUT",
            "/api/v1/users/me".into(),
            json!({"full_name": bidi}),
            "full_name",
        ),
        (
            "PUT",
            "/api/v1/users/me/profile".into(),
            json!({"occupation": bidi}),
            "occupation",
        ),
        (
            "PUT",
            "/api/v1/users/me/profile".into(),
            json!({"bio": format!("line\n{bidi}")}),
            "bio",
        ),
        (
            "POST",
            badges_of(&alice.user_id),
            json!({"name": bidi}),
            "name",
        ),
        (
            "POST",
            goals_of(&alice.user_id),
            json!({"title": bidi}),
            "title",
        ),
        (
            "PUT",
            "/api/v1/users/me/preferences".into(),
            json!({"other_preferences": bidi}),
            "other_preferences",
        ),
    ];
    for (method, path, body, field) in cases {
        let response =
            crate::users::support::send(&app, method, &path, Some(token), Some(body)).await;
        assert_eq!(response.failing_fields(), [field], "{method} {path}");
    }
    let registered = app
        .post("/api/v1/auth/register")
        .json(json!({"username": "bidi_user", "email": "bidi@example.com", "password": DEFAULT_PASSWORD, "full_name": bidi}))
        .send()
        .await;
    assert_eq!(registered.failing_fields(), ["full_name"]);
}

async fn premium_members_see_only_professional_fields_and_no_private_profile(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let profile = app
        .put("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(full_profile())
        .send()
        .await;
    assert_eq!(profile.json()["profile_visibility"], "premium");
    let reader = premium(&app).await;
    let path = format!("/api/v1/users/{}/profile", alice.user_id);

    // The finding: a free upgrade showed the date of birth, phone and address.
    let seen = get_ok(&app, &path, &reader.access_token).await;
    assert_eq!(seen["occupation"], "Engineer");
    assert_eq!(seen["bio"], "Likes quiet libraries.\nAnd coffee.");
    for private in [
        "date_of_birth",
        "age",
        "phone",
        "shipping_address",
        "profile_visibility",
    ] {
        assert!(seen.get(private).is_none(), "{private} in {seen}");
    }
    // The member and administrators still see it all.
    let own = get_ok(&app, &path, &alice.access_token).await;
    assert_eq!(own["phone"], "+12125551234");
    let admin = app.admin().await;
    assert_eq!(
        get_ok(&app, &path, &admin.access_token).await["age"].is_number(),
        true
    );

    // A private profile: nothing for premium members, in the profile, the search or the
    // public view.
    let private = app
        .patch("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(json!({"profile_visibility": "private"}))
        .send()
        .await;
    assert_eq!(private.json()["profile_visibility"], "private");
    app.get(&path)
        .bearer(&reader.access_token)
        .send()
        .await
        .problem(403);
    let by_title = get_ok(
        &app,
        "/api/v1/users/search?q=staff%20engineer",
        &reader.access_token,
    )
    .await;
    assert_eq!(by_title["items"], json!([]));
    let by_name = get_ok(
        &app,
        &format!("/api/v1/users/search?q={}", alice.username),
        &reader.access_token,
    )
    .await;
    assert_eq!(by_name["items"].as_array().unwrap().len(), 1, "{by_name}");
    assert_eq!(by_name["items"][0]["bio"], Value::Null);
    assert_eq!(by_name["items"][0]["avatar_url"], Value::Null);
    let public = get_ok(
        &app,
        &format!("/api/v1/users/{}", alice.user_id),
        &reader.access_token,
    )
    .await;
    assert_eq!(public["bio"], Value::Null);
    // Administrators find it by every field, and clearing it keeps it private.
    let admin_search = get_ok(
        &app,
        "/api/v1/users?q=staff%20engineer",
        &admin.access_token,
    )
    .await;
    assert_eq!(admin_search["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.delete("/api/v1/users/me/profile")
            .bearer(&alice.access_token)
            .send()
            .await
            .status,
        204
    );
    app.get(&path)
        .bearer(&reader.access_token)
        .send()
        .await
        .problem(403);
    let bad = app
        .patch("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(json!({"profile_visibility": "everyone"}))
        .send()
        .await;
    assert_eq!(bad.failing_fields(), ["profile_visibility"]);
}
