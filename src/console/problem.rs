//! The console's answers when something goes wrong are pages, not the API's
//! problem+json: an address under `/account/` or `/admin/` that names no page
//! ([`not_found`]), and any refusal or failure a page's handler answers with the API's
//! error ([`as_pages`]). A signed-in browser sees the page in the console's frame, with
//! its navigation; anyone else a plain page with the way to their account.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use minijinja::context;

use super::frame::Frame;
use crate::i18n::message_key;
use crate::oidc::browser;
use crate::web::Web;

pub const TEMPLATES: &[(&str, &str)] = &[(
    "console/problem.html",
    include_str!("../../templates/web/console/problem.html"),
)];

/// The console's addresses a script reads (JSON, problem+json when refused): their
/// answers stay as they are.
const SCRIPT_ENDPOINTS: [&str; 3] = [
    "/account/session",
    "/account/security/passkey-options",
    "/account/security/passkeys",
];

/// `/account/{*rest}` and `/admin/{*rest}`: no such page.
pub async fn not_found(State(web): State<Web>, request: Request) -> Response {
    let section = section_of(request.uri().path());
    problem_page(&web, request.headers(), StatusCode::NOT_FOUND, section).await
}

/// Middleware over the console's routes: an error that is not a page already (the API's
/// problem+json, an extractor's plain-text refusal, an empty 405) becomes the page that
/// says what went wrong in words; a server error names the request id the log has.
pub async fn as_pages(State(web): State<Web>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let headers = request.headers().clone();
    let response = next.run(request).await;
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/html"));
    if response.status().as_u16() < 400 || is_page || SCRIPT_ENDPOINTS.contains(&path.as_str()) {
        return response;
    }
    let mut page = problem_page(&web, &headers, response.status(), section_of(&path)).await;
    for name in [header::RETRY_AFTER, header::ALLOW] {
        if let Some(value) = response.headers().get(&name) {
            page.headers_mut().insert(name, value.clone());
        }
    }
    page
}

/// The frame's section an address belongs to (the navigation marks it).
fn section_of(path: &str) -> &'static str {
    if path == "/admin" || path.starts_with("/admin/") {
        "admin"
    } else {
        ""
    }
}

/// What a page says for `status`: its title and message (keys of `console.ftl`).
fn words_for(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        404 | 410 => (
            message_key("console-not-found-title"),
            message_key("console-not-found"),
        ),
        400 | 413 | 415 | 422 => (
            message_key("console-unreadable-title"),
            message_key("console-unreadable"),
        ),
        401 | 403 => (
            message_key("console-not-allowed-title"),
            message_key("console-not-allowed"),
        ),
        409 | 412 => (
            message_key("console-conflict-title"),
            message_key("console-conflict"),
        ),
        429 => (
            message_key("console-too-many-title"),
            message_key("console-too-many"),
        ),
        500..=599 => (
            message_key("console-failed-title"),
            message_key("console-failed"),
        ),
        _ => (
            message_key("console-not-done-title"),
            message_key("console-not-done"),
        ),
    }
}

/// The page for `status`: in the frame for a signed-in browser, plain otherwise.
pub async fn problem_page(
    web: &Web,
    headers: &HeaderMap,
    status: StatusCode,
    section: &str,
) -> Response {
    let pages = &web.pages;
    let (title, message) = words_for(status);
    let (title, mut message) = (pages.tr(title), pages.tr(message));
    if status.is_server_error() {
        let reference = headers
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("-");
        message.push(' ');
        message.push_str(&pages.tr_with(
            "console-failed-reference",
            &[("reference", reference.into())],
        ));
    }
    let now = web.app.clock.now();
    let session = browser::current(&web.app.db, pages, headers, now)
        .await
        .ok()
        .flatten();
    let to_account = pages.tr("console-to-account");
    match session {
        Some(session) => Frame {
            web,
            headers,
            session: &session,
        }
        .render(
            status,
            "console/problem.html",
            section,
            None,
            context! {
                title,
                message,
                next_link => context! { href => "/account", text => to_account },
            },
        ),
        None => pages.message_leading(
            status,
            &title,
            "error",
            &message,
            None,
            Some(("/account", &to_account)),
        ),
    }
}
