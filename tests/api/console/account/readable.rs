//! The account pages show times as people read them ("3 hours ago", with the exact time
//! in a `<time datetime>`), never as RFC 3339 text, and devices as "Chrome on Linux",
//! never as a User-Agent string; wide tables stack on a phone.

use serde_json::json;

use crate::console::signed_in;
use crate::helpers::{Backend, DEFAULT_PASSWORD, Session, TestApp, TestResponse};
use crate::oidc::{confidential_client, sign_in_through};
use crate::on_both_engines;

on_both_engines!(
    sessions_show_the_device_and_how_long_ago_not_the_raw_values,
    the_overview_applications_and_badges_show_times_in_words,
);

const CHROME_ON_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// `html` without the values of its `datetime="…"` attributes.
fn without_datetime_attributes(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("datetime=\"") {
        let value = at + "datetime=\"".len();
        text.push_str(&rest[..value]);
        let end = rest[value..].find('"').map_or(rest.len(), |e| value + e);
        rest = &rest[end..];
    }
    text.push_str(rest);
    text
}

/// The first RFC 3339 time (`2026-12-07T05:05:05…`) in `text`, if any.
fn rfc3339_in(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:dd";
    (0..bytes.len().saturating_sub(shape.len() - 1)).find_map(|start| {
        let fits = shape
            .iter()
            .zip(&bytes[start..])
            .all(|(want, got)| match want {
                b'd' => got.is_ascii_digit(),
                other => other == got,
            });
        fits.then(|| &text[start..start + shape.len()])
    })
}

/// Asserts that `page` shows no time as RFC 3339 text (only in `datetime` attributes)
/// and says at least one time in words.
fn assert_times_in_words(page: &TestResponse) {
    assert_eq!(page.status, 200, "{}", page.text);
    let shown = without_datetime_attributes(&page.text);
    if let Some(raw) = rfc3339_in(&shown) {
        panic!("a raw time {raw} in {}", page.text);
    }
    assert!(page.text.contains("<time datetime=\""), "{}", page.text);
    assert!(
        page.text.contains(" ago</span>") || page.text.contains("just now</span>"),
        "{}",
        page.text
    );
}

/// Logs `user` in through the API from Chrome on Linux: a session with that device.
async fn log_in_from_chrome(app: &TestApp, user: &Session) {
    let login = app
        .post("/api/v1/auth/login")
        .header("user-agent", CHROME_ON_LINUX)
        .json(json!({"login": user.username, "password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
}

async fn sessions_show_the_device_and_how_long_ago_not_the_raw_values(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    log_in_from_chrome(&app, &user).await;
    app.clock.advance(chrono::Duration::hours(3));
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get("/account/sessions").await;
    assert_times_in_words(&page);
    assert!(
        page.text.contains(">Chrome on Linux</span>"),
        "{}",
        page.text
    );
    assert!(page.text.contains("3 hours ago"), "{}", page.text);
    assert!(page.text.contains("just now"), "{}", page.text);
    // The User-Agent itself only in the cell's title, for whoever wants it.
    assert_eq!(page.text.matches("AppleWebKit").count(), 1, "{}", page.text);
    assert!(page.text.contains("<table class=\"stacked\">"));
    for label in [
        "Device",
        "IP address",
        "Browser or app",
        "Signed in",
        "Last used",
    ] {
        assert!(
            page.text.contains(&format!("<td data-label=\"{label}\">")),
            "{label}: {}",
            page.text
        );
    }
    assert!(
        page.text
            .contains("aria-label=\"Sign out the session of Chrome on Linux\""),
        "{}",
        page.text
    );
}

async fn the_overview_applications_and_badges_show_times_in_words(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, false).await;
    let user = app.user().await;
    sign_in_through(&app, &client, &user, "openid profile").await;
    let badge = app
        .post(&format!("/api/v1/users/{}/badges", user.user_id))
        .bearer(&user.access_token)
        .json(json!({"name": "Gold", "icon_url": "https://img.example/gold.png"}))
        .send()
        .await;
    assert_eq!(badge.status, 201, "{}", badge.text);
    app.clock.advance(chrono::Duration::days(2));
    let mut browser = signed_in(&app, &user).await;
    let overview = browser.get("/account").await;
    assert_times_in_words(&overview);
    assert!(overview.text.contains("2 days ago"), "{}", overview.text);
    let applications = browser.get("/account/applications").await;
    assert_times_in_words(&applications);
    assert!(applications.text.contains("Allowed <span class=\"when\">"));
    let achievements = browser.get("/account/achievements").await;
    assert_times_in_words(&achievements);
    assert!(
        achievements
            .text
            .contains("alt=\"Gold\" class=\"badge-icon\""),
        "{}",
        achievements.text
    );
    assert!(!achievements.text.contains(">Icon</a>"));
}
