//! A stolen access token must not move an account to another mailbox: the owner's email
//! change needs the password, waits for the new address to confirm it, and the old
//! address can cancel it (or undo it) for 7 days. Administrators' changes apply at once
//! and both addresses hear of them.

use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, Session, TestApp, TestResponse};
use crate::mail::smtp_sink::{Mode, SmtpSink};
use crate::mail::support::{VERIFY, email_of, mail_app, request_reset, wait_for_count};
use crate::on_both_engines;
use crate::users::support::get_ok;

on_both_engines!(
    a_stolen_token_alone_cannot_move_the_account_to_another_mailbox,
    the_old_address_cancels_a_pending_change_and_undoes_a_confirmed_one,
    asking_for_the_current_address_withdraws_a_pending_change,
    an_administrators_email_change_is_audited_and_told_to_both_addresses,
);

const CONFIRM_CHANGE: &str = "Confirm your new email address";
const CHANGE_NOTICE: &str = "Your Roster address is being changed";
const CHANGED_BY_ADMIN: &str = "Your Roster address was changed";

async fn change_email(app: &TestApp, session: &Session, body: serde_json::Value) -> TestResponse {
    app.patch("/api/v1/users/me")
        .bearer(&session.access_token)
        .json(body)
        .send()
        .await
}

async fn confirm(app: &TestApp, token: &str) -> TestResponse {
    app.post("/api/v1/auth/email-change-confirm")
        .json(json!({"token": token}))
        .send()
        .await
}

async fn cancel(app: &TestApp, token: &str) -> TestResponse {
    app.post("/api/v1/auth/email-change-cancel")
        .json(json!({"token": token}))
        .send()
        .await
}

async fn a_stolen_token_alone_cannot_move_the_account_to_another_mailbox(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let victim = app.user().await;
    let old = email_of(&victim);
    let attacker = "attacker@evil.example";

    // The finding: the token alone changed the address.
    let response = change_email(&app, &victim, json!({"email": attacker})).await;
    assert_eq!(response.failing_fields(), ["current_password"]);
    let wrong = change_email(
        &app,
        &victim,
        json!({"email": attacker, "current_password": "Wrong-Guess-1"}),
    )
    .await;
    assert_eq!(wrong.problem(400)["errors"][0]["field"], "current_password");

    // With the password too, the change waits for the new mailbox.
    let pending = change_email(
        &app,
        &victim,
        json!({"email": attacker, "current_password": DEFAULT_PASSWORD}),
    )
    .await;
    assert_eq!(pending.status, 200, "{}", pending.text);
    let user = pending.json();
    assert_eq!(user["email"], old.as_str());
    assert_eq!(user["pending_email"], attacker);

    // Meanwhile the pending address is nobody's: no login, no reset mail.
    app.post("/api/v1/auth/login")
        .json(json!({"login": attacker, "password": DEFAULT_PASSWORD}))
        .send()
        .await
        .problem(401);
    assert_eq!(request_reset(&app, attacker).await.status, 202);
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'password_reset' AND failed_at IS NOT NULL",
        1,
    )
    .await;
    app.login(&old, DEFAULT_PASSWORD).await;

    // The old address is told, with a link that cancels the change.
    let notice = &sink.wait_for(&old, CHANGE_NOTICE, 1).await[0];
    assert!(notice.text().contains(attacker), "{}", notice.text());
    assert!(
        notice
            .links()
            .iter()
            .any(|l| l.starts_with("http://roster.test/cancel-email-change?token=")),
        "{:?}",
        notice.links()
    );

    // Only the new mailbox's link moves the account, once.
    let token = sink.wait_for(attacker, CONFIRM_CHANGE, 1).await[0].token();
    assert_eq!(confirm(&app, &token).await.status, 204);
    let me = get_ok(&app, "/api/v1/users/me", &victim.access_token).await;
    assert_eq!(me["email"], attacker);
    assert_eq!(me["pending_email"], serde_json::Value::Null);
    assert_eq!(me["email_verified"], true);
    confirm(&app, &token).await.problem(400);
    for event in [
        "email_change_request",
        "email_change_confirm",
        "password_confirmation_failure",
    ] {
        assert_eq!(
            crate::mail::support::count_with(
                &app,
                "SELECT COUNT(*) FROM audit_events WHERE event = $1",
                event
            )
            .await,
            1,
            "{event}"
        );
    }
}

