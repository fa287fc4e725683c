//! Delivery as a receiver sees it: the event log's own JSON, signed per Standard
//! Webhooks (verified by the `standardwebhooks` crate), signed by two secrets while a
//! rotation lasts, listed among the endpoint's deliveries and sent again on request.

use roster::clock::Clock;
use serde_json::{Value, json};
use standardwebhooks::Webhook;

use super::receiver::{Received, Receiver};
use super::support::{deliveries, delivery_where, local_app, send_test, subscribe};
use crate::events::events;
use crate::helpers::Backend;
use crate::oidc::openapi::assert_documented;
use crate::on_both_engines;

on_both_engines!(
    an_event_arrives_signed_with_the_json_the_event_log_shows,
    a_rotated_secret_signs_beside_the_new_one_for_a_day,
    the_deliveries_list_shows_what_was_sent_and_retry_sends_it_again,
    a_requests_event_goes_out_when_it_commits_not_at_the_next_poll,
);

/// Verifies `request` with `secret` as a receiver would (the standard's own library).
fn verify(secret: &str, request: &Received) -> Result<(), standardwebhooks::WebhookError> {
    Webhook::new(secret)
        .expect("a whsec_ secret")
        .verify(&request.body, &request.headers)
}

/// With the sequencer's poll an hour apart, a registration's `user.created` still
/// arrives: the request that made it woke the sequencer once it had committed. (Without
/// the wake-up it waits for the poll, and the receiver's deadline passes first.)
async fn a_requests_event_goes_out_when_it_commits_not_at_the_next_poll(backend: Backend) {
    let app = local_app(backend, &[("EVENT_POLL_MILLIS", "3600000")]).await;
    let admin = app.admin().await;
    let receiver = Receiver::start().await;
    subscribe(
        &app,
        &admin.access_token,
        &receiver.url,
        &["user.created"],
        json!({}),
    )
    .await;

    let user = app.user().await;
    let request = receiver.wait_for(1).await.remove(0);
    assert_eq!(request.json()["type"], "user.created");
    assert_eq!(request.subject(), user.user_id);
}

async fn an_event_arrives_signed_with_the_json_the_event_log_shows(backend: Backend) {
    let app = local_app(backend, &[]).await;
    let doc: Value = app.get("/openapi.json").send().await.json();
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let receiver = Receiver::start().await;
    let (id, secret) = subscribe(&app, token, &receiver.url, &["user.*"], json!({})).await;

    let user = app.user().await;
    let request = receiver.wait_for(1).await.remove(0);
    verify(&secret, &request).expect("the signature verifies");
    assert_eq!(request.header("content-type"), "application/json");
    let body = request.json();
    assert_eq!(body["type"], "user.created");
    assert_eq!(body["subject"], user.user_id.as_str());
    assert_eq!(request.id(), body["id"].as_str().unwrap());
    let logged = events(&app, token, "type=user.created").await;
    let same = logged
        .iter()
        .find(|e| e["id"] == body["id"])
        .expect("in the log");
    assert_eq!(
        &body, same,
        "the body is the event as the pull API shows it"
    );
    let timestamp: i64 = request.header("webhook-timestamp").parse().unwrap();
    assert_eq!(timestamp, app.clock.now().timestamp());
    let other = Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    assert!(other.verify(&request.body, &request.headers).is_err());

    let delivered = delivery_where(&app, token, &id, "delivered", |d| {
        d["status"] == "delivered"
    })
    .await;
    assert_eq!(delivered["attempts"], 1);
    assert_eq!(delivered["last_status_code"], 204);
    let listed = app
        .get(&format!("/api/v1/admin/webhooks/{id}/deliveries"))
        .bearer(token)
        .send()
        .await;
    assert_documented(
        &doc,
        "get",
        "/api/v1/admin/webhooks/{webhook_id}/deliveries",
        &listed,
    );
    let read = app
        .get(&format!("/api/v1/admin/webhooks/{id}"))
        .bearer(token)
        .send()
        .await;
    assert_documented(&doc, "get", "/api/v1/admin/webhooks/{webhook_id}", &read);
    assert_eq!(read.json()["state"], "active");
    let metrics = app.get("/metrics").send().await.text;
    assert!(
        metrics.contains("roster_webhook_deliveries_total{outcome=\"delivered\"}"),
        "{metrics}"
    );
}

