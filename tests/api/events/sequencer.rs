//! The sequencer numbers a backlog larger than one of its batches, with several passes
//! running at once (as on several instances): `sequence` 1, 2, 3... in the order the
//! events were written, `subjectsequence` 1, 2, 3... per subject, also for a subject
//! that had events before, and the counters where the numbers ended.
//!
//! The throughput measurement (ignored; run it by name with `--ignored --nocapture`)
//! times one call on a backlog of 20,000 events.

use std::time::Instant;

use futures::future::join_all;
use roster::clock::Clock;
use roster::events::log::sequence_pending;

use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(a_backlog_larger_than_a_batch_is_numbered_in_order_without_gaps);

/// More than the sequencer numbers in one transaction.
const BACKLOG: u32 = 25_000;

/// Writes `count` unnumbered events straight into the log, as committed changes leave
/// them: subjects take turns (`subject-0` to `subject-49`), and every seventh belongs to
/// `known`, a subject with numbered events already.
async fn write_unnumbered(app: &TestApp, count: u32, known: &str) {
    let time = app.clock.now().to_rfc3339();
    let subject = format!("CASE WHEN n % 7 = 0 THEN '{known}' ELSE 'subject-' || (n % 50) END");
    let sql = match app.backend {
        Backend::Postgres => format!(
            "INSERT INTO events (id, type, subject, time, data) \
             SELECT gen_random_uuid(), 'user.updated', {subject}, '{time}'::timestamptz, '{{}}'::jsonb \
             FROM generate_series(1, {count}) AS n"
        ),
        Backend::Sqlite => format!(
            "WITH RECURSIVE numbers(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM numbers WHERE n < {count}) \
             INSERT INTO events (id, type, subject, time, data) \
             SELECT randomblob(16), 'user.updated', {subject}, '{time}', '{{}}' FROM numbers"
        ),
    };
    app.exec(sql).await;
}

async fn a_backlog_larger_than_a_batch_is_numbered_in_order_without_gaps(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    sequence_pending(&app.state.db).await.expect("numbered");
    let before = app.count("SELECT COUNT(*) FROM events").await;
    let known_before = app
        .count("SELECT last FROM event_subjects WHERE subject NOT LIKE 'subject-%'")
        .await;
    assert!(known_before >= 1, "the account has numbered events");
    write_unnumbered(&app, BACKLOG, &user.user_id).await;

    // Three passes at once, besides the application's own in the background.
    let passes = join_all((0..3).map(|_| sequence_pending(&app.state.db))).await;
    for pass in passes {
        pass.expect("a pass numbers without error");
    }

    let total = before + i64::from(BACKLOG);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM events WHERE sequence IS NULL")
            .await,
        0
    );
    assert_eq!(app.count("SELECT MAX(sequence) FROM events").await, total);
    assert_eq!(
        app.count("SELECT last FROM event_counter WHERE id = 1")
            .await,
        total
    );
    // 1, 2, 3... in the order the events were written (all had committed).
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM (SELECT sequence, row_number() OVER (ORDER BY position) AS expected \
             FROM events) AS numbered WHERE sequence <> expected"
        )
        .await,
        0
    );
    // Per subject 1, 2, 3... in sequence order, also after the account's earlier ones.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM (SELECT subject_sequence, \
             row_number() OVER (PARTITION BY subject ORDER BY sequence) AS expected FROM events) AS numbered \
             WHERE subject_sequence <> expected"
        )
        .await,
        0
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM event_subjects WHERE last <> \
             (SELECT COUNT(*) FROM events WHERE events.subject = event_subjects.subject)"
        )
        .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM event_subjects WHERE subject LIKE 'subject-%'")
            .await,
        50
    );
    let known_after = app
        .count("SELECT last FROM event_subjects WHERE subject NOT LIKE 'subject-%'")
        .await;
    assert_eq!(known_after, known_before + i64::from(BACKLOG / 7));
}

/// Times one `sequence_pending` call on `count` waiting events; prints events per second.
async fn measure(backend: Backend, count: u32) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    sequence_pending(&app.state.db).await.expect("numbered");
    write_unnumbered(&app, count, &user.user_id).await;
    let started = Instant::now();
    sequence_pending(&app.state.db).await.expect("numbered");
    let took = started.elapsed();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM events WHERE sequence IS NULL")
            .await,
        0
    );
    eprintln!(
        "{backend:?}: {count} events numbered in {took:?}: {:.0} events/s",
        f64::from(count) / took.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by name: --ignored --nocapture"]
async fn sequencer_throughput_postgres() {
    measure(Backend::Postgres, 20_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by name: --ignored --nocapture"]
async fn sequencer_throughput_sqlite() {
    measure(Backend::Sqlite, 20_000).await;
}
