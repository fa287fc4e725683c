//! Password reset by email, end to end against a real SMTP server: the token is read
//! out of the delivered mail, as a user would click it.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD};
use crate::mail::smtp_sink::{Mode, SmtpSink};
use crate::mail::support::{
    CHANGED, PUBLIC_URL, RESET, VERIFY, confirm_reset, count_with, email_of, execute_with,
    mail_app, mail_app_with, request_reset, wait_for_count,
};
use crate::on_both_engines;

const NEW_PASSWORD: &str = "Lantern-Orbit-51";

on_both_engines!(
    password_reset_works_end_to_end_through_the_mailed_link,
    a_reset_token_works_once,
    a_reset_token_expires_after_thirty_minutes,
    only_the_newest_reset_token_works,
    concurrent_confirmations_with_one_token_leave_one_winner,
    reset_confirm_applies_the_password_policy_and_history,
    a_reset_clears_login_lockouts,
    reset_requests_answer_alike_for_known_and_unknown_addresses,
    links_never_come_from_request_headers,
    reset_mails_per_address_are_limited_per_hour,
    changing_the_password_sends_a_notice,
);

async fn password_reset_works_end_to_end_through_the_mailed_link(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let other_device = app.login(&session.username, DEFAULT_PASSWORD).await;
    let email = email_of(&session);

    let response = request_reset(&app, &email.to_uppercase()).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.text);
    let mail = sink.wait_for(&email, RESET, 1).await.remove(0);
    assert_eq!(mail.envelope_from, "no-reply@localhost");
    let token = mail.token();
    assert_eq!(token.len(), 43, "256 bits in base64url");
    for link in mail.links() {
        assert!(link.starts_with(PUBLIC_URL), "{link}");
    }
    assert!(
        mail.text()
            .contains(&format!("{PUBLIC_URL}/reset-password?token={token}"))
    );
    assert!(mail.html().contains(&format!(
        "href=\"{PUBLIC_URL}/reset-password?token={token}\""
    )));

    let response = confirm_reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT, "{}", response.text);
    // Every session is gone, access and refresh tokens alike.
    for s in [&session, &other_device] {
        app.get("/api/v1/auth/me")
            .bearer(&s.access_token)
            .send()
            .await
            .problem(401);
        app.post("/api/v1/auth/refresh")
            .json(json!({"refresh_token": s.refresh_token}))
            .send()
            .await
            .problem(400);
    }
    app.post("/api/v1/auth/login")
        .json(json!({"login": session.username, "password": DEFAULT_PASSWORD}))
        .send()
        .await
        .problem(401);
    let fresh = app.login(&session.username, NEW_PASSWORD).await;
    let me = app
        .get("/api/v1/auth/me")
        .bearer(&fresh.access_token)
        .send()
        .await
        .json();
    assert_eq!(me["email_verified"], true, "the reset proved the address");

    // The notice follows, without a token.
    let notice = sink.wait_for(&email, CHANGED, 1).await.remove(0);
    assert!(notice.text().contains("was reset"), "{}", notice.text());
    assert!(!notice.raw.contains("token="));

    // Stored: only the token's SHA-256; the outbox keeps no message once it is sent;
    // the audit trail names the events without the token.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM password_reset_tokens WHERE length(token_hash) = 32 AND used_at IS NOT NULL")
            .await,
        1
    );
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL OR message IS NOT NULL",
        0,
    )
    .await;
    assert_eq!(
        count_with(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE event IN ('password_reset_request', 'password_reset') AND user_id IS NOT NULL AND CAST(detail AS TEXT) NOT LIKE '%' || $1 || '%'",
            &token,
        )
        .await,
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE revoked_reason = 'password_reset'")
            .await,
        2
    );
}

async fn a_reset_token_works_once(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let email = email_of(&session);
    request_reset(&app, &email).await;
    let token = sink.wait_for(&email, RESET, 1).await[0].token();
    assert_eq!(confirm_reset(&app, &token, NEW_PASSWORD).await.status, 204);
    let again = confirm_reset(&app, &token, "Quartz-Meadow-62")
        .await
        .problem(400);
    assert_eq!(again["type"], "urn:roster:problem:invalid-token");
    assert!(
        !again.to_string().contains(&token),
        "no token in error bodies"
    );
    confirm_reset(&app, "not-a-token", "Quartz-Meadow-62")
        .await
        .problem(400);
    app.login(&session.username, NEW_PASSWORD).await;
}

async fn a_reset_token_expires_after_thirty_minutes(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let email = email_of(&session);

    request_reset(&app, &email).await;
    let expired = sink.wait_for(&email, RESET, 1).await[0].token();
    app.clock.advance(chrono::Duration::minutes(30));
    confirm_reset(&app, &expired, NEW_PASSWORD)
        .await
        .problem(400);

    request_reset(&app, &email).await;
    let fresh = sink.wait_for(&email, RESET, 2).await[1].token();
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(confirm_reset(&app, &fresh, NEW_PASSWORD).await.status, 204);
}

