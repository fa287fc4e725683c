//! When an endpoint fails: retries on the schedule (and `Retry-After`), no redirect
//! followed, `410` disabling it, a schedule spent making a delivery dead until a
//! redrive, a long failure disabling it and mailing the administrators, and targets
//! refused at delivery time by an instance that does not admit them or because their
//! name now resolves to a private address (never connected to).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use roster::clock::Clock;
use roster::webhook_delivery::resolver::{HostResolver, HostTable};
use serde_json::{Value, json};

use super::receiver::Receiver;
use super::support::{
    ConnectionCounter, deliveries, delivery_where, local_app, pass, set_enabled, subscribe, webhook,
};
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(
    a_failed_delivery_is_retried_on_the_schedule,
    retry_after_is_honoured_when_longer_than_the_schedule,
    a_redirect_is_a_failure_and_is_not_followed,
    gone_disables_the_endpoint_at_once,
    a_spent_schedule_makes_a_delivery_dead_until_a_redrive,
    an_endpoint_failing_for_days_is_disabled_and_the_admins_mailed,
    an_instance_that_does_not_admit_a_private_target_refuses_it_after_dns,
    a_name_that_resolves_to_a_private_address_at_delivery_is_never_connected,
);

/// A receiver answering `status` to the first `failures` requests, 200 after.
async fn failing_first(
    failures: usize,
    status: StatusCode,
    retry_after: Option<&'static str>,
) -> Receiver {
    let seen = Arc::new(AtomicUsize::new(0));
    Receiver::replying(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) < failures {
            match retry_after {
                Some(value) => (status, [("retry-after", value)]).into_response(),
                None => status.into_response(),
            }
        } else {
            StatusCode::OK.into_response()
        }
    })
    .await
}

/// When the delivery's next attempt is, as an offset from the app's clock in seconds.
fn due_in(app: &TestApp, delivery: &Value) -> i64 {
    let at: chrono::DateTime<chrono::Utc> = delivery["next_attempt_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    (at - app.clock.now()).num_seconds()
}

async fn a_failed_delivery_is_retried_on_the_schedule(backend: Backend) {
    let app = local_app(backend, &[("WEBHOOK_RETRY_SCHEDULE", "10s,1h")]).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let receiver = failing_first(1, StatusCode::INTERNAL_SERVER_ERROR, None).await;
    let (id, _) = subscribe(&app, token, &receiver.url, &["user.*"], json!({})).await;
    app.user().await;

    receiver.wait_for(1).await;
    let failed = delivery_where(&app, token, &id, "the first failure", |d| {
        d["status"] == "failed"
    })
    .await;
    assert_eq!(failed["attempts"], 1);
    assert_eq!(failed["last_status_code"], 500);
    assert_eq!(
        failed["last_error"],
        "the endpoint answered 500 Internal Server Error"
    );
    assert!((10..=12).contains(&due_in(&app, &failed)), "{failed}");
    assert_eq!(webhook(&app, token, &id).await["state"], "failing");

    pass(&app, chrono::Duration::seconds(10));
    let again = receiver.wait_for(2).await;
    assert_eq!(again[0].id(), again[1].id());
    let delivered = delivery_where(&app, token, &id, "the retry", |d| {
        d["status"] == "delivered"
    })
    .await;
    assert_eq!(delivered["attempts"], 2);
    assert_eq!(delivered["last_error"], Value::Null);
    let endpoint = webhook(&app, token, &id).await;
    assert_eq!(
        endpoint["state"], "active",
        "a success stops the failing clock"
    );
    assert_eq!(endpoint["failing_since"], Value::Null);
}

async fn retry_after_is_honoured_when_longer_than_the_schedule(backend: Backend) {
    let app = local_app(backend, &[("WEBHOOK_RETRY_SCHEDULE", "10s")]).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let receiver = failing_first(1, StatusCode::TOO_MANY_REQUESTS, Some("3600")).await;
    let (id, _) = subscribe(&app, token, &receiver.url, &["user.*"], json!({})).await;
    app.user().await;

    receiver.wait_for(1).await;
    let failed = delivery_where(&app, token, &id, "the 429", |d| d["status"] == "failed").await;
    assert_eq!(failed["last_status_code"], 429);
    assert_eq!(due_in(&app, &failed), 3600, "{failed}");
    app.clock.advance(chrono::Duration::seconds(3601));
    receiver.wait_for(2).await;
    let admin = app.login(&admin.username, &admin.password).await;
    delivery_where(&app, &admin.access_token, &id, "the retry", |d| {
        d["status"] == "delivered"
    })
    .await;
}

async fn a_redirect_is_a_failure_and_is_not_followed(backend: Backend) {
    let app = local_app(backend, &[]).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let target = Receiver::start().await;
    let location = target.url.clone();
    let redirecting = Receiver::replying(move |_| {
        (StatusCode::FOUND, [("location", location.clone())]).into_response()
    })
    .await;
    let (id, _) = subscribe(&app, token, &redirecting.url, &["user.*"], json!({})).await;
    app.user().await;

    redirecting.wait_for(1).await;
    let failed = delivery_where(&app, token, &id, "the 302", |d| d["status"] == "failed").await;
    assert_eq!(failed["last_status_code"], 302);
    assert!(
        failed["last_error"]
            .as_str()
            .unwrap()
            .contains("redirects are not followed")
    );
    assert!(
        target.received().is_empty(),
        "the redirect's target is never asked"
    );
}

async fn gone_disables_the_endpoint_at_once(backend: Backend) {
    let app = local_app(backend, &[]).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let receiver = Receiver::replying(|_| StatusCode::GONE.into_response()).await;
    let (id, _) = subscribe(&app, token, &receiver.url, &["user.*"], json!({})).await;
    app.user().await;

    receiver.wait_for(1).await;
    let disabled = super::support::eventually("the endpoint disabled", || async {
        let endpoint = webhook(&app, token, &id).await;
        (endpoint["enabled"] == false).then_some(endpoint)
    })
    .await;
    assert_eq!(disabled["state"], "disabled");
    assert_eq!(disabled["disabled_reason"], "gone");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'webhook_disabled'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'webhook_disabled'")
            .await,
        1,
        "the one administrator is mailed"
    );
}

