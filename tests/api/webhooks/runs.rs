//! Runs on an ordered endpoint: a subject's waiting deliveries are claimed with its
//! head and sent after it, one after another in its slot; the first that fails ends
//! the run, and the rest are given back untried, to wait behind it.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::receiver::{Received, Receiver};
use super::support::{deliveries, eventually, local_app, pass, send_test, set_enabled, subscribe};
use crate::helpers::{Backend, Session, TestApp};
use crate::on_both_engines;

on_both_engines!(
    a_subjects_waiting_events_go_out_together_in_its_slot,
    a_run_stops_at_its_first_failure_and_gives_back_the_rest_untried,
    an_endpoint_disabled_during_a_run_takes_no_more_of_it,
);

/// Changes `user`'s full name (one `user.updated`).
async fn rename(app: &TestApp, user: &Session, name: &str) {
    let changed = app
        .put("/api/v1/users/me")
        .bearer(&user.access_token)
        .json(json!({"full_name": name}))
        .send()
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
}

/// Waits until endpoint `id` has `n` deliveries; returns them, newest first.
async fn until_made(app: &TestApp, token: &str, id: &str, n: usize) -> Vec<Value> {
    eventually("the deliveries made", || async {
        let listed = deliveries(app, token, id, "limit=100").await;
        (listed.len() == n).then_some(listed)
    })
    .await
}

/// Makes `n` test events wait on endpoint `id`, disabled meanwhile (one subject: the
/// endpoint); returns their ids, oldest first.
async fn waiting_tests(app: &TestApp, token: &str, id: &str, n: usize) -> Vec<String> {
    set_enabled(app, token, id, false).await;
    let mut sent = Vec::new();
    for _ in 0..n {
        sent.push(send_test(app, token, id).await);
    }
    sent
}

/// The status and attempts of `event_id`'s delivery among `listed`.
fn state(listed: &[Value], event_id: &str) -> (String, i64) {
    let delivery = listed
        .iter()
        .find(|d| d["event_id"] == event_id)
        .expect("a delivery per event");
    (
        delivery["status"].as_str().unwrap().to_owned(),
        delivery["attempts"].as_i64().unwrap(),
    )
}

fn ids(received: &[Received]) -> Vec<String> {
    received.iter().map(|r| r.id().to_owned()).collect()
}

/// With one slot and two accounts' changes interleaved (A, B, A, B) while the
/// endpoint was disabled, A's two go out one after the other, then B's: the run of the
/// first head holds the slot. Claiming heads alone would alternate (A, B, A, B).
async fn a_subjects_waiting_events_go_out_together_in_its_slot(backend: Backend) {
    let app = local_app(backend, &[("WEBHOOK_MAX_IN_FLIGHT", "1")]).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(&app, token, &receiver.url, &["user.updated"], json!({})).await;
    let (a, b) = (app.user().await, app.user().await);
    set_enabled(&app, token, &id, false).await;
    for (n, user) in [&a, &b, &a, &b].into_iter().enumerate() {
        rename(&app, user, &format!("Name {n}")).await;
    }
    until_made(&app, token, &id, 4).await;

    set_enabled(&app, token, &id, true).await;
    let received = receiver.wait_for(4).await;
    let subjects: Vec<String> = received.iter().map(Received::subject).collect();
    assert_eq!(subjects, [&*a.user_id, &a.user_id, &b.user_id, &b.user_id]);
    let order: Vec<i64> = received
        .iter()
        .map(|r| r.json()["subjectsequence"].as_i64().unwrap())
        .collect();
    assert!(
        order[0] < order[1] && order[2] < order[3],
        "each account's in order: {order:?}"
    );
}

/// Five test events wait on a disabled endpoint (one subject: the endpoint); enabled,
/// they go out as one run, and the receiver refuses the third: the first two are
/// delivered, the third failed, and the last two were given back untried (no attempt
/// counted, never sent). When the third succeeds on its retry, the last two follow.
async fn a_run_stops_at_its_first_failure_and_gives_back_the_rest_untried(backend: Backend) {
    let app = local_app(backend, &[]).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(&app, token, &receiver.url, &["user.created"], json!({})).await;
    let sent = waiting_tests(&app, token, &id, 5).await;
    let refused = sent[2].clone();
    receiver.reply_with(move |request| {
        if request.id() == refused {
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        } else {
            StatusCode::NO_CONTENT.into_response()
        }
    });

    set_enabled(&app, token, &id, true).await;
    let listed = eventually("the run ended and gave back the rest", || async {
        let listed = deliveries(&app, token, &id, "limit=100").await;
        let given_back = (3..5).all(|n| state(&listed, &sent[n]) == ("pending".into(), 0));
        (state(&listed, &sent[2]).0 == "failed" && given_back).then_some(listed)
    })
    .await;
    assert_eq!(state(&listed, &sent[0]), ("delivered".into(), 1));
    assert_eq!(state(&listed, &sent[1]), ("delivered".into(), 1));
    assert_eq!(state(&listed, &sent[2]), ("failed".into(), 1));
    assert_eq!(ids(&receiver.received()), sent[..3]);

    receiver.reply_with(|_| StatusCode::NO_CONTENT.into_response());
    pass(&app, chrono::Duration::seconds(5));
    let received = receiver.wait_for(6).await;
    assert_eq!(
        ids(&received),
        [&*sent[0], &sent[1], &sent[2], &sent[2], &sent[3], &sent[4]]
    );
    eventually("every answer recorded", || async {
        let listed = deliveries(&app, token, &id, "limit=100").await;
        (0..5)
            .all(|n| state(&listed, &sent[n]).0 == "delivered")
            .then_some(())
    })
    .await;
}

/// An administrator disables the endpoint while the first of a run is in flight: it is
/// recorded as delivered, and the rest of the run are given back untried, to go out
/// when the endpoint is enabled again.
async fn an_endpoint_disabled_during_a_run_takes_no_more_of_it(backend: Backend) {
    let app = local_app(backend, &[]).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(&app, token, &receiver.url, &["user.created"], json!({})).await;
    let sent = waiting_tests(&app, token, &id, 3).await;
    receiver.hold_for(std::time::Duration::from_secs(2));

    set_enabled(&app, token, &id, true).await;
    receiver.wait_for(1).await;
    receiver.hold_for(std::time::Duration::ZERO);
    set_enabled(&app, token, &id, false).await;
    eventually("the first delivered and the rest given back", || async {
        let listed = deliveries(&app, token, &id, "limit=100").await;
        let given_back = (1..3).all(|n| state(&listed, &sent[n]) == ("pending".into(), 0));
        (state(&listed, &sent[0]) == ("delivered".into(), 1) && given_back).then_some(())
    })
    .await;
    assert_eq!(ids(&receiver.received()), sent[..1]);

    set_enabled(&app, token, &id, true).await;
    assert_eq!(ids(&receiver.wait_for(3).await), sent);
}
