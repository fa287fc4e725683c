//! What every console page shares: the frame (the brand, the sections as a row and as a
//! phone's menu, the signed-in account and its sign-out button) in English and German,
//! and the pages that answer instead of the API's problem+json when something goes
//! wrong: an address that names no page, a refusal, a missing account.

use uuid::Uuid;

use crate::helpers::{Backend, Session, TestApp, TestResponse};
use crate::oidc::Browser;
use crate::on_both_engines;

use super::{signed_in, submit};

on_both_engines!(
    the_frame_shows_the_brand_the_sections_twice_and_the_account,
    the_frame_speaks_the_browsers_language,
    an_unknown_console_address_is_a_page_in_the_frame,
    an_unknown_console_address_is_a_plain_page_for_a_stranger,
    a_missing_account_or_a_wrong_request_is_a_page_not_problem_json,
    a_user_is_refused_the_admin_pages_in_the_frame,
    signing_out_leads_back_to_signing_in,
);

/// A browser sending `Accept-Language: accept_language`, signed in as `user`.
async fn signed_in_speaking<'a>(
    app: &'a TestApp,
    user: &Session,
    accept_language: &str,
) -> Browser<'a> {
    let mut browser = Browser::new(app).speaking(accept_language);
    let page = browser.get("/login").await;
    let response = browser
        .submit_login(&page, &user.username, &user.password)
        .await;
    assert_eq!(response.status, 303, "{}", response.text);
    browser
}

/// Asserts that `page` is an HTML page with `status` that says `words`.
fn assert_page_says(page: &TestResponse, status: u16, words: &[&str]) {
    assert_eq!(page.status, status, "{}", page.text);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{}",
        page.text
    );
    for word in words {
        assert!(page.text.contains(word), "no {word:?} on:\n{}", page.text);
    }
}

