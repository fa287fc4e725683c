//! The outbox and its worker: mail survives an SMTP server that is down or refusing,
//! an instance stopped in the middle of sending, and several instances sharing one
//! database, and every message is sent once.

use std::collections::HashSet;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::mail::smtp_sink::{Mode, SmtpSink, unused_port};
use crate::mail::support::{RESET, VERIFY, confirm_reset, mail_app, request_reset, wait_for_count};
use crate::on_both_engines;

on_both_engines!(
    smtp_down_while_a_reset_is_requested_then_up_the_mail_arrives,
    a_refusing_smtp_server_is_retried_with_backoff,
    an_instance_stopped_mid_send_leaves_the_mail_to_the_next_exactly_once,
    several_instances_send_each_message_once,
    without_smtp_mail_goes_to_the_log_in_development,
    a_reset_mail_whose_link_expired_is_not_sent,
    delivery_gives_up_after_thirty_attempts,
    sent_mail_and_expired_tokens_are_purged,
);

async fn smtp_down_while_a_reset_is_requested_then_up_the_mail_arrives(backend: Backend) {
    let port = unused_port().await;
    let app = TestApp::builder(backend)
        .env("SMTP_URL", format!("smtp://127.0.0.1:{port}"))
        .env("MAIL_POLL_MILLIS", "50")
        .start()
        .await;
    let session = app.user().await;
    let email = format!("{}@example.com", session.username);
    let response = request_reset(&app, &email).await;
    assert_eq!(response.status, 202);
    // Both mails (verification, reset) were tried, failed, and wait for a retry.
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM mail_outbox WHERE attempts = 1 AND lease_until IS NULL AND last_error IS NOT NULL AND sent_at IS NULL",
        2,
    )
    .await;

    let sink = SmtpSink::start_on(port, Mode::Accept).await;
    // Nothing is retried before its backoff (5 s) has passed.
    let report = app.state.mail.deliver_due().await.unwrap();
    assert_eq!(report, roster::mail::DeliveryReport::default());
    app.clock.advance(chrono::Duration::seconds(6));
    let token = sink.wait_for(&email, RESET, 1).await[0].token();
    sink.wait_for(&email, VERIFY, 1).await;
    assert_eq!(
        confirm_reset(&app, &token, "Lantern-Orbit-51").await.status,
        204
    );
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NOT NULL AND attempts = 2",
        2,
    )
    .await;
}

async fn a_refusing_smtp_server_is_retried_with_backoff(backend: Backend) {
    let sink = SmtpSink::start(Mode::Refuse).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let email = format!("{}@example.com", session.username);
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM mail_outbox WHERE attempts = 1 AND lease_until IS NULL AND last_error LIKE '%451%'",
        1,
    )
    .await;
    // Second failure: the wait doubles.
    app.clock.advance(chrono::Duration::seconds(5));
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM mail_outbox WHERE attempts = 2 AND lease_until IS NULL AND sent_at IS NULL",
        1,
    )
    .await;
    app.clock.advance(chrono::Duration::seconds(5));
    assert_eq!(
        app.state.mail.deliver_due().await.unwrap().sent,
        0,
        "the third attempt waits 10 s"
    );
    sink.set_mode(Mode::Accept);
    app.clock.advance(chrono::Duration::seconds(5));
    sink.wait_for(&email, VERIFY, 1).await;
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NOT NULL AND attempts = 3 AND last_error IS NULL",
        1,
    )
    .await;
    assert_eq!(sink.mails().len(), 1);
}

/// Raw bytes of every stored message body.
async fn stored_messages(app: &TestApp) -> Vec<Vec<u8>> {
    let sql = "SELECT message FROM mail_outbox WHERE message IS NOT NULL";
    match &app.state.db {
        roster::db::Db::Sqlite(pool, _) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        roster::db::Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
    }
}

async fn an_instance_stopped_mid_send_leaves_the_mail_to_the_next_exactly_once(backend: Backend) {
    let stalling = SmtpSink::start(Mode::Stall).await;
    let first = mail_app(backend, &stalling).await;
    let session = first.user().await;
    let email = format!("{}@example.com", session.username);
    assert_eq!(request_reset(&first, &email).await.status, 202);
    // The first instance has claimed the verification mail and hangs in its send.
    wait_for_count(
        &first,
        "SELECT COUNT(*) FROM mail_outbox WHERE attempts = 1 AND lease_until IS NOT NULL AND sent_at IS NULL",
        1,
    )
    .await;
    // Stored bodies are sealed: no link, no token in the clear.
    for message in stored_messages(&first).await {
        assert!(!message.windows(6).any(|w| w == b"token="));
        assert!(!message.windows(12).any(|w| w == b"verify-email"));
    }

    let sink = SmtpSink::start(Mode::Accept).await;
    let second = first.restarted_with(&[("SMTP_URL", &sink.url())]).await;
    drop(first);
    // Stopping the first instance ended its send (it hung up).
    stalling.wait_until_idle().await;
    // The claimed mail stays with its lease until that expires.
    let report = second.state.mail.deliver_due().await.unwrap();
    assert!(sink.mails_to(&email, VERIFY).is_empty(), "{report:?}");

    second.clock.advance(chrono::Duration::minutes(3));
    let verification = sink.wait_for(&email, VERIFY, 1).await;
    let reset = sink.wait_for(&email, RESET, 1).await;
    wait_for_count(
        &second,
        "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL",
        0,
    )
    .await;
    second.state.mail.deliver_due().await.unwrap();
    assert_eq!(sink.mails().len(), 2, "each message exactly once");
    let ids: HashSet<String> = sink
        .mails()
        .iter()
        .map(|m| m.header("message-id").expect("a Message-ID"))
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(verification[0].token() != reset[0].token());
    assert_eq!(
        confirm_reset(&second, &reset[0].token(), "Lantern-Orbit-51")
            .await
            .status,
        204
    );
}

