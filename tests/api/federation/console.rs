//! The administrators' page of identity providers (`/admin/providers`): adding one
//! (checked as the admin API checks it, the secret never shown), hiding and showing its
//! button, removing it.

use super::fake::{CLIENT_ID, CLIENT_SECRET, FakeProvider};
use super::{PUBLIC_URL, scalar};
use crate::console::{signed_in, submit};
use crate::helpers::{Backend, TestApp, TestResponse};
use crate::oidc::Browser;
use crate::on_both_engines;

on_both_engines!(providers_are_added_hidden_and_removed_on_the_admin_page);

const PAGE: &str = "/admin/providers";

/// Posts `action`'s form of the providers page with `fields`: the answer.
async fn on_page(browser: &mut Browser<'_>, action: &str, fields: &[(&str, &str)]) -> TestResponse {
    let page = browser.get(PAGE).await;
    submit(browser, &page, action, fields).await
}

/// `text` as the pages write it in an element (the templates escape `/`).
fn html(text: &str) -> String {
    text.replace('/', "&#x2f;")
}

/// Whether the sign-in page shows the button of provider `slug`.
async fn button_shown(app: &TestApp, slug: &str) -> bool {
    let mut browser = Browser::new(app);
    let login = browser.get("/login").await;
    login.text.contains(&format!("href=\"/login/{slug}"))
}

async fn providers_are_added_hidden_and_removed_on_the_admin_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let fake = FakeProvider::start().await;
    let mut browser = signed_in(&app, &admin).await;
    let empty = browser.get(PAGE).await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert!(
        empty.text.contains("no other provider is set up"),
        "{}",
        empty.text
    );
    // Placed in a translated sentence, which escapes it without the `/`.
    assert!(
        empty
            .text
            .contains(&format!("<code>{PUBLIC_URL}/login/SLUG/callback</code>"))
    );

    // Mistakes are named at their fields; nothing is added, and the secret is not kept.
    let refused = on_page(
        &mut browser,
        PAGE,
        &[
            ("slug", "Not A Slug"),
            ("kind", "oidc"),
            ("display_name", "Acme"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("trust_email", "verified"),
        ],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused.text.contains("id=\"slug-error\""),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("id=\"issuer-error\""),
        "{}",
        refused.text
    );
    assert!(!refused.text.contains(CLIENT_SECRET));
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM identity_providers").await,
        0
    );

    let added = on_page(
        &mut browser,
        PAGE,
        &[
            ("slug", "acme"),
            ("kind", "oidc"),
            ("display_name", "Acme ID"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("issuer", &fake.issuer),
            ("trust_email", "verified"),
            ("allow_signup", "on"),
        ],
    )
    .await;
    assert_eq!(
        added.header("location"),
        Some("/admin/providers?done=provider-added"),
        "{}",
        added.text
    );
    let listed = browser.follow(&added).await;
    assert!(listed.text.contains("Acme ID"), "{}", listed.text);
    assert!(
        listed
            .text
            .contains(&html(&format!("{PUBLIC_URL}/login/acme/callback")))
    );
    assert!(!listed.text.contains(CLIENT_SECRET));
    assert!(button_shown(&app, "acme").await);
    let audited = scalar(
        &app,
        "SELECT COUNT(*) FROM audit_events WHERE event = 'identity_provider_added'",
    )
    .await;
    assert_eq!(audited, 1);

    // Hidden: no button, and sign-ins through it are refused.
    let id = listed
        .text
        .split("action=\"/admin/providers/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("a provider's form")
        .to_owned();
    let hidden = on_page(
        &mut browser,
        &format!("/admin/providers/{id}/enabled"),
        &[("enabled", "false")],
    )
    .await;
    assert_eq!(
        hidden.header("location"),
        Some("/admin/providers?done=provider-disabled")
    );
    assert!(!button_shown(&app, "acme").await);
    assert_eq!(Browser::new(&app).get("/login/acme").await.status, 404);
    let shown = on_page(
        &mut browser,
        &format!("/admin/providers/{id}/enabled"),
        &[("enabled", "true")],
    )
    .await;
    assert_eq!(
        shown.header("location"),
        Some("/admin/providers?done=provider-enabled")
    );
    assert!(button_shown(&app, "acme").await);

    // Removing needs "I am sure".
    let unsure = on_page(&mut browser, &format!("/admin/providers/{id}/delete"), &[]).await;
    assert_eq!(unsure.status, 422, "{}", unsure.text);
    assert!(unsure.text.contains(&format!("id=\"confirm-{id}-error\"")));
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM identity_providers").await,
        1
    );
    let removed = on_page(
        &mut browser,
        &format!("/admin/providers/{id}/delete"),
        &[("confirm", "on")],
    )
    .await;
    assert_eq!(
        removed.header("location"),
        Some("/admin/providers?done=provider-removed")
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM identity_providers").await,
        0
    );
    assert!(!button_shown(&app, "acme").await);
}
