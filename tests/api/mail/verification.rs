//! Email verification end to end: the mail sent at registration and on request, tokens
//! that work once, for 48 hours, and only for the address they were sent to; and the
//! function the email-change path calls.

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, Session, TestApp, TestResponse};
use crate::mail::smtp_sink::{Mode, SmtpSink};
use crate::mail::support::{VERIFY, email_of, execute_with, mail_app, mail_app_with};
use crate::on_both_engines;

on_both_engines!(
    registration_mails_a_link_that_verifies_the_address_once,
    a_verification_token_expires_after_48_hours,
    asking_again_replaces_the_link_and_a_verified_address_gets_409,
    a_token_for_an_old_address_does_not_verify_a_new_one,
    verification_mails_per_address_are_limited_per_hour,
    the_email_endpoints_are_documented,
);

async fn verify(app: &TestApp, token: &str) -> TestResponse {
    app.post("/api/v1/auth/verify-email")
        .json(json!({"token": token}))
        .send()
        .await
}

async fn email_verified(app: &TestApp, access_token: &str) -> bool {
    app.get("/api/v1/auth/me")
        .bearer(access_token)
        .send()
        .await
        .json()["email_verified"]
        .as_bool()
        .expect("email_verified")
}

async fn registration_mails_a_link_that_verifies_the_address_once(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let email = email_of(&session);
    assert!(!email_verified(&app, &session.access_token).await);

    let mail = sink.wait_for(&email, VERIFY, 1).await.remove(0);
    assert!(mail.text().contains(&email));
    let token = mail.token();
    assert!(
        mail.text()
            .contains(&format!("http://roster.test/verify-email?token={token}"))
    );
    assert_eq!(verify(&app, &token).await.status, StatusCode::NO_CONTENT);
    assert!(email_verified(&app, &session.access_token).await);
    let again = verify(&app, &token).await.problem(400);
    assert_eq!(again["type"], "urn:roster:problem:invalid-token");
    verify(&app, "").await.problem(400);
    assert_eq!(
        app.post("/api/v1/auth/verify-email")
            .json(json!({}))
            .send()
            .await
            .failing_fields(),
        ["token"]
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'email_verified' AND user_id IS NOT NULL")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM email_verification_tokens WHERE length(token_hash) = 32")
            .await,
        1
    );
}

async fn a_verification_token_expires_after_48_hours(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let email = email_of(&session);
    let token = sink.wait_for(&email, VERIFY, 1).await[0].token();
    app.clock.advance(chrono::Duration::hours(48));
    verify(&app, &token).await.problem(400);
    let session = app.login(&session.username, DEFAULT_PASSWORD).await;
    assert!(!email_verified(&app, &session.access_token).await);

    let response = app
        .post("/api/v1/auth/verify-email-request")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.text);
    let fresh = sink.wait_for(&email, VERIFY, 2).await[1].token();
    app.clock.advance(chrono::Duration::hours(47));
    // Verification needs no access token (this one has long expired).
    assert_eq!(verify(&app, &fresh).await.status, 204);
}

async fn asking_again_replaces_the_link_and_a_verified_address_gets_409(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let email = email_of(&session);
    let first = sink.wait_for(&email, VERIFY, 1).await[0].token();

    app.post("/api/v1/auth/verify-email-request")
        .send()
        .await
        .problem(401);
    let response = app
        .post("/api/v1/auth/verify-email-request")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.text);
    assert_eq!(response.json()["status"], "accepted");
    let second = sink.wait_for(&email, VERIFY, 2).await[1].token();
    assert_ne!(first, second);
    verify(&app, &first).await.problem(400);
    assert_eq!(verify(&app, &second).await.status, 204);

    let conflict = app
        .post("/api/v1/auth/verify-email-request")
        .bearer(&session.access_token)
        .send()
        .await
        .problem(409);
    assert!(
        conflict["detail"]
            .as_str()
            .unwrap()
            .contains("already verified")
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'email_verification_request'")
            .await,
        1
    );
}

async fn a_token_for_an_old_address_does_not_verify_a_new_one(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let old_email = email_of(&session);
    let new_email = format!("new-{old_email}");
    let old_token = sink.wait_for(&old_email, VERIFY, 1).await[0].token();

    // An administrator's change of the address applies at once, makes it unverified
    // and mails the new one.
    let admin = app.admin().await;
    let response = app
        .put(&format!("/api/v1/users/{}", session.user_id))
        .bearer(&admin.access_token)
        .json(json!({"email": new_email}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.json()["email_verified"], false);

    let new_token = sink.wait_for(&new_email, VERIFY, 1).await[0].token();
    verify(&app, &old_token).await.problem(400);
    assert!(!email_verified(&app, &session.access_token).await);
    assert_eq!(verify(&app, &new_token).await.status, 204);
    assert!(email_verified(&app, &session.access_token).await);

    // A token sent to this address stops working once the address changes again.
    let response = app
        .post("/api/v1/auth/password-reset-request")
        .json(json!({"email": new_email}))
        .send()
        .await;
    assert_eq!(response.status, 202);
    let reset_token = sink
        .wait_for(&new_email, crate::mail::support::RESET, 1)
        .await[0]
        .token();
    execute_with(
        &app,
        "UPDATE users SET email = 'third-' || email WHERE email = $1",
        &new_email,
    )
    .await;
    crate::mail::support::confirm_reset(&app, &reset_token, "Lantern-Orbit-51")
        .await
        .problem(400);
}

async fn verification_mails_per_address_are_limited_per_hour(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app_with(backend, &sink, &[("MAIL_PER_ADDRESS_PER_HOUR", "2")]).await;
    let session = app.user().await;
    let email = email_of(&session);
    let ask = |session: &Session| {
        app.post("/api/v1/auth/verify-email-request")
            .bearer(&session.access_token)
            .send()
    };
    assert_eq!(ask(&session).await.status, StatusCode::ACCEPTED);
    app.clock.advance(chrono::Duration::minutes(10));
    let limited = ask(&session).await;
    let body = limited.problem(429);
    assert!(body["detail"].as_str().unwrap().contains("verification"));
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((49 * 60..=50 * 60).contains(&retry_after), "{retry_after}");
    assert_eq!(sink.wait_for(&email, VERIFY, 2).await.len(), 2);
    app.clock.advance(chrono::Duration::minutes(51));
    let session = app.login(&session.username, DEFAULT_PASSWORD).await;
    assert_eq!(ask(&session).await.status, StatusCode::ACCEPTED);
    sink.wait_for(&email, VERIFY, 3).await;
}

async fn the_email_endpoints_are_documented(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doc = app.get("/openapi.json").send().await.json();
    for (path, statuses) in [
        (
            "/api/v1/auth/password-reset-request",
            &["202", "422", "429"][..],
        ),
        (
            "/api/v1/auth/password-reset-confirm",
            &["204", "400", "422"][..],
        ),
        (
            "/api/v1/auth/verify-email-request",
            &["202", "401", "409", "429"][..],
        ),
        ("/api/v1/auth/verify-email", &["204", "400", "422"][..]),
    ] {
        let operation = &doc["paths"][path]["post"];
        assert!(operation.is_object(), "{path} is not documented");
        for status in statuses {
            assert!(
                operation["responses"].get(*status).is_some(),
                "{path} does not document {status}"
            );
        }
    }
    assert!(
        doc["paths"]["/api/v1/auth/password-reset-request"]["post"]["description"]
            .as_str()
            .unwrap()
            .contains("whether or not")
    );
}