async fn the_old_address_cancels_a_pending_change_and_undoes_a_confirmed_one(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let owner = app.user().await;
    let old = email_of(&owner);
    let body = |email: &str| json!({"email": email, "current_password": DEFAULT_PASSWORD});

    // A pending change, cancelled: the confirmation link stops working.
    assert_eq!(
        change_email(&app, &owner, body("first@elsewhere.example"))
            .await
            .status,
        200
    );
    let cancel_first = sink.wait_for(&old, CHANGE_NOTICE, 1).await[0].token();
    let confirm_first = sink
        .wait_for("first@elsewhere.example", CONFIRM_CHANGE, 1)
        .await[0]
        .token();
    assert_eq!(cancel(&app, &cancel_first).await.status, 204);
    let me = get_ok(&app, "/api/v1/users/me", &owner.access_token).await;
    assert_eq!(me["email"], old.as_str());
    assert_eq!(me["pending_email"], serde_json::Value::Null);
    confirm(&app, &confirm_first).await.problem(400);
    cancel(&app, &cancel_first).await.problem(400);

    // A change already confirmed, undone from the old address: the account gets it back
    // and every session dies (whoever changed it knew the password).
    assert_eq!(
        change_email(&app, &owner, body("second@elsewhere.example"))
            .await
            .status,
        200
    );
    let cancel_second = sink.wait_for(&old, CHANGE_NOTICE, 2).await[1].token();
    let confirm_second = sink
        .wait_for("second@elsewhere.example", CONFIRM_CHANGE, 1)
        .await[0]
        .token();
    assert_eq!(confirm(&app, &confirm_second).await.status, 204);
    let other_device = app
        .login("second@elsewhere.example", DEFAULT_PASSWORD)
        .await;
    assert_eq!(cancel(&app, &cancel_second).await.status, 204);
    for session in [&owner, &other_device] {
        app.get("/api/v1/users/me")
            .bearer(&session.access_token)
            .send()
            .await
            .problem(401);
    }
    let back = app.login(&old, DEFAULT_PASSWORD).await;
    let me = get_ok(&app, "/api/v1/users/me", &back.access_token).await;
    assert_eq!(me["email"], old.as_str());
    assert_eq!(me["email_verified"], true);
    app.post("/api/v1/auth/login")
        .json(json!({"login": "second@elsewhere.example", "password": DEFAULT_PASSWORD}))
        .send()
        .await
        .problem(401);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'email_change_cancel'")
            .await,
        2
    );
}

async fn asking_for_the_current_address_withdraws_a_pending_change(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let old = email_of(&owner);
    let pending = change_email(
        &app,
        &owner,
        json!({"email": "later@elsewhere.example", "current_password": DEFAULT_PASSWORD}),
    )
    .await;
    assert_eq!(pending.json()["pending_email"], "later@elsewhere.example");
    // Going back to the current address needs no password: it changes nothing.
    let withdrawn = change_email(&app, &owner, json!({"email": old.to_uppercase()})).await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    assert_eq!(withdrawn.json()["pending_email"], serde_json::Value::Null);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM email_change_tokens WHERE purpose = 'confirm'")
            .await,
        0
    );
}

async fn an_administrators_email_change_is_audited_and_told_to_both_addresses(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let member = app.user().await;
    let old = email_of(&member);
    let admin = app.admin().await;
    let changed = app
        .put(&format!("/api/v1/users/{}", member.user_id))
        .bearer(&admin.access_token)
        .json(json!({"email": "Moved@Elsewhere.example"}))
        .send()
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json()["email"], "moved@elsewhere.example");
    assert_eq!(changed.json()["email_verified"], false);
    let notice = &sink.wait_for(&old, CHANGED_BY_ADMIN, 1).await[0];
    assert!(
        notice.text().contains("moved@elsewhere.example"),
        "{}",
        notice.text()
    );
    sink.wait_for("moved@elsewhere.example", VERIFY, 1).await;
    let audit = get_ok(
        &app,
        &format!(
            "/api/v1/admin/audit?user_id={}&event=email_change_by_admin",
            member.user_id
        ),
        &admin.access_token,
    )
    .await;
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(items[0]["actor_id"], admin.user_id.as_str());
}
