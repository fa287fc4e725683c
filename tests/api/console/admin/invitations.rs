//! Inviting someone from `/admin/users/new` and mailing an account a reset link from its
//! page: the same functions as `POST /api/v1/admin/users` and `.../password-reset`, so
//! the same checks, audit entries and mails; refusals beside their fields or as the
//! account page's problem.

use crate::helpers::{Backend, TestApp};
use crate::mail::smtp_sink::{Mode, SmtpSink};
use crate::mail::support::{RESET, mail_app};
use crate::on_both_engines;

use super::super::{signed_in, submit};
use super::unescape;

on_both_engines!(
    an_administrator_invites_someone_from_the_users_page,
    an_invitation_refused_says_why_beside_the_field_and_makes_nothing,
    an_administrator_mails_an_account_a_reset_link_from_its_page,
);

const INVITED: &str = "You are invited to Roster";

async fn an_administrator_invites_someone_from_the_users_page(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await;
    let users = browser.get("/admin/users").await;
    assert!(
        users.text.contains("href=\"/admin/users/new\""),
        "{}",
        users.text
    );
    let form = browser.get("/admin/users/new").await;
    let sent = submit(
        &mut browser,
        &form,
        "/admin/users/new",
        &[
            ("username", "ivy"),
            ("email", "Ivy@Example.com"),
            ("full_name", "Ivy Invited"),
            ("role", "user"),
        ],
    )
    .await;
    assert_eq!(sent.status, 303, "{}", sent.text);
    let location = unescape(sent.header("location").unwrap());
    assert!(location.ends_with("?done=invitation-sent"), "{location}");
    let page = browser.get(&location).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("invitation mailed to ivy@example.com"),
        "{}",
        page.text
    );
    let mails = sink.wait_for("ivy@example.com", INVITED, 1).await;
    assert!(!mails.last().unwrap().token().is_empty());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE username = 'ivy' AND full_name = 'Ivy Invited' AND NOT email_verified").await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'user_invited'")
            .await,
        1
    );
}

async fn an_invitation_refused_says_why_beside_the_field_and_makes_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await;
    let form = browser.get("/admin/users/new").await;
    let taken = submit(
        &mut browser,
        &form,
        "/admin/users/new",
        &[
            ("username", admin.username.as_str()),
            ("email", "new@example.com"),
            ("role", "user"),
        ],
    )
    .await;
    assert_eq!(taken.status, 409, "{}", taken.text);
    assert!(
        taken.text.contains("id=\"username-error\""),
        "{}",
        taken.text
    );
    assert!(
        taken.text.contains("new@example.com"),
        "the form keeps what was typed"
    );
    let bad = submit(
        &mut browser,
        &form,
        "/admin/users/new",
        &[
            ("username", "x"),
            ("email", "not an address"),
            ("role", "owner"),
        ],
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(bad.text.contains("id=\"role-error\""), "{}", bad.text);
    let bad = submit(
        &mut browser,
        &form,
        "/admin/users/new",
        &[
            ("username", "x"),
            ("email", "not an address"),
            ("role", "user"),
        ],
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    for field in ["username", "email"] {
        assert!(
            bad.text.contains(&format!("id=\"{field}-error\"")),
            "{field}: {}",
            bad.text
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
    // Someone who is not an administrator invites nobody.
    let user = app.user().await;
    let mut other = signed_in(&app, &user).await;
    let own = other.get("/account").await;
    let refused = submit(
        &mut other,
        &own,
        "/admin/users/new",
        &[("username", "sneaky"), ("email", "sneaky@example.com")],
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE username = 'sneaky'")
            .await,
        0
    );
}

async fn an_administrator_mails_an_account_a_reset_link_from_its_page(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &admin).await;
    let path = format!("/admin/users/{}", user.user_id);
    let page = browser.get(&path).await;
    let action = format!("{path}/password-reset");
    let sent = submit(&mut browser, &page, &action, &[]).await;
    assert_eq!(sent.status, 303, "{}", sent.text);
    let location = unescape(sent.header("location").unwrap());
    assert_eq!(location, format!("{path}?done=reset-sent"));
    let shown = browser.get(&location).await;
    assert!(
        shown.text.contains("password reset link is on its way"),
        "{}",
        shown.text
    );
    let email = format!("{}@example.com", user.username);
    sink.wait_for(&email, RESET, 1).await;
    // A deactivated account gets none, and the page says why.
    let deactivated = app
        .patch(&format!("/api/v1/admin/users/{}", user.user_id))
        .bearer(&admin.access_token)
        .json(serde_json::json!({"is_active": false}))
        .send()
        .await;
    assert_eq!(deactivated.status, 200, "{}", deactivated.text);
    let page = browser.get(&path).await;
    let refused = submit(&mut browser, &page, &action, &[]).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(refused.text.contains("deactivated"), "{}", refused.text);
}
