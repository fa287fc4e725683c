//! The account page's details and deletion forms: an administrator changes another
//! account's username, email and full name as `PUT /api/v1/users/{id}` does (same
//! messages, same audit, both addresses mailed), and deletes an account as `DELETE
//! /api/v1/users/{id}` does, only when sure; the last administrator cannot delete
//! themselves; forged posts change nothing.

use super::{api_get, audited};
use crate::console::{signed_in, submit};
use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;

on_both_engines!(
    an_admin_changes_a_users_details_on_the_page_and_the_api_shows_them,
    an_admin_changes_their_own_email_on_the_page_only_with_their_password,
    a_taken_username_is_shown_on_the_field,
    deleting_a_user_needs_the_confirmation_and_kills_their_tokens,
    the_last_administrator_cannot_delete_themselves_on_the_page,
    posts_without_the_csrf_token_are_refused,
);

async fn an_admin_changes_a_users_details_on_the_page_and_the_api_shows_them(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &admin).await;
    let path = format!("/admin/users/{}", user.user_id);
    let action = format!("{path}/account");
    let page = browser.get(&path).await;
    assert!(page.text.contains("<h3>Account details</h3>"));
    assert!(
        page.text
            .contains(&format!("name=\"username\" value=\"{}\"", user.username))
    );

    // A username the API refuses: its message on the field, the input kept.
    let refused = submit(
        &mut browser,
        &page,
        &action,
        &[
            ("username", "x!"),
            ("email", "new@example.com"),
            ("full_name", ""),
        ],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("id=\"username-error\""));
    assert!(refused.text.contains("aria-describedby=\"username-error\""));
    assert!(refused.text.contains("value=\"x!\""));
    assert!(refused.text.contains("value=\"new@example.com\""));
    let api = app
        .put(&format!("/api/v1/users/{}", user.user_id))
        .bearer(&admin.access_token)
        .json(serde_json::json!({"username": "x!"}))
        .send()
        .await;
    assert_eq!(api.fields(422), vec!["username".to_owned()]);
    let seen = api_get(&app, &admin, &format!("/api/v1/users/{}", user.user_id)).await;
    assert_eq!(seen["username"], user.username.as_str());

    // Every field changed at once.
    let mails = app.count("SELECT COUNT(*) FROM mail_outbox").await;
    let saved = submit(
        &mut browser,
        &page,
        &action,
        &[
            ("username", "renamed_by_admin"),
            ("email", "renamed@example.com"),
            ("full_name", "Renamed Person"),
        ],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    assert_eq!(
        saved.header("location"),
        Some(format!("{path}?done=details-saved").as_str())
    );
    let shown = browser.follow(&saved).await;
    assert!(shown.text.contains("The account details were saved."));
    assert!(shown.text.contains("value=\"renamed_by_admin\""));
    let seen = api_get(&app, &admin, &format!("/api/v1/users/{}", user.user_id)).await;
    assert_eq!(seen["username"], "renamed_by_admin");
    assert_eq!(seen["email"], "renamed@example.com");
    assert_eq!(seen["full_name"], "Renamed Person");
    assert_eq!(seen["email_verified"], false);
    // As the API: the new address gets a verification link, the old one a notice.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM mail_outbox").await,
        mails + 2
    );
    let events = audited(&app, &admin, &user.user_id, "account_update").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor_id"], admin.user_id.as_str());
    assert_eq!(events[0]["detail"]["email_changed"], true);

    // Only what changed is sent: clearing the name alone leaves the rest.
    let page = browser.get(&path).await;
    let cleared = submit(
        &mut browser,
        &page,
        &action,
        &[
            ("username", "renamed_by_admin"),
            ("email", "renamed@example.com"),
            ("full_name", ""),
        ],
    )
    .await;
    assert_eq!(cleared.status, 303, "{}", cleared.text);
    let seen = api_get(&app, &admin, &format!("/api/v1/users/{}", user.user_id)).await;
    assert!(seen["full_name"].is_null());
    let events = audited(&app, &admin, &user.user_id, "account_update").await;
    assert_eq!(
        events[0]["detail"]["fields"],
        serde_json::json!(["full_name"])
    );
}

