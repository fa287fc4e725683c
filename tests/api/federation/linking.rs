//! The linking rules: an identity is never linked to an account by its address alone,
//! except from an authoritative provider to an account whose address is verified;
//! otherwise the user proves the account with its own credentials, and then it is.

use serde_json::json;

use super::fake::Signing;
use super::{scalar, text, with_fake};
use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp, TestResponse};
use crate::mfa::{enrol_totp, fresh_code};
use crate::oidc::{Browser, hidden};
use crate::on_both_engines;

on_both_engines!(
    an_address_match_from_a_provider_that_is_not_authoritative_is_not_linked,
    an_unverified_account_cannot_be_taken_over_through_an_authoritative_provider,
    an_authoritative_provider_links_to_an_account_with_that_verified_address,
    the_offer_links_after_the_accounts_own_password_and_second_factor,
);

/// Registers `username` with `username@example.com`, verified when `verified`.
async fn account(app: &TestApp, username: &str, verified: bool) {
    app.register(username, DEFAULT_PASSWORD).await;
    if verified {
        app.exec(format!(
            "UPDATE users SET email_verified = TRUE WHERE username = '{username}'"
        ))
        .await;
    }
}

/// The page offering to link after the account's own sign-in: no session, no identity.
async fn assert_offered(app: &TestApp, browser: &Browser<'_>, offer: &TestResponse) {
    assert_eq!(offer.status, 200, "{}", offer.text);
    assert!(
        offer
            .text
            .contains("sign in to that account with its own password")
    );
    assert!(!browser.has_cookie("roster"));
    assert!(browser.has_cookie("roster-link"));
    assert_eq!(scalar(app, "SELECT COUNT(*) FROM user_identities").await, 0);
}

async fn an_address_match_from_a_provider_that_is_not_authoritative_is_not_linked(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    account(&app, "jane", true).await;
    let fake = with_fake(&app, &admin, "verified").await;
    let mut browser = Browser::new(&app);
    let offer = fake
        .sign_in(&mut browser, "fake", "attacker-1", "jane@example.com")
        .await;
    // Not signed in, not linked: a page asking to prove the account instead.
    assert_offered(&app, &browser, &offer).await;
    assert!(
        offer
            .text
            .contains("href=\"/login?return_to=%2Flogin%2Flink\"")
    );
    // Coming back to the link page without signing in leads to the sign-in page.
    let unproven = browser.get("/login/link").await;
    assert_eq!(unproven.status, 303);
    assert_eq!(
        unproven.header("location"),
        Some("/login?return_to=%2Flogin%2Flink")
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM user_identities").await,
        0
    );
}

async fn an_unverified_account_cannot_be_taken_over_through_an_authoritative_provider(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    // The attacker registered the victim's address here first, never verified it.
    account(&app, "victim", false).await;
    let fake = with_fake(&app, &admin, "authoritative").await;
    let mut browser = Browser::new(&app);
    let offer = fake
        .sign_in(&mut browser, "fake", "victim-1", "victim@example.com")
        .await;
    assert_offered(&app, &browser, &offer).await;

    // Nor through an authoritative provider that says the address is not confirmed.
    account(&app, "verified", true).await;
    let mut browser = Browser::new(&app);
    let unconfirmed = |claims: &mut serde_json::Value| claims["email_verified"] = json!(false);
    let offer = fake
        .return_as(
            &mut browser,
            "fake",
            "attacker-2",
            "verified@example.com",
            unconfirmed,
            Signing::Published,
        )
        .await;
    assert_offered(&app, &browser, &offer).await;
}

async fn an_authoritative_provider_links_to_an_account_with_that_verified_address(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    account(&app, "jane", true).await;
    let fake = with_fake(&app, &admin, "authoritative").await;
    let mut browser = Browser::new(&app);
    let signed_in = fake
        .sign_in(&mut browser, "fake", "jane-1", "jane@example.com")
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    assert!(browser.has_cookie("roster"));
    let linked = scalar(
        &app,
        "SELECT COUNT(*) FROM user_identities i JOIN users u ON u.id = i.user_id WHERE u.username = 'jane' AND i.subject = 'jane-1'",
    )
    .await;
    assert_eq!(linked, 1);
    let audited = text(
        &app,
        "SELECT CAST(a.detail AS TEXT) FROM audit_events a JOIN users u ON u.id = a.user_id WHERE a.event = 'identity_linked' AND u.username = 'jane'",
    )
    .await;
    assert!(audited.contains("authoritative_email"), "{audited}");
    let mailed = scalar(
        &app,
        "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'identity_linked' AND recipient = 'jane@example.com'",
    )
    .await;
    assert_eq!(mailed, 1);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM users WHERE email = 'jane@example.com'"
        )
        .await,
        1
    );
}

