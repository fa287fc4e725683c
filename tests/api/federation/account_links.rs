//! Linking from the account: a signed-in user links an identity from
//! `/account/security` after a recent sign-in, sees it listed, and unlinks it; an
//! identity that is another account's is refused, and so are a stale sign-in and a
//! browser that is no longer signed in to the account that asked.

use super::fake::{FakeProvider, Signing};
use super::{assert_refused, callback_path, scalar, text, with_fake};
use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp, TestResponse};
use crate::oidc::{Browser, hidden};
use crate::on_both_engines;

on_both_engines!(
    a_signed_in_user_links_an_identity_from_the_security_page_and_unlinks_it,
    an_identity_of_another_account_is_never_linked_from_the_account,
    linking_needs_a_recent_sign_in_in_the_browser_that_asked,
);

const PAGE: &str = "/account/security";

/// A browser signed in to `username` with its password, on the security page.
async fn signed_in<'a>(app: &'a TestApp, username: &str) -> (Browser<'a>, TestResponse) {
    let mut browser = Browser::new(app);
    let login = browser.get("/login?return_to=%2Faccount%2Fsecurity").await;
    let done = browser
        .submit_login(&login, username, DEFAULT_PASSWORD)
        .await;
    assert_eq!(done.status, 303, "{}", done.text);
    let page = browser.get(PAGE).await;
    assert_eq!(page.status, 200, "{}", page.text);
    (browser, page)
}

/// Presses "Link a ... account" for `slug` on `page`: Roster's answer.
async fn press_link(browser: &mut Browser<'_>, page: &TestResponse, slug: &str) -> TestResponse {
    let csrf = hidden(&page.text, "csrf_token").expect("a CSRF token");
    browser
        .post(
            "/account/security/identities/link",
            &[("csrf_token", &csrf), ("provider", slug)],
        )
        .await
}

/// Links through `fake` as `subject`: the callback's answer.
async fn link_as(
    fake: &FakeProvider,
    browser: &mut Browser<'_>,
    page: &TestResponse,
    subject: &str,
) -> TestResponse {
    let leave = press_link(browser, page, "fake").await;
    assert_eq!(leave.status, 303, "{}", leave.text);
    let authorize = leave.header("location").unwrap().to_owned();
    assert!(authorize.starts_with(&fake.issuer), "{authorize}");
    let claims = fake.claims(&authorize, subject, "elsewhere@example.com");
    let back = fake.issue(&authorize, claims, Signing::Published);
    browser.get(&callback_path(&back)).await
}

/// The action of the first "Unlink" form on the security page.
fn unlink_action(page: &TestResponse) -> String {
    let start = page
        .text
        .find("action=\"/account/security/identities/")
        .expect("an unlink form")
        + "action=\"".len();
    let end = start + page.text[start..].find('"').unwrap();
    page.text[start..end].to_owned()
}

async fn identities_of(app: &TestApp, username: &str) -> i64 {
    scalar(
        app,
        &format!(
            "SELECT COUNT(*) FROM user_identities i JOIN users u ON u.id = i.user_id WHERE u.username = '{username}'"
        ),
    )
    .await
}

