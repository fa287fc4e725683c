//! The retention (`EVENT_RETENTION_DAYS`) and webhooks: a delivery still waiting keeps
//! its event (and the events after it) however old, so that it is sent in full when its
//! endpoint takes it; delivered ones go with their events.

use serde_json::{Value, json};

use super::receiver::Receiver;
use super::support::{deliveries, delivery_where, local_app, set_enabled, subscribe};
use crate::helpers::{Backend, DEFAULT_PASSWORD, Session, TestApp};
use crate::on_both_engines;

on_both_engines!(a_delivery_still_waiting_keeps_its_event_past_the_retention);

/// The `event_id` of each delivery of endpoint `id`, newest first.
async fn delivered_events(app: &TestApp, token: &str, id: &str) -> Vec<(String, String)> {
    deliveries(app, token, id, "limit=100")
        .await
        .iter()
        .map(|d| {
            (
                d["event_id"].as_str().unwrap().to_owned(),
                d["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The id of the `user.created` event of `user`, if the log still has it.
async fn created_event(app: &TestApp, token: &str, user: &Session) -> Option<String> {
    let read = app
        .get(&format!(
            "/api/v1/events?type=user.created&subject={}",
            user.user_id
        ))
        .bearer(token)
        .send()
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    read.json()["items"]
        .as_array()
        .unwrap()
        .first()
        .map(|event| event["id"].as_str().unwrap().to_owned())
}

async fn purge_eight_days_later(app: &TestApp) {
    app.clock.advance(chrono::Duration::days(8));
    roster::maintenance::purge(&app.state).await.expect("purge");
}

async fn a_delivery_still_waiting_keeps_its_event_past_the_retention(backend: Backend) {
    let app = local_app(backend, &[("EVENT_RETENTION_DAYS", "7")]).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let receiver = Receiver::start().await;
    let (prompt, _) = subscribe(&app, token, &receiver.url, &["user.created"], json!({})).await;
    let early = app.user().await;
    let early_event = created_event(&app, token, &early).await.unwrap();
    delivery_where(&app, token, &prompt, "the early delivery", |d| {
        d["status"] == "delivered"
    })
    .await;

    // A second endpoint, disabled: its delivery of the later account's event waits.
    let (paused, _) = subscribe(&app, token, &receiver.url, &["user.created"], json!({})).await;
    set_enabled(&app, token, &paused, false).await;
    let later = app.user().await;
    let later_event = created_event(&app, token, &later).await.unwrap();
    delivery_where(&app, token, &prompt, "the later delivery", |d| {
        d["event_id"] == later_event.as_str() && d["status"] == "delivered"
    })
    .await;
    let waiting = delivery_where(&app, token, &paused, "the waiting delivery", |d| {
        d["event_id"] == later_event.as_str()
    })
    .await;
    assert_eq!(waiting["status"], "pending");

    purge_eight_days_later(&app).await;
    let admin = app.login(&admin.username, DEFAULT_PASSWORD).await;
    let token = admin.access_token.as_str();
    assert_eq!(created_event(&app, token, &early).await, None);
    assert_eq!(
        created_event(&app, token, &later).await.as_ref(),
        Some(&later_event),
        "the event a delivery waits for is kept"
    );
    assert_eq!(
        delivered_events(&app, token, &prompt).await,
        [(later_event.clone(), "delivered".to_owned())],
        "the early delivery went with its event ({early_event})"
    );
    assert_eq!(
        delivered_events(&app, token, &paused).await,
        [(later_event.clone(), "pending".to_owned())]
    );

    // Enabled again, the endpoint gets the whole event; then the retention takes it.
    set_enabled(&app, token, &paused, true).await;
    delivery_where(&app, token, &paused, "the late delivery", |d| {
        d["status"] == "delivered"
    })
    .await;
    let late = receiver.received().last().unwrap().json();
    assert_eq!(late["id"], later_event.as_str());
    assert_eq!(late["subject"], Value::from(later.user_id.as_str()));
    roster::maintenance::purge(&app.state).await.expect("purge");
    assert_eq!(created_event(&app, token, &later).await, None);
    assert!(delivered_events(&app, token, &paused).await.is_empty());
    assert!(delivered_events(&app, token, &prompt).await.is_empty());
}
