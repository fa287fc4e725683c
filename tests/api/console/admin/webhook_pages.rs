//! What the webhook pages' tests share: webhooks made on the page or through the API, an
//! administrator's browser on a webhook's page, a form posted and its notice followed,
//! what a page shows, the webhook audit trail.

use serde_json::Value;

use super::unescape;
use crate::console::{signed_in, submit};
use crate::helpers::{Session, TestApp, TestResponse};
use crate::oidc::Browser;

pub(super) const PUBLIC_TARGET: &str = "https://93.184.216.34/hooks/roster";

/// Makes a webhook with the form of the list page; the answer page.
pub(super) async fn make_on_page(
    browser: &mut Browser<'_>,
    fields: &[(&str, &str)],
) -> TestResponse {
    let page = browser.get("/admin/webhooks").await;
    submit(browser, &page, "/admin/webhooks", fields).await
}

/// The text of the element with id `id` (a `<code>`), as the browser reads it.
pub(super) fn code_text(page: &TestResponse, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let start = page.text.find(&marker)?;
    let start = page.text[start..].find('>')? + start + 1;
    let end = page.text[start..].find("</code>")? + start;
    Some(unescape(&page.text[start..end]))
}

/// Whether `text` is anywhere on `page`, as written or HTML-escaped.
pub(super) fn shows(page: &TestResponse, text: &str) -> bool {
    page.text.contains(text) || page.text.contains(&text.replace('/', "&#x2f;"))
}

/// A webhook made through the API; its id.
pub(super) async fn made_by_api(app: &TestApp, token: &str, body: Value) -> String {
    let made = app
        .post("/api/v1/admin/webhooks")
        .bearer(token)
        .json(body)
        .send()
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    made.json()["id"].as_str().unwrap().to_owned()
}

/// An administrator's browser on the page of a webhook made through the API.
pub(super) struct OnItsPage<'a> {
    pub id: String,
    /// `/admin/webhooks/{id}`.
    pub path: String,
    pub browser: Browser<'a>,
    pub page: TestResponse,
}

/// Makes a webhook of `body` through the API as `admin`, and opens its page signed in as
/// them.
pub(super) async fn open_made_by_api<'a>(
    app: &'a TestApp,
    admin: &Session,
    body: Value,
) -> OnItsPage<'a> {
    let id = made_by_api(app, &admin.access_token, body).await;
    let path = format!("/admin/webhooks/{id}");
    let mut browser = signed_in(app, admin).await;
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200, "{path}: {}", page.text);
    OnItsPage {
        id,
        path,
        browser,
        page,
    }
}

/// Posts `fields` to the form `action` of `page`, which must answer with the notice
/// `done` on `back_to`; the page it leads to.
pub(super) async fn submit_done(
    browser: &mut Browser<'_>,
    page: &TestResponse,
    action: &str,
    fields: &[(&str, &str)],
    back_to: &str,
    done: &str,
) -> TestResponse {
    let answer = submit(browser, page, action, fields).await;
    assert_eq!(answer.status, 303, "{action}: {}", answer.text);
    assert_eq!(
        answer.header("location"),
        Some(format!("{back_to}?done={done}").as_str()),
        "{action}"
    );
    browser.follow(&answer).await
}

/// The names of the `webhook_*` audit events, newest first.
pub(super) async fn webhook_audit(app: &TestApp, token: &str) -> Vec<Value> {
    let audited = app
        .get("/api/v1/admin/audit?limit=100")
        .bearer(token)
        .send()
        .await
        .json();
    audited["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"].as_str().unwrap().starts_with("webhook_"))
        .cloned()
        .collect()
}