async fn a_taken_username_is_shown_on_the_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let other = app.user().await;
    let mut browser = signed_in(&app, &admin).await;
    let path = format!("/admin/users/{}", user.user_id);
    let page = browser.get(&path).await;
    let before = api_get(&app, &admin, &format!("/api/v1/users/{}", user.user_id)).await;
    let email = before["email"].as_str().unwrap().to_owned();
    let taken_name = other.username.to_uppercase();
    let refused = submit(
        &mut browser,
        &page,
        &format!("{path}/account"),
        &[
            ("username", taken_name.as_str()),
            ("email", email.as_str()),
            ("full_name", "Kept Name"),
        ],
    )
    .await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(refused.text.contains(
        "<p id=\"username-error\" class=\"field-error\">This username is already taken.</p>"
    ));
    assert!(refused.text.contains(&format!("value=\"{taken_name}\"")));
    assert!(refused.text.contains("value=\"Kept Name\""));
    let seen = api_get(&app, &admin, &format!("/api/v1/users/{}", user.user_id)).await;
    assert_eq!(seen["username"], user.username.as_str());
    assert_eq!(seen["full_name"], before["full_name"]);

    // A taken email, the same way.
    let other_email = api_get(&app, &other, "/api/v1/users/me").await["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = submit(
        &mut browser,
        &page,
        &format!("{path}/account"),
        &[
            ("username", user.username.as_str()),
            ("email", other_email.as_str()),
            ("full_name", "Kept Name"),
        ],
    )
    .await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(refused.text.contains("id=\"email-error\""));
    assert!(
        audited(&app, &admin, &user.user_id, "account_update")
            .await
            .is_empty()
    );
}

async fn deleting_a_user_needs_the_confirmation_and_kills_their_tokens(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &admin).await;
    let path = format!("/admin/users/{}", user.user_id);
    let page = browser.get(&path).await;
    assert!(page.text.contains("<h3>Delete the account</h3>"));
    let delete = format!("{path}/delete");

    let unsure = submit(&mut browser, &page, &delete, &[]).await;
    assert_eq!(unsure.status, 422, "{}", unsure.text);
    assert!(unsure.text.contains("id=\"delete_confirm-error\""));
    assert_eq!(
        app.get("/api/v1/users/me")
            .bearer(&user.access_token)
            .send()
            .await
            .status,
        200
    );

    let deleted = submit(&mut browser, &page, &delete, &[("confirm", "yes")]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.text);
    assert_eq!(
        deleted.header("location"),
        Some("/admin/users?done=account-deleted")
    );
    let users = browser.follow(&deleted).await;
    assert!(users.text.contains("The account was deleted"));
    assert!(!users.text.contains(&user.username));
    // Its tokens stop at once; the API no longer knows it.
    let me = app
        .get("/api/v1/users/me")
        .bearer(&user.access_token)
        .send()
        .await;
    assert_eq!(me.status, 401);
    let gone = app
        .get(&format!("/api/v1/users/{}", user.user_id))
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(gone.status, 404);
    let events = audited(&app, &admin, &user.user_id, "user_deleted").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor_id"], admin.user_id.as_str());
    assert_eq!(events[0]["detail"]["by"], "admin");
    // Deleting it again: there is no such account.
    assert_eq!(
        submit(&mut browser, &page, &delete, &[("confirm", "yes")])
            .await
            .status,
        404
    );
}