async fn a_rotated_secret_signs_beside_the_new_one_for_a_day(backend: Backend) {
    let app = local_app(backend, &[]).await;
    let doc: Value = app.get("/openapi.json").send().await.json();
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let receiver = Receiver::start().await;
    let (id, old) = subscribe(&app, token, &receiver.url, &["user.*"], json!({})).await;

    let rotated = app
        .post(&format!("/api/v1/admin/webhooks/{id}/rotate-secret"))
        .bearer(token)
        .send()
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_documented(
        &doc,
        "post",
        "/api/v1/admin/webhooks/{webhook_id}/rotate-secret",
        &rotated,
    );
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let new = rotated.json()["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);

    send_test(&app, token, &id).await;
    let request = receiver.wait_for(1).await.remove(0);
    let signatures: Vec<&str> = request.header("webhook-signature").split(' ').collect();
    assert_eq!(signatures.len(), 2, "{signatures:?}");
    verify(&new, &request).expect("the new secret verifies");
    verify(&old, &request).expect("the previous secret verifies");
    let timestamp: i64 = request.header("webhook-timestamp").parse().unwrap();
    let by_new = Webhook::new(&new)
        .unwrap()
        .sign(request.id(), timestamp, &request.body)
        .unwrap();
    assert_eq!(
        signatures[0], by_new,
        "the new secret's signature comes first"
    );

    app.clock.advance(chrono::Duration::hours(25));
    let admin = app.login(&admin.username, &admin.password).await;
    let token = admin.access_token.as_str();
    send_test(&app, token, &id).await;
    let later = receiver.wait_for(2).await.remove(1);
    let timestamp: i64 = later.header("webhook-timestamp").parse().unwrap();
    let by_new = Webhook::new(&new)
        .unwrap()
        .sign(later.id(), timestamp, &later.body)
        .unwrap();
    assert_eq!(
        later.header("webhook-signature"),
        by_new,
        "a day later the new one alone"
    );
    app.post(&format!(
        "/api/v1/admin/webhooks/{}/rotate-secret",
        uuid::Uuid::now_v7()
    ))
    .bearer(token)
    .send()
    .await
    .problem(404);
}

async fn the_deliveries_list_shows_what_was_sent_and_retry_sends_it_again(backend: Backend) {
    let app = local_app(backend, &[]).await;
    let doc: Value = app.get("/openapi.json").send().await.json();
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(&app, token, &receiver.url, &["session.revoked"], json!({})).await;

    let event_id = send_test(&app, token, &id).await;
    receiver.wait_for(1).await;
    let delivered = delivery_where(&app, token, &id, "the test delivered", |d| {
        d["status"] == "delivered"
    })
    .await;
    let keys: Vec<&str> = delivered
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "event_id",
        "type",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
    ];
    expected.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, expected);
    assert_eq!(delivered["event_id"], event_id.as_str());
    assert_eq!(delivered["type"], "webhook.test");
    assert!(delivered["delivered_at"].is_string());
    assert_eq!(delivered["next_attempt_at"], Value::Null);
    assert!(deliveries(&app, token, &id, "status=dead").await.is_empty());
    let bad = app
        .get(&format!(
            "/api/v1/admin/webhooks/{id}/deliveries?status=lost&limit=0"
        ))
        .bearer(token)
        .send()
        .await;
    assert_eq!(bad.failing_fields(), ["limit", "status"]);

    let retried = app
        .post(&format!(
            "/api/v1/admin/webhooks/{id}/deliveries/{event_id}/retry"
        ))
        .bearer(token)
        .send()
        .await;
    assert_eq!(retried.status, 202, "{}", retried.text);
    assert_documented(
        &doc,
        "post",
        "/api/v1/admin/webhooks/{webhook_id}/deliveries/{event_id}/retry",
        &retried,
    );
    assert_eq!(retried.json()["status"], "pending");
    let again = receiver.wait_for(2).await;
    assert_eq!(
        again[1].id(),
        event_id,
        "the same webhook-id on every attempt"
    );
    app.post(&format!(
        "/api/v1/admin/webhooks/{id}/deliveries/{}/retry",
        uuid::Uuid::now_v7()
    ))
    .bearer(token)
    .send()
    .await
    .problem(404);
    let audited = app
        .get("/api/v1/admin/audit?limit=100")
        .bearer(token)
        .send()
        .await
        .json();
    let names: Vec<&str> = audited["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert!(
        names.contains(&"webhook_delivery_retried") && names.contains(&"webhook_tested"),
        "{names:?}"
    );
}