async fn a_spent_schedule_makes_a_delivery_dead_until_a_redrive(backend: Backend) {
    let app = local_app(backend, &[("WEBHOOK_RETRY_SCHEDULE", "5s")]).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    // Nothing listens on this port: every attempt is refused.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let down = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let (id, _) = subscribe(&app, token, &down, &["user.*"], json!({})).await;
    app.user().await;

    let failed = delivery_where(&app, token, &id, "the first failure", |d| {
        d["status"] == "failed"
    })
    .await;
    assert_eq!(failed["last_status_code"], Value::Null);
    assert!(
        !failed["last_error"].as_str().unwrap().contains(&down),
        "{failed}"
    );
    pass(&app, chrono::Duration::seconds(5));
    let dead = delivery_where(&app, token, &id, "dead", |d| d["status"] == "dead").await;
    assert_eq!(dead["attempts"], 2);
    assert_eq!(deliveries(&app, token, &id, "status=dead").await.len(), 1);
    assert_eq!(webhook(&app, token, &id).await["deliveries"]["dead"], 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'webhook_delivery_dead'")
            .await,
        1
    );

    let receiver = Receiver::start().await;
    let moved = app
        .patch(&format!("/api/v1/admin/webhooks/{id}"))
        .bearer(token)
        .json(json!({"url": receiver.url}))
        .send()
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let redriven = app
        .post(&format!("/api/v1/admin/webhooks/{id}/redrive"))
        .bearer(token)
        .send()
        .await;
    assert_eq!(redriven.status, 202, "{}", redriven.text);
    assert_eq!(redriven.json()["redriven"], 1);
    receiver.wait_for(1).await;
    let delivered =
        delivery_where(&app, token, &id, "redriven", |d| d["status"] == "delivered").await;
    assert_eq!(delivered["event_id"], dead["event_id"]);
}

