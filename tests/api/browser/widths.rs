//! Every console page on a phone (390×844) and on a wide screen (1280×800), with data
//! in every list (sessions, an application's consent, badges and goals, a payment
//! token, audit entries, a client, a webhook, a provider): none is wider than the
//! window, no time of day breaks over two lines ("6:02" above "PM"), and axe-core finds
//! nothing serious at either width. The README's side-by-side screenshots are taken
//! here (`ROSTER_SCREENSHOTS=docs/screenshots`).

use serde_json::json;

use super::Chromium;
use crate::achievements::support::{new_badge, new_goal};
use crate::helpers::{Backend, DEFAULT_PASSWORD, Session, TestApp};
use crate::oidc::{confidential_client, sign_in_through};
use crate::on_both_engines;

on_both_engines!(every_console_page_fits_a_phone_and_a_wide_screen);

/// The widths (and heights) every page is looked at.
const WINDOWS: [(u32, u32); 2] = [(390, 844), (1280, 800)];

/// The pages of the README's side-by-side screenshots (`NAME-390`, `NAME-1280`).
const SHOWN: [(&str, &str); 4] = [
    ("/account", "account"),
    ("/account/sessions", "sessions"),
    ("/admin/users", "admin-users"),
    ("/admin/users/{user}", "admin-user"),
];

/// A webhook target long enough to need wrapping on a phone.
const LONG_TARGET: &str =
    "https://93.184.216.34/roster/events/an-unbroken-path-segment-0123456789abcdef0123456789abcdef";

/// A user whose every list has something in it, and an administrator with a client, a
/// webhook and a provider: the ids of the pages about them.
struct Data {
    user: Session,
    admin: Session,
    client_id: String,
    webhook_id: String,
}

async fn make_data(app: &TestApp) -> Data {
    let admin = app.admin().await;
    app.register("maria.lopez", DEFAULT_PASSWORD).await;
    let user = app.login("maria.lopez", DEFAULT_PASSWORD).await;
    // A second session (the browser's is the first... of its own), and a consent.
    app.login("maria.lopez", DEFAULT_PASSWORD).await;
    let client = confidential_client(app, &admin, false).await;
    sign_in_through(app, &client, &user, "openid profile email").await;
    new_badge(app, &user, json!({"name": "Week of Rust"})).await;
    new_goal(app, &user, json!({"title": "Learn Rust"})).await;
    let token = app
        .post("/api/v1/users/me/payment-info")
        .bearer(&user.access_token)
        .json(json!({"payment_token": "tok_visa_4242424242424242"}))
        .send()
        .await;
    assert!(token.status.is_success(), "{}", token.text);
    let webhook = app
        .post("/api/v1/admin/webhooks")
        .bearer(&admin.access_token)
        .json(
            json!({"url": LONG_TARGET, "events": ["user.*", "session.revoked"],
                     "description": "Customer relationship manager"}),
        )
        .send()
        .await;
    assert_eq!(webhook.status, 201, "{}", webhook.text);
    let provider = app
        .post("/api/v1/admin/identity-providers")
        .bearer(&admin.access_token)
        .json(
            json!({"slug": "github", "kind": "github", "display_name": "GitHub",
                     "client_id": "a", "client_secret": "b"}),
        )
        .send()
        .await;
    assert_eq!(provider.status, 201, "{}", provider.text);
    Data {
        client_id: client["client_id"].as_str().unwrap().to_owned(),
        webhook_id: webhook.json()["id"].as_str().unwrap().to_owned(),
        user,
        admin,
    }
}

/// Signs `chromium` in as `who`, from the sign-in page that returns to `path`.
async fn sign_in(chromium: &Chromium, base: &str, who: &Session, path: &str) {
    let back = form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>();
    chromium
        .goto(&format!("{base}/login?return_to={back}"))
        .await;
    chromium.submit_sign_in(&who.username, &who.password).await;
    chromium.wait_for_url(&format!("{base}{path}")).await;
}

/// Opens `path` and checks it at every width: no wider than the window, nothing serious
/// for axe-core; the README's screenshots of the pages in [`SHOWN`]. Answers what is
/// wrong, each naming the page and the width.
async fn check_page(
    chromium: &Chromium,
    base: &str,
    path: &str,
    shown_as: Option<&str>,
) -> Vec<String> {
    let mut problems = Vec::new();
    chromium.goto(&format!("{base}{path}")).await;
    chromium.find("content").await;
    for (width, height) in WINDOWS {
        let (needed, window) = chromium.widths_at_size(width, height).await;
        if needed > window {
            problems.push(format!(
                "{path} at {width}×{height} needs {needed} px of a {window} px window; \
                 reaching past it: {}",
                chromium.overflowing().await
            ));
        }
        let broken = chromium.broken_times().await;
        if !broken.is_empty() {
            problems.push(format!(
                "{path} at {width}×{height} breaks times of day over two lines: {broken:?}"
            ));
        }
        let violations = chromium.serious_violations().await;
        if !violations.is_empty() {
            problems.push(format!(
                "{path} at {width}×{height}: accessibility violations: {}",
                serde_json::to_string(&violations).unwrap_or_default()
            ));
        }
        if let Some(name) = shown_as {
            chromium.screenshot(&format!("{name}-{width}")).await;
        }
    }
    problems
}

async fn check_pages(chromium: &Chromium, base: &str, data: &Data, paths: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    for path in paths {
        let path = path
            .replace("{user}", &data.user.user_id)
            .replace("{client}", &data.client_id)
            .replace("{webhook}", &data.webhook_id);
        let shown_as = SHOWN
            .iter()
            .find(|(page, _)| page.replace("{user}", &data.user.user_id) == path)
            .map(|(_, name)| *name);
        problems.extend(check_page(chromium, base, &path, shown_as).await);
    }
    problems
}

async fn every_console_page_fits_a_phone_and_a_wide_screen(backend: Backend) {
    let (app, base) = TestApp::builder(backend)
        .env("PREFERENCES_SCHEMA", "schemas/job_matching.json")
        .start_served_as("localhost")
        .await;
    let data = make_data(&app).await;

    let user = Chromium::start().await;
    sign_in(&user, &base, &data.user, "/account").await;
    let account_pages = [
        "/account",
        "/account/profile",
        "/account/preferences",
        "/account/security",
        "/account/sessions",
        "/account/applications",
        "/account/achievements",
        "/account/payment",
        "/account/people",
        "/account/delete",
        "/account/no-such-page",
    ];
    let mut problems = check_pages(&user, &base, &data, &account_pages).await;
    user.close().await;

    let admin = Chromium::start().await;
    sign_in(&admin, &base, &data.admin, "/admin").await;
    let admin_pages = [
        "/admin",
        "/admin/users",
        "/admin/users/{user}",
        "/admin/users/new",
        "/admin/clients",
        "/admin/clients/{client}",
        "/admin/providers",
        "/admin/audit",
        "/admin/webhooks",
        "/admin/webhooks/{webhook}",
        "/admin/no-such-page",
    ];
    problems.extend(check_pages(&admin, &base, &data, &admin_pages).await);
    admin.close().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
