//! The audit log page: filtered by account and event, paged like the API.

use super::{api_get, next_link};
use crate::console::signed_in;
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(the_audit_page_filters_by_user_and_event);

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
    assert_eq!(page.text.matches("<td>login_success</td>").count(), count);
    assert!(page.text.contains(&user.user_id));
    assert!(!page.text.contains(&other.user_id));
    assert!(
        page.text
            .contains("<option selected>login_success</option>")
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
    assert!(first.text.contains(&format!(
        "<td>{}</td>",
        newest["items"][0]["event"].as_str().unwrap()
    )));
    let second = browser.get(&next).await;
    assert_eq!(second.status, 200);
    assert!(second.text.contains(&format!(
        "<td>{}</td>",
        newest["items"][1]["event"].as_str().unwrap()
    )));

    let bad = browser.get("/admin/audit?user_id=nobody").await;
    assert_eq!(bad.status, 422);
    assert!(bad.text.contains("id=\"user_id-error\""));
    assert!(bad.text.contains("value=\"nobody\""));
}