async fn only_the_newest_reset_token_works(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let email = email_of(&session);
    request_reset(&app, &email).await;
    let older = sink.wait_for(&email, RESET, 1).await[0].token();
    request_reset(&app, &email).await;
    let newer = sink.wait_for(&email, RESET, 2).await[1].token();
    assert_ne!(older, newer);
    confirm_reset(&app, &older, NEW_PASSWORD).await.problem(400);
    assert_eq!(confirm_reset(&app, &newer, NEW_PASSWORD).await.status, 204);
}

async fn concurrent_confirmations_with_one_token_leave_one_winner(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let email = email_of(&session);
    request_reset(&app, &email).await;
    let token = sink.wait_for(&email, RESET, 1).await[0].token();
    let passwords = [
        "Lantern-Orbit-51",
        "Quartz-Meadow-62",
        "Velvet-Harbor-73",
        "Cinder-Falcon-84",
    ];
    let results =
        futures::future::join_all(passwords.iter().map(|p| confirm_reset(&app, &token, p))).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        3,
        "{statuses:?}"
    );
    // The winner's password is the one that works, and it was set once.
    let winner = passwords[statuses.iter().position(|s| *s == 204).unwrap()];
    app.login(&session.username, winner).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM credentials WHERE is_current")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'password_reset'")
            .await,
        1
    );
    assert_eq!(sink.wait_for(&email, CHANGED, 1).await.len(), 1);
}

async fn reset_confirm_applies_the_password_policy_and_history(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let email = email_of(&session);
    request_reset(&app, &email).await;
    let token = sink.wait_for(&email, RESET, 1).await[0].token();

    assert_eq!(
        confirm_reset(&app, &token, "short").await.failing_fields(),
        ["new_password"]
    );
    let reused = confirm_reset(&app, &token, DEFAULT_PASSWORD).await;
    assert_eq!(reused.failing_fields(), ["new_password"]);
    assert!(reused.text.contains("last 5 passwords"), "{}", reused.text);
    assert_eq!(
        confirm_reset(&app, &token, &format!("{}-Xy9", session.username))
            .await
            .failing_fields(),
        ["new_password"]
    );
    let empty = app
        .post("/api/v1/auth/password-reset-confirm")
        .json(json!({}))
        .send()
        .await;
    assert_eq!(empty.failing_fields(), ["new_password", "token"]);
    let extra = app
        .post("/api/v1/auth/password-reset-confirm")
        .json(json!({"token": token, "new_password": NEW_PASSWORD, "user_id": session.user_id}))
        .send()
        .await;
    assert!(extra.failing_fields().contains(&"user_id".to_owned()));
    // Refusals do not use the token up.
    assert_eq!(confirm_reset(&app, &token, NEW_PASSWORD).await.status, 204);
}

async fn a_reset_clears_login_lockouts(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let email = email_of(&session);
    // Three wrong passwords by username and two by email lock the account (one count).
    for (identifier, failures) in [(session.username.as_str(), 3), (email.as_str(), 2)] {
        for _ in 0..failures {
            app.post("/api/v1/auth/login")
                .json(json!({"login": identifier, "password": "Wrong-Password-1"}))
                .send()
                .await
                .problem(401);
        }
    }
    for identifier in [session.username.as_str(), email.as_str()] {
        app.post("/api/v1/auth/login")
            .json(json!({"login": identifier, "password": DEFAULT_PASSWORD}))
            .send()
            .await
            .problem(429);
    }
    request_reset(&app, &email).await;
    let token = sink.wait_for(&email, RESET, 1).await[0].token();
    assert_eq!(confirm_reset(&app, &token, NEW_PASSWORD).await.status, 204);
    app.login(&session.username, NEW_PASSWORD).await;
    app.login(&email, NEW_PASSWORD).await;
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn reset_requests_answer_alike_for_known_and_unknown_addresses(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    // A generous limit so that every request below takes the full path.
    let app = mail_app_with(backend, &sink, &[("MAIL_PER_ADDRESS_PER_HOUR", "1000")]).await;
    let session = app.user().await;
    let known = email_of(&session);
    let unknown = "nobody-here@example.com";
    // A deactivated account gets no mail either.
    let inactive = app.user().await;
    let inactive_email = email_of(&inactive);
    execute_with(
        &app,
        "UPDATE users SET is_active = FALSE WHERE email = $1",
        &inactive_email,
    )
    .await;

    let answers = [
        request_reset(&app, &known).await,
        request_reset(&app, unknown).await,
        request_reset(&app, &inactive_email).await,
    ];
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::ACCEPTED);
        assert_eq!(answer.text, answers[0].text);
        assert_eq!(
            answer.header("content-type"),
            answers[0].header("content-type")
        );
    }
    sink.wait_for(&known, RESET, 1).await;
    // The worker looked at the other two and gave them up without sending anything.
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'password_reset' AND failed_at IS NOT NULL AND last_error = 'no active account has this address'",
        2,
    )
    .await;
    assert!(sink.mails_to(unknown, "").is_empty());
    assert!(sink.mails_to(&inactive_email, RESET).is_empty());

    // Latency: interleaved samples, compared by their medians.
    let rounds = 30;
    let mut known_times = Vec::new();
    let mut unknown_times = Vec::new();
    for round in 0..rounds {
        let other = format!("nobody-{round}@example.com");
        for (address, times) in [
            (known.as_str(), &mut known_times),
            (other.as_str(), &mut unknown_times),
        ] {
            let started = Instant::now();
            let response = request_reset(&app, address).await;
            times.push(started.elapsed());
            assert_eq!(response.status, StatusCode::ACCEPTED);
        }
    }
    let (known_median, unknown_median) = (median(known_times), median(unknown_times));
    eprintln!(
        "{backend:?}: password-reset-request median latency: known {known_median:?}, unknown {unknown_median:?}"
    );
    let gap = known_median.abs_diff(unknown_median);
    // Identical work on both paths; the tolerance absorbs a busy machine, not an SMTP
    // conversation or a password hash (tens of milliseconds) done in the request.
    let tolerance = Duration::from_millis(10).max(known_median.min(unknown_median) / 2);
    assert!(
        gap <= tolerance,
        "known {known_median:?} vs unknown {unknown_median:?}"
    );
}

