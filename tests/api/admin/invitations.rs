//! Accounts an administrator makes (`POST /api/v1/admin/users`): no password until the
//! owner sets one through the mailed invitation link (a page, or the JSON endpoint);
//! the link works once and for 7 days. And the reset mail an administrator sends
//! (`POST /api/v1/admin/users/{user_id}/password-reset`).

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, DEFAULT_PASSWORD, Session, TestApp, TestResponse};
use crate::mail::link_pages::{assert_page, form_credentials, post_form};
use crate::mail::smtp_sink::{Mode, SmtpSink};
use crate::mail::support::{PUBLIC_URL, RESET, confirm_reset, mail_app, mail_app_with};
use crate::on_both_engines;
use crate::users::support::get_ok;

const INVITED: &str = "You are invited to Roster";
const NEW_PASSWORD: &str = "Lantern-Orbit-51";

on_both_engines!(
    an_invitation_link_sets_the_first_password_on_a_page,
    an_invitation_link_works_once_and_for_seven_days,
    inviting_validates_like_registration_and_is_for_admins,
    admins_send_the_reset_mail,
);

async fn invite(app: &TestApp, admin: &Session, body: Value) -> TestResponse {
    app.post("/api/v1/admin/users")
        .bearer(&admin.access_token)
        .json(body)
        .send()
        .await
}

/// Invites `username` (address `username@example.com`) and answers the mailed token.
async fn invited_token(app: &TestApp, sink: &SmtpSink, admin: &Session, username: &str) -> String {
    let email = format!("{username}@example.com");
    let response = invite(app, admin, json!({"username": username, "email": email})).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let mails = sink.wait_for(&email, INVITED, 1).await;
    mails.last().unwrap().token()
}

async fn accept(app: &TestApp, token: &str, password: &str) -> TestResponse {
    app.post("/api/v1/auth/accept-invitation")
        .json(json!({"token": token, "new_password": password}))
        .send()
        .await
}

async fn login_status(app: &TestApp, login: &str, password: &str) -> StatusCode {
    app.post("/api/v1/auth/login")
        .json(json!({"login": login, "password": password}))
        .send()
        .await
        .status
}

async fn an_invitation_link_sets_the_first_password_on_a_page(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let admin = app.admin().await;
    let response = invite(
        &app,
        &admin,
        json!({"username": "ivy", "email": "Ivy@Example.com", "full_name": "Ivy Invited"}),
    )
    .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let user = response.json();
    assert_eq!(user["email"], "ivy@example.com");
    assert_eq!(user["role"], "user");
    assert_eq!(user["full_name"], "Ivy Invited");
    assert_eq!(user["email_verified"], false);
    let id = user["id"].as_str().unwrap();
    assert_eq!(
        response.header("location"),
        Some(format!("/api/v1/users/{id}").as_str())
    );
    // No password signs in to it yet.
    assert_eq!(
        login_status(&app, "ivy", DEFAULT_PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );

    let mail = sink.wait_for("ivy@example.com", INVITED, 1).await.remove(0);
    let token = mail.token();
    assert_eq!(token.len(), 43, "256 bits in base64url");
    let link = format!("{PUBLIC_URL}/accept-invitation?token={token}");
    assert!(mail.text().contains(&link) && mail.text().contains("7 days"));
    assert!(mail.html().contains(&format!("href=\"{link}\"")));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM invitation_tokens WHERE used_at IS NULL")
            .await,
        1,
        "stored (as a hash) until used"
    );

    let path = format!("/accept-invitation?token={token}");
    let form = app.get(&path).send().await;
    assert_page(&form, 200);
    assert!(form.text.contains("ivy"), "{}", form.text);
    let (csrf, cookie) = form_credentials(&form);
    let post = |password: &'static str| {
        let fields = [
            ("token", token.as_str()),
            ("csrf_token", csrf.as_str()),
            ("new_password", password),
            ("confirm_password", password),
        ];
        post_form(&app, "/accept-invitation", Some(&cookie), &fields).send()
    };
    // The policy applies, on the form; the link still works after.
    let weak = post("password").await;
    assert_page(&weak, 422);
    assert!(weak.text.contains("role=\"alert\""), "{}", weak.text);
    let done = post(NEW_PASSWORD).await;
    assert_page(&done, 200);
    assert!(done.text.contains("Your password is set"), "{}", done.text);
    assert!(done.text.contains("href=\"/account\""), "{}", done.text);

    let session = app.login("ivy@example.com", NEW_PASSWORD).await;
    let me = get_ok(&app, "/api/v1/auth/me", &session.access_token).await;
    assert_eq!(
        me["email_verified"], true,
        "the link came from that mailbox"
    );
    // Used: the page and the endpoint say so.
    let again = app.get(&path).send().await;
    assert_page(&again, 400);
    assert!(
        again
            .text
            .contains("invalid, was already used or has expired")
    );
    assert_eq!(
        accept(&app, &token, "Another-Pass-77").await.status,
        StatusCode::BAD_REQUEST
    );

    let audit = get_ok(
        &app,
        &format!("/api/v1/admin/audit?user_id={id}"),
        &admin.access_token,
    )
    .await;
    let events: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap(),
                e["actor_id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        events.contains(&("user_invited", admin.user_id.as_str())),
        "{events:?}"
    );
    assert!(events.contains(&("invitation_accepted", id)), "{events:?}");
    assert!(
        !audit.to_string().contains(&token),
        "no token in the audit trail"
    );
}

