//! The retention (`EVENT_RETENTION_DAYS`) keeps what a channel still has to send: with
//! `NATS_URL` set, events JetStream has not acknowledged stay however old they are, and
//! go once published. (Webhook deliveries still waiting: `webhooks::retention`.)

use std::collections::HashSet;

use serde_json::Value;

use super::nats_support::{
    Channel, OwnServer, free_port, published_through, pulled, wait_until_published,
};
use crate::helpers::{Backend, DEFAULT_PASSWORD};
use crate::on_both_engines;

on_both_engines!(events_nats_has_not_acknowledged_outlive_the_retention);

fn ids(events: &[Value]) -> HashSet<String> {
    events
        .iter()
        .map(|event| event["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn events_nats_has_not_acknowledged_outlive_the_retention(backend: Backend) {
    // NATS is down: nothing is acknowledged.
    let port = free_port();
    let channel = Channel::new(&format!("nats://127.0.0.1:{port}"));
    let app = channel
        .builder(backend)
        .env("EVENT_RETENTION_DAYS", "7")
        .start()
        .await;
    let admin = app.admin().await;
    app.user().await;
    let old = ids(&pulled(&app, &admin.access_token).await);
    assert!(old.len() >= 4, "{old:?}");
    assert!(published_through(&app).await <= 0);

    app.clock.advance(chrono::Duration::days(8));
    roster::maintenance::purge(&app.state).await.expect("purge");
    let admin = app.login(&admin.username, DEFAULT_PASSWORD).await;
    let kept = ids(&pulled(&app, &admin.access_token).await);
    assert!(
        old.is_subset(&kept),
        "events waiting for NATS were purged: {:?}",
        old.difference(&kept).collect::<Vec<_>>()
    );

    // Once JetStream has them, the retention takes them.
    let _server = OwnServer::start(port);
    wait_until_published(&app).await;
    roster::maintenance::purge(&app.state).await.expect("purge");
    let left = ids(&pulled(&app, &admin.access_token).await);
    assert!(left.is_disjoint(&old), "{left:?}");
    assert!(
        !left.is_empty(),
        "the administrator's recent sign-in is kept"
    );
}
