//! The audit log page: filtered by account and event, paged like the API; each event in
//! words, the people by username with a link to their page, the detail as fields.

use serde_json::json;

use super::{api_get, next_link};
use crate::console::signed_in;
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(
    the_audit_page_filters_by_user_and_event,
    the_audit_page_names_events_in_words_and_people_by_username,
);

/// The words the page shows for the events a new account records.
fn words(event: &str) -> &'static str {
    match event {
        "login_success" => "Signed in",
        "register" => "Registered",
        other => panic!("no words known for {other}"),
    }
}

/// The cell of the event column saying `what`.
fn event_cell(what: &str) -> String {
    format!("data-label=\"Event\">{what}</td>")
}

async fn the_audit_page_filters_by_user_and_event(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let other = app.user().await;
    let mut browser = signed_in(&app, &admin).await;

    let page = browser
        .get(&format!(
            "/admin/audit?user_id={}&event=login_success",
            user.user_id
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    let api = api_get(
        &app,
        &admin,
        &format!(
            "/api/v1/admin/audit?user_id={}&event=login_success",
            user.user_id
        ),
    )
    .await;
    let count = api["items"].as_array().unwrap().len();
    assert_eq!(count, 1);
    assert_eq!(page.text.matches(&event_cell("Signed in")).count(), count);
    assert!(page.text.contains(&user.username));
    assert!(!page.text.contains(&other.username));
    assert!(
        page.text
            .contains("<option value=\"login_success\" selected>Signed in</option>")
    );

    // Pages of one, newest first, the filters kept in the next link.
    let first = browser
        .get(&format!("/admin/audit?user_id={}&limit=1", user.user_id))
        .await;
    let next = next_link(&first).expect("a next page");
    assert!(
        next.starts_with(&format!(
            "/admin/audit?user_id={}&limit=1&cursor=",
            user.user_id
        )),
        "{next}"
    );
    let newest = api_get(
        &app,
        &admin,
        &format!("/api/v1/admin/audit?user_id={}&limit=2", user.user_id),
    )
    .await;
    let said = |i: usize| event_cell(words(newest["items"][i]["event"].as_str().unwrap()));
    assert!(first.text.contains(&said(0)));
    assert!(!first.text.contains(&said(1)));
    let second = browser.get(&next).await;
    assert_eq!(second.status, 200);
    assert!(second.text.contains(&said(1)));

    let bad = browser.get("/admin/audit?user_id=nobody").await;
    assert_eq!(bad.status, 422);
    assert!(bad.text.contains("id=\"user_id-error\""));
    assert!(bad.text.contains("value=\"nobody\""));
}

async fn the_audit_page_names_events_in_words_and_people_by_username(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let changed = app
        .patch(&format!("/api/v1/admin/users/{}", user.user_id))
        .bearer(&admin.access_token)
        .json(json!({"role": "admin"}))
        .send()
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let mut browser = signed_in(&app, &admin).await;

    let page = browser.get("/admin/audit?event=role_change").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains(&event_cell("Role changed")));
    // By whom and whose: usernames, each a link to the account's page.
    for person in [&admin, &user] {
        let link = format!(
            "<a href=\"/admin/users/{}\">{}</a>",
            person.user_id, person.username
        );
        assert!(page.text.contains(&link), "no link to {}", person.username);
        assert!(!page.text.contains(&format!(">{}<", person.user_id)));
    }
    // The detail as labelled fields, never the JSON; no raw event name shown.
    assert!(
        page.text
            .contains("<dt>From</dt><dd>user</dd><dt>To</dt><dd>admin</dd>")
    );
    assert!(!page.text.contains("{&quot;"));
    assert!(!page.text.contains(">role_change<"));

    // Filtered by an account: named by its username.
    let theirs = browser
        .get(&format!("/admin/audit?user_id={}", user.user_id))
        .await;
    assert!(theirs.text.contains(&format!(
        "The events of <a href=\"/admin/users/{}\">{}</a>",
        user.user_id, user.username
    )));
    // Their own sign-in was by the account itself.
    assert!(theirs.text.contains("the account itself"));
}
