//! A provider that misbehaves, or an attacker in the middle: every bad answer is
//! refused with a page saying what to do, and the browser is never signed in.

use serde_json::json;

use super::fake::{FakeProvider, Signing};
use super::{
    add_provider, assert_refused, callback_path, depart, oidc_provider, scalar, text, with_fake,
};
use crate::helpers::{Backend, TestApp};
use crate::oidc::Browser;
use crate::on_both_engines;

on_both_engines!(
    a_token_signed_by_a_single_key_without_kid_signs_in,
    tokens_that_fail_validation_are_refused_with_a_page_and_no_session,
    a_replayed_callback_is_refused,
    answers_of_another_provider_or_another_browser_are_refused,
    an_address_changed_upstream_still_signs_in_the_same_account,
    an_address_the_provider_has_not_confirmed_makes_no_account,
    leaving_for_a_provider_and_coming_back_spend_the_sign_in_budget,
);

async fn a_token_signed_by_a_single_key_without_kid_signs_in(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let fake = with_fake(&app, &admin, "verified").await;
    let mut browser = Browser::new(&app);
    let authorize = depart(&mut browser, "fake", None).await;
    assert!(authorize.starts_with(&format!("{}/authorize?", fake.issuer)));
    let claims = fake.claims(&authorize, "subject-1", "ada@example.com");
    let back = fake.issue(&authorize, claims, Signing::Published);
    let signed_in = browser.get(&callback_path(&back)).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    assert_eq!(signed_in.header("location"), Some("/account"));
    assert!(browser.has_cookie("roster"));
    assert!(!browser.has_cookie("roster-federation"));
    // The code was redeemed with the client's secret and the PKCE verifier (the fake
    // refuses it otherwise).
    assert!(fake.all_redeemed());
    assert_eq!(
        text(
            &app,
            "SELECT username FROM users WHERE email = 'ada@example.com'"
        )
        .await,
        "subject-1"
    );
    let verified = scalar(
        &app,
        "SELECT COUNT(*) FROM users WHERE email = 'ada@example.com' AND email_verified",
    )
    .await;
    assert_eq!(verified, 1);
    let session = scalar(
        &app,
        "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'ada@example.com' AND s.amr = 'fed'",
    )
    .await;
    assert_eq!(session, 1);
    // No password: the account has none until a reset sets one.
    let passwords = scalar(
        &app,
        "SELECT COUNT(*) FROM credentials c JOIN users u ON u.id = c.user_id WHERE u.email = 'ada@example.com'",
    )
    .await;
    assert_eq!(passwords, 0);
}

async fn tokens_that_fail_validation_are_refused_with_a_page_and_no_session(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let fake = with_fake(&app, &admin, "verified").await;
    let now = chrono::Utc::now().timestamp();
    let cases: [(&str, serde_json::Value, Signing); 7] = [
        (
            "wrong nonce",
            json!({"nonce": "not-the-one-sent"}),
            Signing::Published,
        ),
        (
            "wrong issuer",
            json!({"iss": "https://evil.example"}),
            Signing::Published,
        ),
        (
            "wrong audience",
            json!({"aud": "another-client"}),
            Signing::Published,
        ),
        (
            "expired",
            json!({"iat": now - 7200, "exp": now - 3600}),
            Signing::Published,
        ),
        ("unsigned", json!({}), Signing::Unsigned),
        ("forged signature", json!({}), Signing::Forged),
        ("no nonce", json!({"nonce": null}), Signing::Published),
    ];
    for (case, changes, signing) in cases {
        let mut browser = Browser::new(&app);
        let tweak = |claims: &mut serde_json::Value| {
            for (name, value) in changes.as_object().unwrap() {
                if value.is_null() {
                    claims.as_object_mut().unwrap().remove(name);
                } else {
                    claims[name] = value.clone();
                }
            }
        };
        let refused = fake
            .return_as(
                &mut browser,
                "fake",
                "subject-1",
                "ada@example.com",
                tweak,
                signing,
            )
            .await;
        assert_eq!(refused.status, 502, "{case}: {}", refused.text);
        assert_refused(&browser, &refused, 502, "answer could not be verified");
    }
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM user_identities").await,
        0
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM users WHERE email = 'ada@example.com'"
        )
        .await,
        0
    );
}

async fn a_replayed_callback_is_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let fake = with_fake(&app, &admin, "verified").await;
    let mut browser = Browser::new(&app);
    let authorize = depart(&mut browser, "fake", None).await;
    let claims = fake.claims(&authorize, "subject-1", "ada@example.com");
    let back = fake.issue(&authorize, claims, Signing::Published);
    let first = browser.get(&callback_path(&back)).await;
    assert_eq!(first.status, 303, "{}", first.text);
    // The same answer again, in a fresh browser and in the same one: the state is spent.
    let mut other = Browser::new(&app);
    let replayed = other.get(&callback_path(&back)).await;
    assert_refused(&other, &replayed, 400, "completed or abandoned already");
    let again = app.get(&callback_path(&back)).send().await;
    assert_eq!(again.status, 400, "{}", again.text);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM sessions WHERE amr = 'fed'").await,
        1
    );
}

