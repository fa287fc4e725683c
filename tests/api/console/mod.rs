//! The web console (`/account`, `/admin`) through the router with a cookie jar: every
//! page needs the browser session, every form its CSRF token, and every action does
//! what the JSON endpoint it mirrors does. (A real browser runs the main paths in
//! `tests/api/browser/`.)

mod account;
mod account_extras;
mod account_profile;
mod account_security;
mod admin;
mod conflict_words;
mod field_words;
mod frame;
mod refusal_words;

use crate::helpers::{Session, TestApp, TestResponse};
use crate::oidc::{Browser, hidden};

/// A browser signed in on the login page as `user`.
pub async fn signed_in<'a>(app: &'a TestApp, user: &Session) -> Browser<'a> {
    let mut browser = Browser::new(app);
    let page = browser.get("/login").await;
    let response = browser
        .submit_login(&page, &user.username, &user.password)
        .await;
    assert_eq!(response.status, 303, "{}", response.text);
    assert_eq!(response.header("location"), Some("/account"));
    browser
}

/// Posts the form of `page` whose `action` is `action`, with its hidden fields (the CSRF
/// token among them) and `fields`.
pub async fn submit(
    browser: &mut Browser<'_>,
    page: &TestResponse,
    action: &str,
    fields: &[(&str, &str)],
) -> TestResponse {
    assert_eq!(page.status, 200, "{}", page.text);
    let csrf = hidden(&page.text, "csrf_token").expect("a CSRF token on the page");
    let mut form: Vec<(&str, &str)> = vec![("csrf_token", &csrf)];
    form.extend_from_slice(fields);
    browser.post(action, &form).await
}

/// Starts setting up TOTP from the security page `page` and answers with `code`;
/// returns the set-up page (with its key) and the answer to the code.
pub async fn set_up_totp_answering(
    browser: &mut Browser<'_>,
    page: &TestResponse,
    code: &str,
) -> (TestResponse, TestResponse) {
    let started = submit(browser, page, "/account/security/totp", &[]).await;
    let answer = submit(
        browser,
        &started,
        "/account/security/totp/confirm",
        &[("code", code)],
    )
    .await;
    (started, answer)
}
