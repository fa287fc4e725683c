//! A `roster serve` process killed (SIGKILL) between an event's commit and its delivery:
//! the request is out and unanswered when the process dies. Started again on the same
//! database, Roster sends the event again (same `webhook-id`) once the dead process's
//! lease has lapsed, and the delivery ends delivered, once.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::receiver::Receiver;
use super::support::{ALLOW_LOCAL, deliveries, local_app, subscribe};
use crate::helpers::{Backend, DEFAULT_PASSWORD, wait_beside_the_app};
use crate::on_both_engines;
use crate::system::process::RosterProcess;

on_both_engines!(a_delivery_in_flight_when_the_process_is_killed_is_made_after_a_restart);

/// Both processes name themselves alike in the events' `source`.
const SETTINGS: [(&str, &str); 2] = [ALLOW_LOCAL, ("PUBLIC_URL", "http://roster.test")];

/// Longer than a lease (15 s, renewed while the sender lives) plus a restart.
const RECOVERY_DEADLINE: Duration = Duration::from_secs(45);

async fn a_delivery_in_flight_when_the_process_is_killed_is_made_after_a_restart(backend: Backend) {
    // The in-process instance only administers and reads: it sends nothing.
    let app = local_app(backend, &[("WEBHOOK_MAX_IN_FLIGHT", "0")]).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let receiver = Receiver::start().await;
    // It accepts the request and does not answer (for an hour).
    receiver.hold_for(Duration::from_secs(3600));
    let (id, _) = subscribe(&app, token, &receiver.url, &["user.created"], json!({})).await;

    let mut first = RosterProcess::start(&app, "info", &SETTINGS);
    let registered = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/register", first.base))
        .json(&json!({"username": "kai", "email": "kai@example.com", "password": DEFAULT_PASSWORD}))
        .send()
        .await
        .expect("register");
    assert_eq!(registered.status(), 201);
    let held = receiver.wait_for(1).await.remove(0);
    assert_eq!(held.json()["type"], "user.created");
    first.child.kill().expect("SIGKILL");
    wait_beside_the_app(|| first.child.wait()).expect("the killed process is reaped");
    let in_flight = deliveries(&app, token, &id, "").await;
    assert_eq!(in_flight.len(), 1);
    assert_eq!(in_flight[0]["status"], "pending", "{in_flight:?}");
    assert_eq!(in_flight[0]["attempts"], 1);

    receiver.hold_for(Duration::ZERO);
    let _second = RosterProcess::start(&app, "info", &SETTINGS);
    let deadline = Instant::now() + RECOVERY_DEADLINE;
    let delivered: Vec<Value> = loop {
        let listed = deliveries(&app, token, &id, "").await;
        if listed.iter().all(|d| d["status"] == "delivered") {
            break listed;
        }
        assert!(
            Instant::now() < deadline,
            "not delivered after the restart: {listed:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0]["attempts"], 2);
    let received = receiver.received();
    assert_eq!(
        received.len(),
        2,
        "the held request and the one after the restart"
    );
    assert_eq!(received[1].id(), held.id());
    assert_eq!(received[1].body, held.body);
}