async fn an_endpoint_failing_for_days_is_disabled_and_the_admins_mailed(backend: Backend) {
    let app = local_app(backend, &[]).await;
    let admin = app.admin().await;
    let second_admin = app.admin().await;
    let token = admin.access_token.as_str();
    let receiver = Receiver::replying(|_| StatusCode::SERVICE_UNAVAILABLE.into_response()).await;
    let (id, _) = subscribe(&app, token, &receiver.url, &["user.*"], json!({})).await;
    app.user().await;

    receiver.wait_for(1).await;
    let failing = super::support::eventually("the failing clock", || async {
        let endpoint = webhook(&app, token, &id).await;
        (endpoint["state"] == "failing").then_some(endpoint)
    })
    .await;
    assert_eq!(failing["deliveries"]["failed"], 1);
    app.clock.advance(chrono::Duration::hours(121));
    receiver.wait_for(2).await;
    let admin = app.login(&admin.username, &admin.password).await;
    let token = admin.access_token.as_str();
    let disabled = super::support::eventually("the endpoint disabled", || async {
        let endpoint = webhook(&app, token, &id).await;
        (endpoint["enabled"] == false).then_some(endpoint)
    })
    .await;
    assert_eq!(disabled["disabled_reason"], "failing");
    let mailed = app
        .count("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'webhook_disabled'")
        .await;
    assert_eq!(mailed, 2, "both administrators");
    drop(second_admin);

    receiver.reply_with(|_| StatusCode::OK.into_response());
    let enabled = set_enabled(&app, token, &id, true).await;
    assert_eq!(enabled["failing_since"], Value::Null);
    assert_eq!(enabled["disabled_reason"], Value::Null);
    delivery_where(&app, token, &id, "sent once enabled", |d| {
        d["status"] == "delivered"
    })
    .await;
}

async fn an_instance_that_does_not_admit_a_private_target_refuses_it_after_dns(backend: Backend) {
    // This instance admits the host but sends nothing; its sibling sends, admitting none.
    let saving = TestApp::builder(backend)
        .env("WEBHOOK_ALLOW_HOSTS", "localhost")
        .env("WEBHOOK_MAX_IN_FLIGHT", "0")
        .start()
        .await;
    let sending = saving
        .restarted_with(&[("WEBHOOK_ALLOW_HOSTS", ""), ("WEBHOOK_MAX_IN_FLIGHT", "32")])
        .await;
    let admin = saving.admin().await;
    let token = admin.access_token.as_str();
    let receiver = Receiver::start().await;
    let url = receiver.url.replace("127.0.0.1", "localhost");
    let (id, _) = subscribe(&saving, token, &url, &["user.*"], json!({})).await;
    saving.user().await;

    let refused = delivery_where(&sending, token, &id, "the refusal", |d| {
        d["status"] == "failed"
    })
    .await;
    let why = refused["last_error"].as_str().unwrap();
    assert!(why.starts_with("refused:"), "{why}");
    assert!(
        why.contains("https") || why.contains("not a public address"),
        "{why}"
    );
    assert!(
        receiver.received().is_empty(),
        "the private target is never reached"
    );
}

async fn a_name_that_resolves_to_a_private_address_at_delivery_is_never_connected(
    backend: Backend,
) {
    const HOST: &str = "hooks.example.test";
    let hosts = HostTable::default();
    hosts.set(HOST, &["93.184.216.34".parse().unwrap()]);
    let app = TestApp::builder(backend)
        .resolving(HostResolver::Table(hosts.clone()))
        .start()
        .await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let private = ConnectionCounter::start().await;
    // Public when saved...
    let url = format!("https://{HOST}:{}/hook", private.port);
    let (id, _) = subscribe(&app, token, &url, &["user.*"], json!({})).await;
    // ...and loopback, where something listens, when delivered (a rebinding DNS answer).
    hosts.set(HOST, &["127.0.0.1".parse().unwrap()]);
    app.user().await;

    let refused =
        delivery_where(&app, token, &id, "the refusal", |d| d["status"] == "failed").await;
    assert_eq!(
        refused["last_error"],
        "refused: hooks.example.test resolves to 127.0.0.1, which is not a public address (WEBHOOK_ALLOW_HOSTS may admit it); nothing was sent"
    );
    assert_eq!(refused["last_status_code"], Value::Null);
    assert_eq!(
        private.connections(),
        0,
        "the private address was connected to"
    );
}
