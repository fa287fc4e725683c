//! Several instances on one database share the deliveries: each is sent once, never by
//! two at once, one subject's in order on an ordered endpoint, and one whose sender
//! stopped mid-request is taken again after its lease.

use std::time::Duration;

use serde_json::json;

use super::receiver::Receiver;
use super::support::{delivery_where, local_app, send_test, subscribe};
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(a_delivery_whose_sender_stopped_is_taken_again_after_its_lease);

const BURST: usize = 200;
/// One subject's events go out one at a time: fewer, so that the test stays short.
const ORDERED_BURST: usize = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_on_postgresql_deliver_a_burst_once_each() {
    let first = local_app(Backend::Postgres, &[]).await;
    let others = [first.sibling().await, first.sibling().await];
    let admin = first.admin().await;
    let token = admin.access_token.as_str();
    let receiver = Receiver::start().await;
    receiver.hold_for(Duration::from_millis(20));
    let (id, _) = subscribe(
        &first,
        token,
        &receiver.url,
        &["user.created"],
        json!({"ordered": false}),
    )
    .await;

    let instances: Vec<&TestApp> = std::iter::once(&first).chain(others.iter()).collect();
    for n in 0..BURST {
        send_test(instances[n % 3], token, &id).await;
    }
    receiver.wait_for(BURST).await;
    super::support::eventually("every delivery recorded", || async {
        let delivered = first
            .count("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'delivered'")
            .await;
        (delivered == BURST as i64).then_some(())
    })
    .await;
    let counts = receiver.counts();
    assert_eq!(counts.len(), BURST);
    assert!(
        counts.values().all(|n| *n == 1),
        "each event once: {counts:?}"
    );
    assert_eq!(
        receiver.overlaps(),
        0,
        "no delivery in flight twice at once"
    );
}

/// An ordered endpoint's test events share one subject: sent through three instances
/// at once, they arrive in the order they were made, each once, one at a time (the
/// instances take turns in runs, and none starts a subject's next while another sends).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_on_postgresql_deliver_one_subjects_burst_in_order() {
    let first = local_app(Backend::Postgres, &[]).await;
    let others = [first.sibling().await, first.sibling().await];
    let admin = first.admin().await;
    let token = admin.access_token.as_str();
    let receiver = Receiver::start().await;
    receiver.hold_for(Duration::from_millis(2));
    let (id, _) = subscribe(&first, token, &receiver.url, &["user.created"], json!({})).await;

    let instances: Vec<&TestApp> = std::iter::once(&first).chain(others.iter()).collect();
    let mut sent = Vec::new();
    for n in 0..ORDERED_BURST {
        sent.push(send_test(instances[n % 3], token, &id).await);
    }
    let received = receiver.wait_for(ORDERED_BURST).await;
    let ids: Vec<&str> = received.iter().map(|r| r.id()).collect();
    assert_eq!(ids, sent, "each once, in the order made");
    assert_eq!(receiver.overlaps(), 0);
}

async fn a_delivery_whose_sender_stopped_is_taken_again_after_its_lease(backend: Backend) {
    let sender = local_app(backend, &[]).await;
    let idle = sender
        .restarted_with(&[("WEBHOOK_MAX_IN_FLIGHT", "0")])
        .await;
    let admin = idle.admin().await;
    let token = admin.access_token.as_str();
    let receiver = Receiver::start().await;
    receiver.hold_for(Duration::from_secs(3600));
    let (id, _) = subscribe(&idle, token, &receiver.url, &["user.*"], json!({})).await;

    idle.user().await;
    let held = receiver.wait_for(1).await.remove(0);
    drop(sender); // The instance stops with the request in flight.
    receiver.hold_for(Duration::ZERO);
    let leased = delivery_where(&idle, token, &id, "the leased delivery", |d| {
        d["attempts"] == 1
    })
    .await;
    assert_eq!(leased["status"], "pending");

    let successor = idle
        .restarted_with(&[("WEBHOOK_MAX_IN_FLIGHT", "32")])
        .await;
    // Past the lease (15 s; its holder no longer renews it).
    successor.clock.advance(chrono::Duration::seconds(16));
    let again = receiver.wait_for(2).await.remove(1);
    assert_eq!(again.id(), held.id());
    let delivered = delivery_where(&idle, token, &id, "delivered", |d| {
        d["status"] == "delivered"
    })
    .await;
    assert_eq!(delivered["attempts"], 2);
}