async fn the_offer_links_after_the_accounts_own_password_and_second_factor(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    app.register("jane", DEFAULT_PASSWORD).await;
    let jane = app.login("jane", DEFAULT_PASSWORD).await;
    let (secret, _) = enrol_totp(&app, &jane).await;
    app.register("mallory", DEFAULT_PASSWORD).await;
    let fake = with_fake(&app, &admin, "verified").await;

    // Proving another account than the one with the address links nothing.
    let mut browser = Browser::new(&app);
    let offer = fake
        .sign_in(&mut browser, "fake", "jane-1", "jane@example.com")
        .await;
    assert_eq!(offer.status, 200, "{}", offer.text);
    let login = browser.get("/login?return_to=%2Flogin%2Flink").await;
    assert_eq!(
        hidden(&login.text, "return_to").as_deref(),
        Some("/login/link")
    );
    let signed_in = browser
        .submit_login(&login, "mallory", DEFAULT_PASSWORD)
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    let refused = browser.follow(&signed_in).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.text.contains("another account"));
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM user_identities").await,
        0
    );

    // The account's own password and second factor, then the link.
    let mut browser = Browser::new(&app);
    let offer = fake
        .sign_in(&mut browser, "fake", "jane-1", "jane@example.com")
        .await;
    assert_eq!(offer.status, 200, "{}", offer.text);
    let login = browser.get("/login?return_to=%2Flogin%2Flink").await;
    let second_step = browser.submit_login(&login, "jane", DEFAULT_PASSWORD).await;
    assert_eq!(second_step.status, 200, "{}", second_step.text);
    let csrf = hidden(&second_step.text, "csrf_token").unwrap();
    let proven = browser
        .post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("return_to", "/login/link"),
                ("code", &fresh_code(&app, &secret)),
            ],
        )
        .await;
    assert_eq!(proven.status, 303, "{}", proven.text);
    assert_eq!(proven.header("location"), Some("/login/link"));
    let linked = browser.follow(&proven).await;
    assert_eq!(linked.status, 303, "{}", linked.text);
    assert_eq!(linked.header("location"), Some("/account"));
    assert!(!browser.has_cookie("roster-link"));
    let identity = scalar(
        &app,
        "SELECT COUNT(*) FROM user_identities i JOIN users u ON u.id = i.user_id WHERE u.username = 'jane' AND i.subject = 'jane-1'",
    )
    .await;
    assert_eq!(identity, 1);
    let audited = text(
        &app,
        "SELECT CAST(a.detail AS TEXT) FROM audit_events a WHERE a.event = 'identity_linked'",
    )
    .await;
    assert!(audited.contains("signed_in"), "{audited}");
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'identity_linked'"
        )
        .await,
        1
    );

    // From now on the identity signs jane in, and her second factor still applies.
    let mut browser = Browser::new(&app);
    let second_step = fake
        .sign_in(&mut browser, "fake", "jane-1", "jane@example.com")
        .await;
    assert_eq!(second_step.status, 200, "{}", second_step.text);
    assert!(
        second_step.text.contains("name=\"code\""),
        "{}",
        second_step.text
    );
    assert!(!browser.has_cookie("roster"));
    assert!(browser.has_cookie("roster-mfa"));
    let csrf = hidden(&second_step.text, "csrf_token").unwrap();
    let wrong = browser
        .post(
            "/login",
            &[("csrf_token", &csrf), ("return_to", ""), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    assert!(!browser.has_cookie("roster"));
    let csrf = hidden(&wrong.text, "csrf_token").unwrap();
    let done = browser
        .post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("return_to", ""),
                ("code", &fresh_code(&app, &secret)),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert!(browser.has_cookie("roster"));
    // The session says how it was made: the provider, then the second factor.
    let amr = text(
        &app,
        "SELECT s.amr FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'jane' AND s.amr LIKE 'fed,%'",
    )
    .await;
    assert_eq!(amr, "fed,otp,mfa");
}
