//! The account overview and signing out; the pages in German ([`german`],
//! [`before_sign_in`]) and their times and devices in words ([`readable`]).

mod before_sign_in;
mod german;
mod readable;

use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

use super::{signed_in, submit};

on_both_engines!(
    the_account_pages_need_a_signed_in_browser,
    signing_out_ends_the_browser_session,
);

async fn the_account_pages_need_a_signed_in_browser(backend: Backend) {
    let app = TestApp::new(backend).await;
    let anonymous = app.get("/account").send().await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(
        anonymous.header("location"),
        Some("/login?return_to=%2Faccount")
    );
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get("/account").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains(&user.username));
    assert!(page.text.contains("aria-current=\"page\">Account</a>"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self';"),
        "{csp}"
    );
    assert!(
        page.text
            .contains("<script src=\"/assets/console.js\" defer></script>")
    );
    // Not an administrator: no way to the admin pages.
    assert!(!page.text.contains("href=\"/admin\""));
}

async fn signing_out_ends_the_browser_session(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get("/account").await;
    // Without the form's token nothing happens.
    let forged = browser
        .post("/account/sign-out", &[("csrf_token", "x")])
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(browser.get("/account").await.status, 200);

    let alive = browser.get("/account/session").await;
    assert_eq!(alive.status, 204);
    assert_eq!(alive.header("cache-control"), Some("no-store"));

    let out = submit(&mut browser, &page, "/account/sign-out", &[]).await;
    assert_eq!(out.status, 200, "{}", out.text);
    assert!(!browser.has_cookie("roster"));
    assert_eq!(browser.get("/account").await.status, 303);
    assert_eq!(browser.get("/account/session").await.status, 401);
    let sessions = app
        .get("/api/v1/auth/sessions")
        .bearer(&user.access_token)
        .send()
        .await
        .json();
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1, "{sessions}");
}
