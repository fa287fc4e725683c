//! The first administrator without a shell: the one-time setup link that `roster serve`
//! prints while the database has no administrator, and its page.

use chrono::Duration;
use roster::admin::setup::offer_link;

use crate::helpers::{Backend, TestApp, TestResponse};
use crate::oidc::{Browser, hidden};
use crate::on_both_engines;

on_both_engines!(
    the_setup_link_creates_the_first_administrator_once,
    a_setup_link_expires_after_an_hour_and_every_link_dies_with_the_first_use,
);

const PASSWORD: &str = "First-Admin-Pass-61";

/// The path of a fresh setup link (`/setup?token=...`).
async fn setup_path(app: &TestApp) -> String {
    let link = offer_link(&app.state)
        .await
        .unwrap()
        .expect("a link while there is no admin");
    let path = link
        .strip_prefix(&app.config.http.public_url)
        .expect("under PUBLIC_URL");
    path.to_owned()
}

/// Opens `path` in `browser` and posts its form with these fields.
async fn submit(
    browser: &mut Browser<'_>,
    path: &str,
    (username, password, confirm): (&str, &str, &str),
) -> TestResponse {
    let page = browser.get(path).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let csrf = hidden(&page.text, "csrf_token").expect("a CSRF token");
    let token = hidden(&page.text, "token").expect("the link's token");
    let email = format!("{username}@example.com");
    browser
        .post(
            "/setup",
            &[
                ("token", &token),
                ("csrf_token", &csrf),
                ("username", username),
                ("email", &email),
                ("password", password),
                ("confirm_password", confirm),
            ],
        )
        .await
}

async fn the_setup_link_creates_the_first_administrator_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let path = setup_path(&app).await;
    let mut browser = Browser::new(&app);
    let differ = submit(&mut browser, &path, ("root", PASSWORD, "Something-Else-62")).await;
    assert_eq!(differ.status, 422, "{}", differ.text);
    assert!(differ.text.contains("confirm_password"));
    let weak = submit(&mut browser, &path, ("root", "password", "password")).await;
    assert_eq!(weak.status, 422, "{}", weak.text);
    assert!(
        weak.text
            .contains("The password must contain an upper-case letter."),
        "{}",
        weak.text
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);

    let made = submit(&mut browser, &path, ("root", PASSWORD, PASSWORD)).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let admin = app.login("root", PASSWORD).await;
    let me = app
        .get("/api/v1/users/me")
        .bearer(&admin.access_token)
        .send()
        .await
        .json();
    assert_eq!(me["role"], "admin");
    assert_eq!(me["email_verified"], true);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'admin_created'")
            .await,
        1
    );
    // Spent: the page and the post refuse it, and no new link is offered.
    assert_eq!(browser.get(&path).await.status, 400);
    assert!(offer_link(&app.state).await.unwrap().is_none());
    assert_eq!(app.count("SELECT COUNT(*) FROM setup_tokens").await, 0);
}

async fn a_setup_link_expires_after_an_hour_and_every_link_dies_with_the_first_use(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let old = setup_path(&app).await;
    app.clock.advance(Duration::minutes(61));
    let mut browser = Browser::new(&app);
    assert_eq!(browser.get(&old).await.status, 400, "an hour later");
    // Two instances started: two links. The first one used spends both.
    let (first, second) = (setup_path(&app).await, setup_path(&app).await);
    let page = browser.get(&second).await;
    let made = submit(&mut browser, &first, ("root", PASSWORD, PASSWORD)).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let csrf = hidden(&page.text, "csrf_token").unwrap();
    let token = hidden(&page.text, "token").unwrap();
    let late = browser
        .post(
            "/setup",
            &[
                ("token", &token),
                ("csrf_token", &csrf),
                ("username", "second"),
                ("email", "second@example.com"),
                ("password", PASSWORD),
                ("confirm_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(late.status, 400, "{}", late.text);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE role = 'admin'")
            .await,
        1
    );
}