async fn answers_of_another_provider_or_another_browser_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let first = FakeProvider::start().await;
    let second = FakeProvider::start().await;
    add_provider(
        &app,
        &admin,
        oidc_provider("first", &first.issuer, "verified"),
    )
    .await;
    add_provider(
        &app,
        &admin,
        oidc_provider("second", &second.issuer, "verified"),
    )
    .await;

    // RFC 9207: the iss parameter names the other provider (a mix-up).
    let mut browser = Browser::new(&app);
    let authorize = depart(&mut browser, "first", None).await;
    let claims = first.claims(&authorize, "subject-1", "ada@example.com");
    let back = first.issue(&authorize, claims, Signing::Published);
    let mixed = format!(
        "{}&iss={}",
        callback_path(&back),
        form_urlencoded::byte_serialize(second.issuer.as_bytes()).collect::<String>()
    );
    let refused = browser.get(&mixed).await;
    assert_refused(&browser, &refused, 400, "did not come from");

    // The first provider's state delivered to the second's callback.
    let mut browser = Browser::new(&app);
    let authorize = depart(&mut browser, "first", None).await;
    let claims = second.claims(&authorize, "subject-1", "ada@example.com");
    let back = first.issue(&authorize, claims, Signing::Published);
    let elsewhere = callback_path(&back).replace("/login/first/", "/login/second/");
    let refused = browser.get(&elsewhere).await;
    assert_refused(&browser, &refused, 400, "did not come from");

    // The answer arrives in a browser that did not leave for it.
    let mut browser = Browser::new(&app);
    let authorize = depart(&mut browser, "first", None).await;
    let claims = first.claims(&authorize, "subject-1", "ada@example.com");
    let back = first.issue(&authorize, claims, Signing::Published);
    let mut stranger = Browser::new(&app);
    let refused = stranger.get(&callback_path(&back)).await;
    assert_refused(&stranger, &refused, 400, "started in another browser");

    // The right iss is accepted.
    let mut browser = Browser::new(&app);
    let authorize = depart(&mut browser, "first", None).await;
    let claims = first.claims(&authorize, "subject-1", "ada@example.com");
    let back = first.issue(&authorize, claims, Signing::Published);
    let with_iss = format!(
        "{}&iss={}",
        callback_path(&back),
        form_urlencoded::byte_serialize(first.issuer.as_bytes()).collect::<String>()
    );
    let signed_in = browser.get(&with_iss).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    assert!(browser.has_cookie("roster"));
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM user_identities").await,
        1
    );
}

async fn an_address_changed_upstream_still_signs_in_the_same_account(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let fake = with_fake(&app, &admin, "verified").await;
    for email in ["ada@example.com", "ada@elsewhere.example"] {
        let mut browser = Browser::new(&app);
        let signed_in = fake.sign_in(&mut browser, "fake", "subject-1", email).await;
        assert_eq!(signed_in.status, 303, "{email}: {}", signed_in.text);
        assert!(browser.has_cookie("roster"));
    }
    // One account (the address it was made with), one identity (the address reported
    // last), two sessions.
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM users WHERE email LIKE 'ada@%'").await,
        1
    );
    assert_eq!(
        text(&app, "SELECT email FROM user_identities").await,
        "ada@elsewhere.example"
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM sessions WHERE amr = 'fed'").await,
        2
    );
}

async fn an_address_the_provider_has_not_confirmed_makes_no_account(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let fake = with_fake(&app, &admin, "verified").await;
    let mut browser = Browser::new(&app);
    let unconfirmed = |claims: &mut serde_json::Value| claims["email_verified"] = json!(false);
    let refused = fake
        .return_as(
            &mut browser,
            "fake",
            "subject-1",
            "victim@example.com",
            unconfirmed,
            Signing::Published,
        )
        .await;
    assert_refused(
        &browser,
        &refused,
        403,
        "has not confirmed your email address",
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM users WHERE email = 'victim@example.com'"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM user_identities").await,
        0
    );
}

async fn leaving_for_a_provider_and_coming_back_spend_the_sign_in_budget(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("RATE_LIMIT_AUTH_PER_MINUTE", "3")
        .start()
        .await;
    let admin = app.admin().await;
    let _fake = with_fake(&app, &admin, "verified").await;
    let visit = |path: &str| {
        app.get(path)
            .from_ip("192.0.2.7")
            .header("accept", "text/html")
            .send()
    };
    let mut left = 0;
    let limited = loop {
        let response = visit("/login/fake").await;
        if response.status == 429 {
            break response;
        }
        assert_eq!(response.status, 303, "{}", response.text);
        left += 1;
        assert!(left <= 10, "never limited");
    };
    assert!(limited.header("retry-after").is_some());
    assert!(
        limited
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{}",
        limited.text
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM federation_logins").await,
        left
    );
    let back = visit("/login/fake/callback?state=guess&code=guess").await;
    assert_eq!(back.status, 429, "{}", back.text);
}
