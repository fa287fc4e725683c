//! Sign in with another provider in a real browser: the sign-in page's button (a plain
//! link) takes Chromium to a real OpenID provider nobody here wrote
//! (`oidc-provider-mock`, on another origin), the user signs in there, and the browser
//! comes back through Roster's callback signed in, the departure cookie (`SameSite`)
//! having come along on the way back.

use serde_json::json;

use super::Chromium;
use crate::federation::mock::MockProvider;
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(a_browser_signs_up_and_in_through_a_real_provider);

async fn a_browser_signs_up_and_in_through_a_real_provider(backend: Backend) {
    let (app, base) = TestApp::builder(backend).start_served_as("localhost").await;
    let admin = app.admin().await;
    let mock = MockProvider::added_to(&app, &admin).await;
    mock.set_user(
        "ada-sub",
        json!({"email": "ada@example.com", "email_verified": true, "preferred_username": "ada"}),
    )
    .await;
    let chromium = Chromium::start().await;
    chromium.goto(&format!("{base}/login")).await;
    chromium
        .assert_accessible("the sign-in page with a provider")
        .await;
    chromium.follow_link("Sign in with Mock ID").await;
    chromium.wait_for_url(&mock.issuer).await;
    chromium.fill_named("sub", "ada-sub").await;
    chromium.press("Authorize").await;
    chromium.wait_for_url(&format!("{base}/account")).await;
    chromium.wait_for_text("ada").await;
    let accounts = app
        .count("SELECT COUNT(*) FROM users WHERE email = 'ada@example.com' AND email_verified")
        .await;
    assert_eq!(accounts, 1);
    // The security page lists the identity, and fits a phone's screen.
    chromium.goto(&format!("{base}/account/security")).await;
    chromium.wait_for_text("Accounts at other providers").await;
    chromium
        .assert_accessible("the security page with an identity")
        .await;
    let (needed, window) = chromium.widths_at(390).await;
    chromium.screenshot("account-security-identities-390").await;
    assert!(
        needed <= window,
        "the page needs {needed} px of a {window} px window"
    );
    chromium.widths_at(1280).await;
    chromium
        .screenshot("account-security-identities-1280")
        .await;
    chromium.goto(&format!("{base}/account")).await;

    // Signed out, then in again: the same account, no second one.
    chromium.press("Sign out").await;
    chromium.wait_for_text("Signed out").await;
    chromium.goto(&format!("{base}/login")).await;
    chromium.follow_link("Sign in with Mock ID").await;
    chromium.wait_for_url(&mock.issuer).await;
    chromium.fill_named("sub", "ada-sub").await;
    chromium.press("Authorize").await;
    chromium.wait_for_url(&format!("{base}/account")).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM user_identities").await, 1);

    // The administrator's page of providers: usable, and it fits a phone's screen.
    chromium.press("Sign out").await;
    chromium.wait_for_text("Signed out").await;
    chromium
        .goto(&format!("{base}/login?return_to=%2Fadmin%2Fproviders"))
        .await;
    chromium.fill("login", &admin.username).await;
    chromium.fill("password", &admin.password).await;
    chromium.press("Sign in").await;
    chromium
        .wait_for_url(&format!("{base}/admin/providers"))
        .await;
    chromium.wait_for_text("Mock ID").await;
    chromium.assert_accessible("the providers page").await;
    let (needed, window) = chromium.widths_at(390).await;
    assert!(
        needed <= window,
        "the page needs {needed} px of a {window} px window"
    );
    chromium.screenshot("admin-providers-390").await;
    chromium.widths_at(1280).await;
    chromium.screenshot("admin-providers-1280").await;
    chromium.close().await;
}