async fn an_invitation_link_works_once_and_for_seven_days(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let admin = app.admin().await;

    let early = invited_token(&app, &sink, &admin, "early").await;
    app.clock
        .advance(chrono::Duration::days(7) - chrono::Duration::minutes(1));
    let response = accept(&app, &early, NEW_PASSWORD).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT, "{}", response.text);
    app.login("early", NEW_PASSWORD).await;
    assert_eq!(
        accept(&app, &early, "Another-Pass-77").await.status,
        StatusCode::BAD_REQUEST,
        "single use"
    );

    // A week later the administrator signs in again (access tokens last minutes).
    let admin = app.login(&admin.username, DEFAULT_PASSWORD).await;
    let late = invited_token(&app, &sink, &admin, "late").await;
    app.clock
        .advance(chrono::Duration::days(7) + chrono::Duration::seconds(1));
    let page = app
        .get(&format!("/accept-invitation?token={late}"))
        .send()
        .await;
    assert_page(&page, 400);
    assert!(
        page.text.contains("ask for a password reset email"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("href=\"/account/forgot-password\">Send a password reset email</a>"),
        "{}",
        page.text
    );
    let response = accept(&app, &late, NEW_PASSWORD).await;
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{}",
        response.text
    );
    assert_eq!(
        login_status(&app, "late", NEW_PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
}

async fn inviting_validates_like_registration_and_is_for_admins(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    for (body, status, field) in [
        (
            json!({"username": user.username.to_uppercase(), "email": "new@example.com"}),
            409,
            "username",
        ),
        (
            json!({"username": "newcomer", "email": format!("{}@EXAMPLE.com", user.username)}),
            409,
            "email",
        ),
        (
            json!({"username": "x", "email": "new@example.com"}),
            422,
            "username",
        ),
        (
            json!({"username": "newcomer", "email": "not-an-address"}),
            422,
            "email",
        ),
        (
            json!({"username": "newcomer", "email": "new@example.com", "role": "root"}),
            422,
            "role",
        ),
        (
            json!({"username": "newcomer", "email": "new@example.com", "password": "Secret-1234"}),
            422,
            "password",
        ),
    ] {
        let response = invite(&app, &admin, body.clone()).await;
        assert_eq!(
            response.status.as_u16(),
            status,
            "{body}: {}",
            response.text
        );
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json")
        );
        assert!(
            response.text.contains(&format!("\"{field}\"")),
            "{body}: {}",
            response.text
        );
    }
    let body = json!({"username": "newcomer", "email": "new@example.com"});
    assert_eq!(
        invite(&app, &user, body.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    let anonymous = app
        .post("/api/v1/admin/users")
        .json(body.clone())
        .send()
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE username = 'newcomer'")
            .await,
        0
    );
    // An administrator may invite an administrator.
    let response = invite(
        &app,
        &admin,
        json!({"username": "newcomer", "email": "new@example.com", "role": "admin"}),
    )
    .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    assert_eq!(response.json()["role"], "admin");
}

async fn admins_send_the_reset_mail(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app_with(backend, &sink, &[("MAIL_PER_ADDRESS_PER_HOUR", "1")]).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let email = format!("{}@example.com", user.username);
    let path = |id: &str| format!("/api/v1/admin/users/{id}/password-reset");
    let send = |who: &Session, id: String| app.post(&path(&id)).bearer(&who.access_token).send();

    assert_eq!(
        send(&user, user.user_id.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(send(&admin, unknown).await.status, StatusCode::NOT_FOUND);
    let response = send(&admin, user.user_id.clone()).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.text);
    let token = sink.wait_for(&email, RESET, 1).await[0].token();
    // The per-address limit applies, and the administrator is told.
    let over = send(&admin, user.user_id.clone()).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.text);
    assert!(over.header("retry-after").is_some());

    let response = confirm_reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT, "{}", response.text);
    app.login(&user.username, NEW_PASSWORD).await;

    // An invited account that lost its invitation gets a password the same way.
    let invited = invite(
        &app,
        &admin,
        json!({"username": "lost", "email": "lost@example.com"}),
    )
    .await;
    let id = invited.json()["id"].as_str().unwrap().to_owned();
    let response = send(&admin, id).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.text);
    let token = sink.wait_for("lost@example.com", RESET, 1).await[0].token();
    let response = confirm_reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT, "{}", response.text);
    app.login("lost", NEW_PASSWORD).await;
}
