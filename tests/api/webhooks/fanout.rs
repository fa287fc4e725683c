//! Which events reach which endpoint, and in what order: an endpoint receives the
//! events from its creation on, of the types it takes (`webhook.test` only its own); a
//! disabled one gets them when enabled again; on an ordered endpoint one subject's
//! failing event holds back that subject alone; one event reaches every endpoint that
//! takes it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use super::receiver::Receiver;
use super::support::{deliveries, delivery_where, eventually, local_app, set_enabled, subscribe};
use crate::helpers::Backend;
use crate::on_both_engines;

on_both_engines!(
    one_subjects_failing_event_holds_back_only_that_subject,
    an_endpoint_gets_the_types_it_takes_from_its_creation_on,
    a_disabled_endpoint_gets_what_waited_when_enabled_again,
    one_event_reaches_every_endpoint_that_takes_it,
);

async fn one_subjects_failing_event_holds_back_only_that_subject(backend: Backend) {
    let app = local_app(backend, &[]).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    // The first subject the receiver hears of fails until healed; the other is fine.
    let failing: Arc<Mutex<Option<String>>> = Arc::default();
    let healed = Arc::new(AtomicBool::new(false));
    let (chosen, cured) = (failing.clone(), healed.clone());
    let receiver = Receiver::replying(move |request| {
        let subject = request.subject();
        let first = chosen
            .lock()
            .unwrap()
            .get_or_insert(subject.clone())
            .clone();
        if first == subject && !cured.load(Ordering::SeqCst) {
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        } else {
            StatusCode::OK.into_response()
        }
    })
    .await;
    let (id, _) = subscribe(
        &app,
        token,
        &receiver.url,
        &["user.*", "session.*"],
        json!({}),
    )
    .await;

    // Each: user.created, then session.created.
    let users = [app.user().await.user_id, app.user().await.user_id];
    let types_of = |subject: &str| -> Vec<String> {
        receiver
            .received()
            .iter()
            .filter(|r| r.subject() == subject)
            .map(|r| r.json()["type"].as_str().unwrap().to_owned())
            .collect()
    };
    let healthy = eventually("the healthy subject's events delivered", || async {
        let failing = failing.lock().unwrap().clone()?;
        let healthy = users.iter().find(|u| **u != failing)?.clone();
        (types_of(&healthy).len() == 2).then_some(healthy)
    })
    .await;
    let failing = failing.lock().unwrap().clone().unwrap();
    assert_eq!(
        types_of(&healthy),
        ["user.created", "session.created"],
        "in subjectsequence order"
    );
    assert!(
        types_of(&failing).iter().all(|t| t == "user.created"),
        "{:?}",
        types_of(&failing)
    );
    // The receiver hears a request before its sender records the answer, and the
    // failing subject's session may be numbered and fanned out a moment later: wait
    // until every answer is recorded and all four deliveries exist.
    eventually("every answer recorded", || async {
        let listed = deliveries(&app, token, &id, "limit=100").await;
        let count = |status: &str| listed.iter().filter(|d| d["status"] == status).count();
        (listed.len() == 4 && count("delivered") == 2 && count("failed") == 1).then_some(())
    })
    .await;
    let waiting = deliveries(&app, token, &id, "status=pending").await;
    assert_eq!(
        waiting.len(),
        1,
        "the failing subject's session waits, never attempted: {waiting:?}"
    );
    assert_eq!(waiting[0]["attempts"], 0);
    assert_eq!(waiting[0]["type"], "session.created");

    healed.store(true, Ordering::SeqCst);
    super::support::pass(&app, chrono::Duration::seconds(5));
    eventually("the held events delivered in order", || async {
        let types = types_of(&failing);
        (types.last().map(String::as_str) == Some("session.created")).then_some(types)
    })
    .await;
}

async fn an_endpoint_gets_the_types_it_takes_from_its_creation_on(backend: Backend) {
    let app = local_app(backend, &[]).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let before = app.user().await;
    let all = Receiver::start().await;
    let logins = Receiver::start().await;
    let (all_id, _) = subscribe(
        &app,
        token,
        &all.url,
        &["user.*", "session.*"],
        json!({"ordered": false}),
    )
    .await;
    let (logins_id, _) = subscribe(&app, token, &logins.url, &["login.*"], json!({})).await;

    let after = app.user().await;
    let tested = app
        .post(&format!("/api/v1/admin/webhooks/{logins_id}/test"))
        .bearer(token)
        .send()
        .await;
    assert_eq!(tested.status, 202, "{}", tested.text);
    let received = all.wait_for(2).await;
    let types: Vec<String> = received
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = types.clone();
    sorted.sort();
    assert_eq!(sorted, ["session.created", "user.created"], "{types:?}");
    assert!(
        received.iter().all(|r| r.subject() == after.user_id),
        "nothing from before its creation"
    );
    let login_types: Vec<String> = logins
        .wait_for(2)
        .await
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        login_types.contains(&"login.succeeded".to_owned()),
        "{login_types:?}"
    );
    assert!(
        login_types.contains(&"webhook.test".to_owned()),
        "{login_types:?}"
    );
    delivery_where(&app, token, &logins_id, "the test delivered", |d| {
        d["type"] == "webhook.test" && d["status"] == "delivered"
    })
    .await;
    let all_types: Vec<String> = deliveries(&app, token, &all_id, "limit=100")
        .await
        .iter()
        .map(|d| d["type"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !all_types.contains(&"webhook.test".to_owned()),
        "a test goes to its endpoint alone"
    );
    assert!(
        !all_types.contains(&"login.succeeded".to_owned()),
        "login.* only when named"
    );
    drop(before);
}

async fn a_disabled_endpoint_gets_what_waited_when_enabled_again(backend: Backend) {
    let app = local_app(backend, &[]).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(&app, token, &receiver.url, &["user.*"], json!({})).await;
    let disabled = set_enabled(&app, token, &id, false).await;
    assert_eq!(disabled["disabled_reason"], "admin");

    let user = app.user().await;
    let waiting = delivery_where(&app, token, &id, "the delivery made", |d| {
        d["status"] == "pending"
    })
    .await;
    assert_eq!(waiting["attempts"], 0);
    assert!(
        receiver.received().is_empty(),
        "nothing is sent while disabled"
    );

    let enabled = set_enabled(&app, token, &id, true).await;
    assert_eq!(enabled["state"], "active");
    let request = receiver.wait_for(1).await.remove(0);
    assert_eq!(request.subject(), user.user_id);
}

/// Three endpoints take `user.created`: the sender claims the three deliveries of one
/// registration together and reads their event once, and each endpoint receives it,
/// with the same body.
async fn one_event_reaches_every_endpoint_that_takes_it(backend: Backend) {
    let app = local_app(backend, &[]).await;
    let admin = app.admin().await;
    let receivers = [
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    ];
    for receiver in &receivers {
        subscribe(
            &app,
            &admin.access_token,
            &receiver.url,
            &["user.created"],
            json!({}),
        )
        .await;
    }

    let user = app.register("three-ways", "Correct-Horse-9").await;
    let mut bodies = Vec::new();
    for receiver in &receivers {
        let received = receiver.wait_for(1).await.remove(0);
        assert_eq!(received.json()["type"], "user.created");
        assert_eq!(received.subject(), user["id"].as_str().unwrap());
        bodies.push(received.body);
    }
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "the same event each time"
    );
}