async fn links_never_come_from_request_headers(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let hostile = [
        ("host", "evil.example"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "https"),
        ("forwarded", "host=evil.example;proto=https"),
        ("origin", "https://evil.example"),
        ("referer", "https://evil.example/"),
    ];
    let with_headers = |mut request: crate::helpers::RequestBuilder| {
        for (name, value) in hostile {
            request = request.header(name, value);
        }
        request
    };
    let response = with_headers(app.post("/api/v1/auth/register"))
        .json(json!({"username": "hostile_host", "email": "hostile_host@example.com", "password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    let session = app.login("hostile_host", DEFAULT_PASSWORD).await;
    let response = with_headers(app.post("/api/v1/auth/password-reset-request"))
        .json(json!({"email": "hostile_host@example.com"}))
        .send()
        .await;
    assert_eq!(response.status, 202);
    let response = with_headers(app.post("/api/v1/auth/verify-email-request"))
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, 202, "{}", response.text);

    let mut mails = sink.wait_for("hostile_host@example.com", VERIFY, 2).await;
    mails.extend(sink.wait_for("hostile_host@example.com", RESET, 1).await);
    for mail in &mails {
        assert!(!mail.raw.contains("evil.example"), "{}", mail.raw);
        let links = mail.links();
        assert!(!links.is_empty());
        for link in links {
            assert!(link.starts_with(&format!("{PUBLIC_URL}/")), "{link}");
            assert!(link.contains("?token="), "{link}");
        }
    }
}

async fn reset_mails_per_address_are_limited_per_hour(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app_with(backend, &sink, &[("MAIL_PER_ADDRESS_PER_HOUR", "2")]).await;
    let session = app.user().await;
    let email = email_of(&session);
    let unknown = "nobody-limited@example.com";
    let mut bodies = Vec::new();
    for _ in 0..4 {
        for address in [email.as_str(), unknown] {
            let response = request_reset(&app, address).await;
            assert_eq!(response.status, StatusCode::ACCEPTED);
            bodies.push(response.text);
        }
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:?}");
    sink.wait_for(&email, RESET, 2).await;
    // Beyond the limit nothing was queued, for either address.
    assert_eq!(
        count_with(
            &app,
            "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'password_reset' AND recipient = $1",
            &email
        )
        .await,
        2
    );
    assert_eq!(
        count_with(
            &app,
            "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'password_reset' AND recipient = $1",
            unknown
        )
        .await,
        2
    );
    app.state.mail.deliver_due().await.unwrap();
    assert_eq!(sink.mails_to(&email, RESET).len(), 2);
    // The verification mail of the registration has its own allowance.
    assert_eq!(sink.wait_for(&email, VERIFY, 1).await.len(), 1);

    // An hour later the address may receive reset mail again.
    app.clock.advance(chrono::Duration::minutes(61));
    request_reset(&app, &email).await;
    let third = sink.wait_for(&email, RESET, 3).await;
    assert_eq!(
        confirm_reset(&app, &third[2].token(), NEW_PASSWORD)
            .await
            .status,
        204
    );
}

async fn changing_the_password_sends_a_notice(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let email = email_of(&session);
    let response = app
        .post("/api/v1/auth/change-password")
        .bearer(&session.access_token)
        .json(json!({"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await;
    assert_eq!(response.status, 204, "{}", response.text);
    let notice = sink.wait_for(&email, CHANGED, 1).await.remove(0);
    assert!(
        notice.text().contains("was changed at"),
        "{}",
        notice.text()
    );
    assert!(notice.text().contains(&session.username));
    assert!(!notice.raw.contains("token="));
    assert!(!notice.raw.contains(NEW_PASSWORD));
    // A refused change sends nothing.
    app.post("/api/v1/auth/change-password")
        .bearer(&session.access_token)
        .json(json!({"current_password": "Wrong-Password-1", "new_password": "Quartz-Meadow-62"}))
        .send()
        .await
        .problem(400);
    app.state.mail.deliver_due().await.unwrap();
    assert_eq!(sink.mails_to(&email, CHANGED).len(), 1);
}