/// Asserts that `page` is drawn in the console's frame, for `user`.
fn assert_in_the_frame(page: &TestResponse, user: &Session) {
    assert!(
        page.text.contains("<header class=\"console-header\">"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains(&format!("Signed in as <strong>{}</strong>", user.username)),
        "{}",
        page.text
    );
}

async fn the_frame_shows_the_brand_the_sections_twice_and_the_account(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("BRAND_NAME", "Acme Accounts")
        .start()
        .await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get("/account/sessions").await;
    assert_page_says(
        &page,
        200,
        &[
            "<a class=\"console-brand\" href=\"/account\"><span>Acme Accounts</span></a>",
            "<a class=\"skip\" href=\"#content\">Skip to the page</a>",
            "<button type=\"submit\" class=\"secondary\">Sign out</button>",
            // The phone's menu opens without a script.
            "<details class=\"console-menu\">\n<summary>Menu</summary>",
        ],
    );
    assert_in_the_frame(&page, &user);
    // The row of a wide screen and the phone's menu, each marking the current section.
    let current = "href=\"/account/sessions\" aria-current=\"page\">Sessions</a>";
    assert_eq!(page.text.matches(current).count(), 2, "{}", page.text);
    assert!(!page.text.contains("/assets/logo"));
    assert!(!page.text.contains("style="), "no inline style");
    // One stylesheet of our own and the brand's, nothing from elsewhere.
    assert!(
        page.text
            .contains("<link rel=\"stylesheet\" href=\"/assets/roster.css\">")
    );
    assert!(!page.text.contains("https://"), "{}", page.text);
}

async fn the_frame_speaks_the_browsers_language(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in_speaking(&app, &user, "de").await;
    let page = browser.get("/account").await;
    assert_page_says(
        &page,
        200,
        &[
            "<html lang=\"de\">",
            "Zum Seiteninhalt springen",
            "<summary>Menü</summary>",
            "aria-current=\"page\">Konto</a>",
            ">Anmeldung und Sicherheit</a>",
            ">Sitzungen</a>",
            ">Anwendungen</a>",
            &format!("Angemeldet als <strong>{}</strong>", user.username),
            ">Abmelden</button>",
        ],
    );
    for english in [
        "Skip to the page",
        "Signed in as",
        ">Sign out<",
        ">Sessions<",
        ">Menu<",
    ] {
        assert!(!page.text.contains(english), "{english} on:\n{}", page.text);
    }
    let missing = browser.get("/account/nirgendwo").await;
    assert_page_says(
        &missing,
        404,
        &["Seite nicht gefunden", "Zurück zu Ihrem Konto"],
    );
    assert!(!missing.text.contains("Page not found"));
}

async fn an_unknown_console_address_is_a_page_in_the_frame(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    for path in ["/account/nowhere", "/account/profile/nowhere/else"] {
        let page = browser.get(path).await;
        assert_page_says(
            &page,
            404,
            &[
                "<h1>Page not found</h1>",
                "<a class=\"button\" href=\"/account\">Back to your account</a>",
            ],
        );
        assert_in_the_frame(&page, &user);
    }
    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await;
    let page = browser.get("/admin/nowhere").await;
    assert_page_says(&page, 404, &["<h1>Page not found</h1>"]);
    assert_in_the_frame(&page, &admin);
    // In the administration's section of the navigation.
    assert!(
        page.text
            .contains("href=\"/admin\" aria-current=\"page\">Administration</a>"),
        "{}",
        page.text
    );
}

async fn an_unknown_console_address_is_a_plain_page_for_a_stranger(backend: Backend) {
    let app = TestApp::new(backend).await;
    for path in ["/account/nowhere", "/admin/nowhere"] {
        let page = app.get(path).send().await;
        assert_page_says(
            &page,
            404,
            &[
                "<h1>Page not found</h1>",
                "<a class=\"button\" href=\"/account\">Back to your account</a>",
            ],
        );
        assert!(!page.text.contains("console-header"), "{}", page.text);
    }
    // What a script reads stays as it was.
    assert_eq!(app.get("/account/session").send().await.status, 401);
}

async fn a_missing_account_or_a_wrong_request_is_a_page_not_problem_json(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await;
    let missing = browser
        .get(&format!("/admin/users/{}", Uuid::new_v4()))
        .await;
    assert_page_says(&missing, 404, &["There is no such account."]);
    for malformed in ["/admin/users/not-an-id", "/admin/users/%FF"] {
        let page = browser.get(malformed).await;
        assert!(
            [400, 404].contains(&page.status.as_u16()),
            "{malformed}: {}",
            page.text
        );
        assert_eq!(
            page.header("content-type"),
            Some("text/html; charset=utf-8")
        );
    }
    // A form's address opened as a page: what axum answers (405, empty) becomes a page.
    let wrong_method = browser.get("/account/sign-out").await;
    assert_page_says(
        &wrong_method,
        405,
        &["<h1>Not done</h1>", "Back to your account"],
    );
    assert_in_the_frame(&wrong_method, &admin);
    assert_eq!(wrong_method.header("allow"), Some("POST"));
}

async fn a_user_is_refused_the_admin_pages_in_the_frame(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    for path in ["/admin", "/admin/users", "/admin/nowhere"] {
        let page = browser.get(path).await;
        let (status, title) = if path == "/admin/nowhere" {
            (404, "<h1>Page not found</h1>")
        } else {
            (403, "<h1>Administrators only</h1>")
        };
        assert_page_says(&page, status, &[title, "Back to your account"]);
        assert_in_the_frame(&page, &user);
        assert!(!page.text.contains("href=\"/admin\""), "{}", page.text);
    }
    let mut german = signed_in_speaking(&app, &user, "de").await;
    let page = german.get("/admin").await;
    assert_page_says(&page, 403, &["Nur für Administratoren"]);
}

async fn signing_out_leads_back_to_signing_in(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in_speaking(&app, &user, "de").await;
    let page = browser.get("/account").await;
    let out = submit(&mut browser, &page, "/account/sign-out", &[]).await;
    assert_page_says(
        &out,
        200,
        &[
            "<h1>Abgemeldet</h1>",
            "in diesem Browser von Roster abgemeldet",
            "<a class=\"button\" href=\"/account\">Erneut anmelden</a>",
        ],
    );
    // A form sent without its token: refused in the browser's language.
    let mut english = signed_in(&app, &user).await;
    english.get("/account").await;
    let forged = english
        .post("/account/sign-out", &[("csrf_token", "forged")])
        .await;
    assert_page_says(
        &forged,
        403,
        &["The form had expired", "Nothing was changed."],
    );
}