async fn the_last_administrator_cannot_delete_themselves_on_the_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await;
    let path = format!("/admin/users/{}", admin.user_id);
    let page = browser.get(&path).await;
    // One's own account asks for the password, as the API does.
    assert!(page.text.contains("id=\"delete_password\""));
    let delete = format!("{path}/delete");
    let wrong = submit(
        &mut browser,
        &page,
        &delete,
        &[("confirm", "yes"), ("password", "not the password")],
    )
    .await;
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    assert!(wrong.text.contains("id=\"delete_password-error\""));
    let refused = submit(
        &mut browser,
        &page,
        &delete,
        &[("confirm", "yes"), ("password", admin.password.as_str())],
    )
    .await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(refused.text.contains("last active administrator"));
    assert_eq!(
        api_get(&app, &admin, "/api/v1/users/me").await["role"],
        "admin"
    );
    assert!(
        audited(&app, &admin, &admin.user_id, "user_deleted")
            .await
            .is_empty()
    );
}

async fn posts_without_the_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &admin).await;
    let path = format!("/admin/users/{}", user.user_id);
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("{path}/account"),
            vec![
                ("username", "forged_name"),
                ("email", "forged@example.com"),
                ("full_name", "Forged"),
            ],
        ),
        (format!("{path}/delete"), vec![("confirm", "yes")]),
    ];
    for (action, fields) in &posts {
        for token in [None, Some("forged")] {
            let mut form = fields.clone();
            if let Some(token) = token {
                form.push(("csrf_token", token));
            }
            let response = browser.post(action, &form).await;
            assert_eq!(
                response.status, 403,
                "{action} {token:?}: {}",
                response.text
            );
        }
    }
    let seen = api_get(&app, &user, "/api/v1/users/me").await;
    assert_eq!(seen["username"], user.username.as_str());
    assert_ne!(seen["email"], "forged@example.com");
    assert!(
        audited(&app, &admin, &user.user_id, "account_update")
            .await
            .is_empty()
    );
}

/// On their own account page an administrator is that user: changing the email needs
/// their password and leaves it pending until confirmed, as `PUT /api/v1/users/me` does.
async fn an_admin_changes_their_own_email_on_the_page_only_with_their_password(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &admin).await;
    let others = browser.get(&format!("/admin/users/{}", user.user_id)).await;
    assert!(!others.text.contains("name=\"current_password\""));
    let path = format!("/admin/users/{}", admin.user_id);
    let action = format!("{path}/account");
    let page = browser.get(&path).await;
    assert!(
        page.text.contains("name=\"current_password\""),
        "{}",
        page.text
    );
    let before = api_get(&app, &admin, "/api/v1/users/me").await;
    let mails = app.count("SELECT COUNT(*) FROM mail_outbox").await;
    let details = |password: &'static str| {
        [
            ("username", before["username"].as_str().unwrap().to_owned()),
            ("email", "moved-admin@example.com".to_owned()),
            ("full_name", String::new()),
            ("current_password", password.to_owned()),
        ]
    };

    for (password, status) in [("", 422), ("not the password", 400)] {
        let fields = details(password);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = submit(&mut browser, &page, &action, &fields).await;
        assert_eq!(refused.status, status, "{password:?}: {}", refused.text);
        assert!(
            refused.text.contains("id=\"current_password-error\""),
            "{password:?}: {}",
            refused.text
        );
        assert!(refused.text.contains("value=\"moved-admin@example.com\""));
        let seen = api_get(&app, &admin, "/api/v1/users/me").await;
        assert_eq!(seen["email"], before["email"]);
        assert!(seen["pending_email"].is_null(), "{seen}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM mail_outbox").await, mails);

    let fields = details(DEFAULT_PASSWORD);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = submit(&mut browser, &page, &action, &fields).await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    assert_eq!(
        saved.header("location"),
        Some(format!("{path}?done=details-saved").as_str())
    );
    // Pending until confirmed through the link mailed to the new address; the old one
    // is told, as for a change on /account.
    let seen = api_get(&app, &admin, "/api/v1/users/me").await;
    assert_eq!(seen["email"], before["email"]);
    assert_eq!(seen["pending_email"], "moved-admin@example.com");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM mail_outbox").await,
        mails + 2
    );
}
