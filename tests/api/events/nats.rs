//! NATS JetStream (`NATS_URL`): every event reaches the stream once, in `sequence` order,
//! on `PREFIX.TYPE` with `Nats-Msg-Id` = its id and the pull API's body; a batch
//! published again after a lost acknowledgement is dropped by JetStream; while NATS is
//! down events wait and then go out in order; the stream is made when missing and kept
//! as it is when it exists; of two instances one publishes.

use std::time::Duration;

use async_nats::jetstream::stream;
use futures::future::join_all;
use serde_json::{Value, json};

use super::nats_support::{
    Channel, OwnServer, assert_stream_holds, free_port, published_through, pulled, shared_nats_url,
    wait_until_published,
};
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(
    a_burst_of_changes_reaches_the_stream_once_each_in_sequence_order,
    events_published_again_after_a_lost_acknowledgement_are_stored_once,
    while_nats_is_down_events_wait_and_then_go_out_in_order,
    an_existing_stream_is_used_as_it_is,
    of_two_instances_every_event_is_published_once,
);

/// Accounts made side by side, each renaming itself: `user.created`, `session.created`,
/// `login.succeeded` and `user.updated` events from concurrent transactions.
async fn burst_of_changes(app: &TestApp, accounts: usize) {
    let sessions = join_all((0..accounts).map(|_| app.user())).await;
    join_all(
        sessions
            .iter()
            .enumerate()
            .map(|(index, session)| async move {
                let renamed = app
                    .put("/api/v1/users/me")
                    .bearer(&session.access_token)
                    .json(json!({"full_name": format!("Renamed {index}")}))
                    .send()
                    .await;
                assert_eq!(renamed.status, 200, "{}", renamed.text);
            }),
    )
    .await;
}

/// Makes a burst of changes on `app`, then waits for the publisher and checks that the
/// stream holds every event of the log (also the earlier ones), once each and in order;
/// returns the log as the pull API serves it.
async fn changes_reach_the_stream(
    channel: &Channel,
    app: &TestApp,
    token: &str,
    accounts: usize,
) -> Vec<Value> {
    burst_of_changes(app, accounts).await;
    let all = pulled(app, token).await;
    wait_until_published(app).await;
    assert_stream_holds(channel, &channel.messages().await, &all);
    all
}

async fn a_burst_of_changes_reaches_the_stream_once_each_in_sequence_order(backend: Backend) {
    let channel = Channel::new(&shared_nats_url());
    let app = channel.app(backend).await;
    let admin = app.admin().await;
    let all = changes_reach_the_stream(&channel, &app, &admin.access_token, 12).await;
    let updates = format!("{}.user.updated", channel.prefix);
    assert!(
        channel
            .messages()
            .await
            .iter()
            .any(|m| m.subject == updates)
    );
    assert!(all.len() >= 2 * 12, "{}", all.len());

    // The stream Roster made: its subjects, and the de-duplication window it relies on.
    let mut made = channel.stream().await;
    let config = made.info().await.expect("stream info").config.clone();
    assert_eq!(config.subjects, [format!("{}.>", channel.prefix)]);
    assert_eq!(config.duplicate_window, Duration::from_secs(600));

    let metrics = app.get("/metrics").send().await.text;
    for name in [
        "roster_events_published_total{channel=\"nats\"}",
        "roster_events_waiting{channel=\"nats\"}",
        "roster_events_oldest_waiting_seconds{channel=\"nats\"}",
    ] {
        assert!(metrics.contains(name), "{name} in {metrics}");
    }
    channel.delete().await;
}

async fn events_published_again_after_a_lost_acknowledgement_are_stored_once(backend: Backend) {
    let channel = Channel::new(&shared_nats_url());
    let app = channel.app(backend).await;
    let admin = app.admin().await;
    let all = changes_reach_the_stream(&channel, &app, &admin.access_token, 4).await;

    // As if the publisher died after JetStream's acknowledgements but before recording
    // them: the cursor is back where it was, and every event goes out again.
    app.exec("UPDATE event_channels SET published_through = 0 WHERE name = 'nats'")
        .await;
    wait_until_published(&app).await;
    assert_stream_holds(&channel, &channel.messages().await, &all);

    // Later events follow the repeated ones, once each.
    changes_reach_the_stream(&channel, &app, &admin.access_token, 2).await;
    channel.delete().await;
}

async fn while_nats_is_down_events_wait_and_then_go_out_in_order(backend: Backend) {
    let port = free_port();
    let channel = Channel::new(&format!("nats://127.0.0.1:{port}"));
    let app = channel.app(backend).await;
    let admin = app.admin().await;
    burst_of_changes(&app, 5).await;
    let before = pulled(&app, &admin.access_token).await;
    assert!(!before.is_empty());
    // Start-up and requests went on; nothing is recorded as published.
    assert!(published_through(&app).await <= 0);

    let _server = OwnServer::start(port);
    wait_until_published(&app).await;
    assert_stream_holds(&channel, &channel.messages().await, &before);

    changes_reach_the_stream(&channel, &app, &admin.access_token, 2).await;
}

async fn an_existing_stream_is_used_as_it_is(backend: Backend) {
    let channel = Channel::new(&shared_nats_url());
    let operators = stream::Config {
        name: channel.stream.clone(),
        subjects: vec![format!("{}.>", channel.prefix)],
        duplicate_window: Duration::from_secs(120),
        description: Some("made by the operators".to_owned()),
        max_age: Duration::from_secs(86_400),
        ..Default::default()
    };
    channel
        .jetstream()
        .await
        .create_stream(operators)
        .await
        .expect("the operators' stream");
    let app = channel.app(backend).await;
    let admin = app.admin().await;
    changes_reach_the_stream(&channel, &app, &admin.access_token, 3).await;

    let mut kept = channel.stream().await;
    let config = kept.info().await.expect("stream info").config.clone();
    assert_eq!(config.description.as_deref(), Some("made by the operators"));
    assert_eq!(config.duplicate_window, Duration::from_secs(120));
    assert_eq!(config.max_age, Duration::from_secs(86_400));
    channel.delete().await;
}

async fn of_two_instances_every_event_is_published_once(backend: Backend) {
    let channel = Channel::new(&shared_nats_url());
    let first = channel.app(backend).await;
    let second = first.sibling().await;
    let admin = first.admin().await;
    tokio::join!(burst_of_changes(&first, 4), burst_of_changes(&second, 4));
    let all = pulled(&first, &admin.access_token).await;
    wait_until_published(&first).await;
    assert_stream_holds(&channel, &channel.messages().await, &all);

    // The first instance stops; the second publishes what follows (once the lease is
    // given up, or has run out).
    drop(first);
    second.clock.advance(chrono::Duration::seconds(31));
    changes_reach_the_stream(&channel, &second, &admin.access_token, 2).await;
    channel.delete().await;
}
