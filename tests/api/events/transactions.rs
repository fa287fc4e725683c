//! An event and its change share one transaction: a change whose event cannot be
//! written is not made, a change rolled back takes its event with it (and leaves no gap
//! in the numbers), an open transaction holds no other writer back, and old events go
//! after `EVENT_RETENTION_DAYS` while numbering goes on.

use roster::audit::{AuditEntry, ClientInfo, event};
use roster::clock::Clock;
use roster::db::Tx;
use serde_json::json;

use super::{EVERY_TYPE, events, sequence, types};
use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;

static NOBODY: ClientInfo = ClientInfo {
    ip: None,
    user_agent: None,
};

on_both_engines!(
    a_change_whose_event_cannot_be_written_is_not_made,
    a_change_rolled_back_leaves_no_event_and_no_gap,
    events_older_than_the_retention_are_purged_and_numbering_goes_on,
);

async fn full_name(app: &TestApp, token: &str) -> serde_json::Value {
    app.get("/api/v1/auth/me").bearer(token).send().await.json()["full_name"].clone()
}

async fn a_change_whose_event_cannot_be_written_is_not_made(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    // Without its table no event can be written, so the transaction fails as a whole.
    app.exec("ALTER TABLE events RENAME TO events_elsewhere")
        .await;
    let refused = app
        .put("/api/v1/users/me")
        .bearer(&user.access_token)
        .json(json!({"full_name": "Never Stored"}))
        .send()
        .await;
    assert_eq!(refused.status, 500, "{}", refused.text);
    assert_eq!(full_name(&app, &user.access_token).await, "Test User");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'account_update'")
            .await,
        0
    );

    app.exec("ALTER TABLE events_elsewhere RENAME TO events")
        .await;
    let renamed = app
        .put("/api/v1/users/me")
        .bearer(&user.access_token)
        .json(json!({"full_name": "Stored"}))
        .send()
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let told = events(
        &app,
        &admin.access_token,
        &format!("subject={}", user.user_id),
    )
    .await;
    assert_eq!(
        types(&told),
        ["user.created", "session.created", "user.updated"]
    );
}

async fn a_change_rolled_back_leaves_no_event_and_no_gap(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    // The tier change is written and audited first; then deactivating the only
    // administrator is refused, and the whole update rolls back.
    let refused = app
        .patch(&format!("/api/v1/admin/users/{}", admin.user_id))
        .bearer(&admin.access_token)
        .json(json!({"tier": "premium", "is_active": false}))
        .send()
        .await;
    refused.problem(409);
    let me = app
        .get("/api/v1/auth/me")
        .bearer(&admin.access_token)
        .send()
        .await
        .json();
    assert_eq!(me["tier"], "basic");
    let told = events(&app, &admin.access_token, &format!("type={EVERY_TYPE}")).await;
    assert!(
        !types(&told).contains(&"user.tier.changed".to_owned()),
        "{told:?}"
    );

    let upgraded = app
        .patch(&format!("/api/v1/admin/users/{}", admin.user_id))
        .bearer(&admin.access_token)
        .json(json!({"tier": "premium"}))
        .send()
        .await;
    assert_eq!(upgraded.status, 200, "{}", upgraded.text);
    let told = events(&app, &admin.access_token, &format!("type={EVERY_TYPE}")).await;
    assert_eq!(types(&told).last().unwrap(), "user.tier.changed");
    // The number the rolled-back event took was given back.
    let numbers: Vec<u64> = told.iter().map(sequence).collect();
    assert_eq!(numbers, (1..=told.len() as u64).collect::<Vec<_>>());
}

async fn events_older_than_the_retention_are_purged_and_numbering_goes_on(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("EVENT_RETENTION_DAYS", "7")
        .start()
        .await;
    let user = app.user().await;
    let subject = format!("subject={}", user.user_id);

    app.clock.advance(chrono::Duration::days(6));
    roster::maintenance::purge(&app.state).await.expect("purge");
    let admin = app.admin().await;
    let kept = events(&app, &admin.access_token, &subject).await;
    assert_eq!(types(&kept), ["user.created", "session.created"]);

    app.clock.advance(chrono::Duration::days(2));
    app.login(&user.username, DEFAULT_PASSWORD).await;
    roster::maintenance::purge(&app.state).await.expect("purge");
    let admin = app.login(&admin.username, DEFAULT_PASSWORD).await;
    let left = events(&app, &admin.access_token, &subject).await;
    assert_eq!(types(&left), ["session.created"]);
    // After user.created, session.created and login.succeeded of the first sign-in.
    assert_eq!(left[0]["subjectsequence"], 4);
    // The administrator's events from six days ago are younger than seven days.
    let theirs = events(
        &app,
        &admin.access_token,
        &format!("subject={}", admin.user_id),
    )
    .await;
    assert_eq!(types(&theirs)[0], "user.created");
}

/// PostgreSQL: a transaction that wrote an event and is still open holds no other
/// writer of events back (none waits for a lock, so events can never make two requests
/// deadlock), and its event, once committed, is numbered after those that committed
/// before it: a reader that polled `after=N` in between still gets it. (SQLite has one
/// writer: the second transaction cannot even begin.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_transaction_holds_no_writer_back_and_its_event_is_not_missed_postgres() {
    let app = TestApp::new(Backend::Postgres).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let user_id: uuid::Uuid = user.user_id.parse().unwrap();
    let entry = |field: &str| {
        AuditEntry::by_owner(event::PROFILE_CHANGE, user_id, &NOBODY)
            .with_detail(json!({"action": "updated", "fields": [field]}))
    };
    let now = app.clock.now();
    let subject = format!("subject={user_id}");

    let mut first = app.state.db.begin().await.unwrap();
    roster::audit::record(&mut first, now, entry("bio"))
        .await
        .unwrap();
    let mut second = app.state.db.begin().await.unwrap();
    let Tx::Postgres(connection) = &mut second else {
        unreachable!("a PostgreSQL application")
    };
    sqlx::query("SET LOCAL lock_timeout = '200ms'")
        .execute(&mut **connection)
        .await
        .unwrap();
    roster::audit::record(&mut second, now, entry("location"))
        .await
        .expect("no lock to wait for");
    second.commit().await.unwrap();
    let seen = events(&app, &admin.access_token, &subject).await;
    assert_eq!(
        types(&seen),
        ["user.created", "session.created", "user.updated"]
    );
    assert_eq!(seen[2]["data"]["changed"], json!(["location"]));
    let cursor = sequence(&seen[2]);

    first.commit().await.unwrap();
    let later = events(
        &app,
        &admin.access_token,
        &format!("{subject}&after={cursor}"),
    )
    .await;
    assert_eq!(
        types(&later),
        ["user.updated"],
        "the late commit is not missed"
    );
    assert_eq!(later[0]["data"]["changed"], json!(["bio"]));
    assert!(sequence(&later[0]) > cursor);
    assert_eq!(
        later[0]["subjectsequence"].as_i64().unwrap(),
        seen[2]["subjectsequence"].as_i64().unwrap() + 1
    );
}