async fn a_signed_in_user_links_an_identity_from_the_security_page_and_unlinks_it(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let fake = with_fake(&app, &admin, "verified").await;
    app.register("jane", DEFAULT_PASSWORD).await;
    let (mut browser, page) = signed_in(&app, "jane").await;
    assert!(
        page.text.contains("Link a Sign-in fake account"),
        "{}",
        page.text
    );
    // The identity's address is not jane's: linking from the account needs none.
    let linked = link_as(&fake, &mut browser, &page, "jane-elsewhere").await;
    assert_eq!(linked.status, 303, "{}", linked.text);
    assert_eq!(
        linked.header("location"),
        Some("/account/security?done=identity-linked")
    );
    assert_eq!(identities_of(&app, "jane").await, 1);
    let audited = text(
        &app,
        "SELECT CAST(detail AS TEXT) FROM audit_events WHERE event = 'identity_linked'",
    )
    .await;
    let detail: serde_json::Value = serde_json::from_str(&audited).unwrap();
    assert_eq!(detail["how"], "account", "{audited}");
    let mailed = scalar(
        &app,
        "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'identity_linked'",
    )
    .await;
    assert_eq!(mailed, 1);
    let shown = browser.follow(&linked).await;
    assert!(
        shown.text.contains("The account was linked"),
        "{}",
        shown.text
    );
    assert!(
        shown.text.contains("elsewhere@example.com"),
        "{}",
        shown.text
    );
    // Linking the same identity again leaves it as it is.
    let again = link_as(&fake, &mut browser, &shown, "jane-elsewhere").await;
    assert_eq!(
        again.header("location"),
        Some("/account/security?done=identity-already-yours")
    );
    assert_eq!(identities_of(&app, "jane").await, 1);
    // Unlinking: jane keeps her password, so it is not her last way to sign in.
    let page = browser.get(PAGE).await;
    let action = unlink_action(&page);
    let csrf = hidden(&page.text, "csrf_token").unwrap();
    let removed = browser.post(&action, &[("csrf_token", &csrf)]).await;
    assert_eq!(
        removed.header("location"),
        Some("/account/security?done=identity-removed"),
        "{}",
        removed.text
    );
    assert_eq!(identities_of(&app, "jane").await, 0);
}

async fn an_identity_of_another_account_is_never_linked_from_the_account(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let fake = with_fake(&app, &admin, "verified").await;
    // The identity `taken-1` made its own account by signing up through the provider.
    let mut other = Browser::new(&app);
    let made = fake
        .sign_in(&mut other, "fake", "taken-1", "taken@example.com")
        .await;
    assert_eq!(made.status, 303, "{}", made.text);
    app.register("jane", DEFAULT_PASSWORD).await;
    let (mut browser, page) = signed_in(&app, "jane").await;
    let refused = link_as(&fake, &mut browser, &page, "taken-1").await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(
        refused.text.contains("linked to another account here"),
        "{}",
        refused.text
    );
    assert_eq!(identities_of(&app, "jane").await, 0);
    assert_eq!(identities_of(&app, "taken-1").await, 1);
    // jane's browser is still hers.
    let page = browser.get(PAGE).await;
    assert_eq!(page.status, 200, "{}", page.text);
}

async fn linking_needs_a_recent_sign_in_in_the_browser_that_asked(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let fake = with_fake(&app, &admin, "verified").await;
    app.register("jane", DEFAULT_PASSWORD).await;
    // Signed out while at the provider: what comes back is not linked.
    let (mut browser, page) = signed_in(&app, "jane").await;
    let leave = press_link(&mut browser, &page, "fake").await;
    assert_eq!(leave.status, 303, "{}", leave.text);
    let authorize = leave.header("location").unwrap().to_owned();
    let csrf = hidden(&page.text, "csrf_token").unwrap();
    let out = browser
        .post("/account/sign-out", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(out.status, 200, "{}", out.text);
    assert!(!browser.has_cookie("roster"));
    let claims = fake.claims(&authorize, "jane-elsewhere", "elsewhere@example.com");
    let back = fake.issue(&authorize, claims, Signing::Published);
    let answer = browser.get(&callback_path(&back)).await;
    assert_refused(&browser, &answer, 403, "no longer signed in");
    assert_eq!(identities_of(&app, "jane").await, 0);
    // A stale sign-in (REAUTH_MAX_AGE_MINUTES is 10): the page asks to confirm first and
    // nobody leaves. Last, as the provider's tokens are issued at the real time.
    let (mut browser, _) = signed_in(&app, "jane").await;
    app.clock.advance(chrono::Duration::minutes(11));
    let stale = browser.get(PAGE).await;
    assert!(
        stale
            .text
            .contains("Linking another account needs a sign-in"),
        "{}",
        stale.text
    );
    let refused = press_link(&mut browser, &stale, "fake").await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM federation_logins").await,
        0
    );
}
