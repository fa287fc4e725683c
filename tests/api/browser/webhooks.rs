//! The administrator's webhook pages in a real browser: a webhook made with the form,
//! its secret page, a test event sent with the button and listed among the deliveries;
//! every page checked with axe-core, and each fits a phone's 390 px window (the tables
//! stack, long URLs and ids wrap) without scrolling sideways.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::json;

use super::Chromium;
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;
use crate::webhooks::receiver::Receiver;

on_both_engines!(an_administrator_makes_and_tests_a_webhook_in_a_browser);

/// A public target long enough to need wrapping on a phone.
const LONG_TARGET: &str =
    "https://93.184.216.34/roster/events/an-unbroken-path-segment-0123456789abcdef0123456789abcdef";

/// Checks the current page with axe-core and at 390 px, then widens the window again.
async fn assert_fits_a_phone(chromium: &Chromium, what: &str, screenshot: &str) {
    chromium.assert_accessible(what).await;
    let (needed, window) = chromium.widths_at(390).await;
    chromium.screenshot(&format!("{screenshot}-390")).await;
    assert!(
        needed <= window,
        "{what} needs {needed} px of a {window} px window"
    );
    chromium.widths_at(1000).await;
}

async fn an_administrator_makes_and_tests_a_webhook_in_a_browser(backend: Backend) {
    let (app, base) = TestApp::builder(backend)
        .env("WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
        .start_served_as("localhost")
        .await;
    let admin = app.admin().await;
    let made = app
        .post("/api/v1/admin/webhooks")
        .bearer(&admin.access_token)
        .json(
            json!({"url": LONG_TARGET, "events": ["user.*", "session.revoked"],
                     "description": "Customer relationship manager"}),
        )
        .send()
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let receiver = Receiver::start().await;

    let chromium = Chromium::start().await;
    chromium
        .goto(&format!("{base}/login?return_to=%2Fadmin%2Fwebhooks"))
        .await;
    chromium.fill("login", &admin.username).await;
    chromium.fill("password", &admin.password).await;
    chromium.press("Sign in").await;
    chromium
        .wait_for_url(&format!("{base}/admin/webhooks"))
        .await;
    chromium
        .wait_for_text("Customer relationship manager")
        .await;
    assert_fits_a_phone(&chromium, "the webhooks page", "admin-webhooks").await;

    // A webhook made with the form: the secret page.
    chromium.fill("url", &receiver.url).await;
    chromium
        .fill("events", "client.created,\nclient.deleted")
        .await;
    chromium.fill("description", "Billing").await;
    chromium.press("Make the webhook").await;
    chromium.wait_for_text("Copy the secret now").await;
    let secret = chromium
        .find("webhook-secret")
        .await
        .text()
        .await
        .expect("the secret's text");
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_fits_a_phone(&chromium, "a new webhook's secret", "admin-webhook-secret").await;

    // Its page: a test event, listed once it is delivered.
    chromium.follow_link("The webhook's page").await;
    chromium.wait_for_text("Send a test event").await;
    chromium.press("Send a test event").await;
    chromium
        .wait_for_url(&format!("{base}/admin/webhooks/"))
        .await;
    receiver.wait_for(1).await;
    let started = Instant::now();
    loop {
        let cells = chromium
            .client
            .find_all(Locator::Css("td[data-label='Status']"))
            .await
            .expect("the status cells");
        let mut statuses = Vec::new();
        for cell in cells {
            statuses.push(cell.text().await.expect("a cell's text"));
        }
        if statuses == ["delivered"] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the delivery never showed as delivered: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        chromium.client.refresh().await.expect("the page reloads");
    }
    assert_fits_a_phone(&chromium, "a webhook's page", "admin-webhook").await;
    chromium.close().await;
}