async fn several_instances_send_each_message_once(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let first = mail_app(backend, &sink).await;
    let second = first.sibling().await;
    let mut addresses = Vec::new();
    for index in 0..8 {
        let app = if index % 2 == 0 { &first } else { &second };
        let username = format!("multi_{index}");
        app.register(&username, DEFAULT_PASSWORD).await;
        addresses.push(format!("{username}@example.com"));
    }
    for address in &addresses {
        sink.wait_for(address, VERIFY, 1).await;
    }
    // Each was claimed once, sent, and marked; another pass of either worker sends nothing.
    wait_for_count(
        &first,
        "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NOT NULL AND attempts = 1",
        8,
    )
    .await;
    for app in [&first, &second] {
        let report = app.state.mail.deliver_due().await.unwrap();
        assert_eq!(report, roster::mail::DeliveryReport::default());
    }
    let mails = sink.mails();
    assert_eq!(mails.len(), addresses.len());
    let ids: HashSet<String> = mails
        .iter()
        .map(|m| m.header("message-id").expect("a Message-ID"))
        .collect();
    assert_eq!(ids.len(), addresses.len());
}

async fn without_smtp_mail_goes_to_the_log_in_development(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("MAIL_POLL_MILLIS", "50")
        .start()
        .await;
    assert!(app.config.mail.smtp_url.is_none());
    app.user().await;
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'email_verification' AND sent_at IS NOT NULL",
        1,
    )
    .await;
}

/// An application whose SMTP server is down and whose worker only runs when the test
/// says so (`deliver_due`), apart from its first pass and wake-ups.
async fn app_with_smtp_down(backend: Backend) -> (TestApp, u16) {
    let port = unused_port().await;
    let app = TestApp::builder(backend)
        .env("SMTP_URL", format!("smtp://127.0.0.1:{port}"))
        .env("MAIL_POLL_MILLIS", "600000")
        .start()
        .await;
    (app, port)
}

async fn a_reset_mail_whose_link_expired_is_not_sent(backend: Backend) {
    let (app, port) = app_with_smtp_down(backend).await;
    let session = app.user().await;
    let email = format!("{}@example.com", session.username);
    request_reset(&app, &email).await;
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'password_reset' AND message IS NOT NULL AND last_error IS NOT NULL AND lease_until IS NULL",
        1,
    )
    .await;
    let sink = SmtpSink::start_on(port, Mode::Accept).await;
    app.clock.advance(chrono::Duration::minutes(30));
    let report = app.state.mail.deliver_due().await.unwrap();
    assert_eq!(report.abandoned, 1, "{report:?}");
    assert_eq!(
        report.sent, 1,
        "the verification mail is still worth sending"
    );
    assert!(sink.mails_to(&email, RESET).is_empty());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'password_reset' AND failed_at IS NOT NULL AND message IS NULL AND last_error LIKE '%expired%'")
            .await,
        1
    );
}

async fn delivery_gives_up_after_thirty_attempts(backend: Backend) {
    let (app, _port) = app_with_smtp_down(backend).await;
    app.user().await;
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM mail_outbox WHERE attempts = 1 AND lease_until IS NULL",
        1,
    )
    .await;
    let mut deferred = 0;
    for _ in 2..=30 {
        app.clock.advance(chrono::Duration::hours(1));
        let report = app.state.mail.deliver_due().await.unwrap();
        deferred += report.deferred;
        if report.abandoned == 1 {
            break;
        }
    }
    assert_eq!(deferred, 28, "attempts 2 to 29 were retried");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM mail_outbox WHERE attempts = 30 AND failed_at IS NOT NULL AND message IS NULL AND last_error LIKE 'gave up after 30 attempts%'")
            .await,
        1
    );
    app.clock.advance(chrono::Duration::hours(1));
    assert_eq!(
        app.state.mail.deliver_due().await.unwrap(),
        roster::mail::DeliveryReport::default()
    );
}

async fn sent_mail_and_expired_tokens_are_purged(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let email = format!("{}@example.com", session.username);
    request_reset(&app, &email).await;
    sink.wait_for(&email, RESET, 1).await;
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NOT NULL",
        2,
    )
    .await;
    let now = || roster::clock::Clock::now(&app.clock);
    assert_eq!(
        roster::mail::outbox::purge(&app.state.db, now())
            .await
            .unwrap(),
        0,
        "nothing is old enough yet"
    );
    app.clock.advance(chrono::Duration::hours(49));
    // Two mails, one reset and one verification token, one recipient lock row.
    assert_eq!(
        roster::mail::outbox::purge(&app.state.db, now())
            .await
            .unwrap(),
        5
    );
    for table in [
        "SELECT COUNT(*) FROM mail_outbox",
        "SELECT COUNT(*) FROM password_reset_tokens",
        "SELECT COUNT(*) FROM email_verification_tokens",
        "SELECT COUNT(*) FROM mail_recipients",
    ] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
}
