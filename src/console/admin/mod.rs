//! `/admin`: the administrators' pages. Each calls the same domain function as the admin
//! JSON endpoint it mirrors, so each change is checked and audited exactly as there.
//!
//! - [`users`]: the user search (`GET /admin`, `GET /admin/users`), as `GET /api/v1/users`.
//! - [`invitations`]: inviting someone (`/admin/users/new`, as `POST
//!   /api/v1/admin/users`) and mailing an account a reset link.
//! - [`user_detail`]: one account (`/admin/users/{user_id}`): its profile, sessions and
//!   audit trail; role, tier, status and verification (`PATCH /api/v1/admin/users/{id}`),
//!   revoking its sessions, resetting its second factors.
//! - [`user_changes`]: on the same page, its username, email and full name (`PUT
//!   /api/v1/users/{id}`) and deleting it (`DELETE /api/v1/users/{id}`).
//! - [`clients`] and [`client_form`]: the OpenID clients (`/api/v1/admin/clients`);
//!   a secret is shown once, on the page that answers the creation or rotation.
//! - [`providers`]: the identity providers users may sign in with
//!   (`/api/v1/admin/identity-providers`).
//! - [`webhooks`] and [`webhook_detail`]: the endpoints that receive events
//!   (`/api/v1/admin/webhooks`), each with its deliveries; a signing secret is shown
//!   once, on the page that answers the creation or rotation.
//! - [`audit`]: the audit log (`GET /api/v1/admin/audit`); [`event_rows`] and
//!   [`event_words`]: its events as the pages show them (in words, people by username,
//!   the detail as labelled fields).
//! - [`listing`]: what the pages listing things a page at a time share.
//! - this file: the routes, the templates, and what the pages share: the page for an
//!   error of a domain function, field errors in the page's language.
//!
//! Every word of the pages is a message of `locales/*/console-admin.ftl`; times go to the
//! templates as RFC 3339 (their `when` filter says them in the page's language).

mod account_form;
mod audit;
mod client_form;
mod clients;
mod event_rows;
mod event_words;
mod invitations;
mod listing;
mod providers;
mod user_changes;
mod user_detail;
mod user_page;
mod users;
mod webhook_detail;
mod webhooks;

use std::collections::BTreeMap;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::auth::mfa::rules::require_recent_over_admin;
use crate::console::frame::{AdminPage, Frame};
use crate::error::{ApiError, FieldError};
use crate::federation::upstream::Upstream;
use crate::i18n::{Arg, message_key};
use crate::oidc::browser;
use crate::web::{Pages, Web};

/// The templates of every admin page.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "console/admin/nav.html",
        include_str!("../../../templates/web/console/admin/nav.html"),
    ),
    (
        "console/admin/events.html",
        include_str!("../../../templates/web/console/admin/events.html"),
    ),
    (
        "console/admin/invite.html",
        include_str!("../../../templates/web/console/admin/invite.html"),
    ),
    (
        "console/admin/users.html",
        include_str!("../../../templates/web/console/admin/users.html"),
    ),
    (
        "console/admin/user.html",
        include_str!("../../../templates/web/console/admin/user.html"),
    ),
    (
        "console/admin/clients.html",
        include_str!("../../../templates/web/console/admin/clients.html"),
    ),
    (
        "console/admin/client.html",
        include_str!("../../../templates/web/console/admin/client.html"),
    ),
    (
        "console/admin/client_fields.html",
        include_str!("../../../templates/web/console/admin/client_fields.html"),
    ),
    (
        "console/admin/client_secret.html",
        include_str!("../../../templates/web/console/admin/client_secret.html"),
    ),
    (
        "console/admin/providers.html",
        include_str!("../../../templates/web/console/admin/providers.html"),
    ),
    (
        "console/admin/webhooks.html",
        include_str!("../../../templates/web/console/admin/webhooks.html"),
    ),
    (
        "console/admin/webhook.html",
        include_str!("../../../templates/web/console/admin/webhook.html"),
    ),
    (
        "console/admin/webhook_fields.html",
        include_str!("../../../templates/web/console/admin/webhook_fields.html"),
    ),
    (
        "console/admin/webhook_state.html",
        include_str!("../../../templates/web/console/admin/webhook_state.html"),
    ),
    (
        "console/admin/webhook_secret.html",
        include_str!("../../../templates/web/console/admin/webhook_secret.html"),
    ),
    (
        "console/admin/audit.html",
        include_str!("../../../templates/web/console/admin/audit.html"),
    ),
];

/// The admin pages; `upstream` reads a new provider's discovery document.
pub fn router(upstream: &Upstream) -> Router<Web> {
    Router::new()
        .merge(users::router())
        .merge(invitations::router())
        .merge(user_detail::router())
        .merge(user_changes::router())
        .merge(clients::router())
        .merge(providers::router(upstream))
        .merge(webhooks::router())
        .merge(webhook_detail::router())
        .merge(audit::router())
}

/// The navigation section of every admin page.
const SECTION: &str = "admin";

/// A field error the admin pages name themselves: the message `key` of
/// `console-admin.ftl` (mark it with [`message_key`]), said in the page's language.
fn refused(field: impl Into<String>, key: &'static str) -> FieldError {
    FieldError::new(field, key).with_words(key, &[])
}

/// Field errors as the templates read them, in the page's language where the rule names
/// its words (the API's English otherwise): the field's name (the part before any
/// `[index]`) to its messages joined, the index said in words (`entry 2: ...`).
fn field_errors(pages: &Pages, errors: &[FieldError]) -> BTreeMap<String, String> {
    let mut by_field: BTreeMap<String, String> = BTreeMap::new();
    for error in errors {
        let message = pages
            .field_words(error)
            .unwrap_or_else(|| error.message.clone());
        let (field, message) = match error.field.split_once('[') {
            Some((field, rest)) => {
                let index = rest
                    .trim_end_matches(']')
                    .parse::<usize>()
                    .map_or_else(|_| rest.to_owned(), |i| (i + 1).to_string());
                let words = pages.tr_with(
                    "admin-field-entry",
                    &[("index", Arg::from(index)), ("message", Arg::from(message))],
                );
                (field.to_owned(), words)
            }
            None => (error.field.clone(), message),
        };
        let entry = by_field.entry(field).or_default();
        if entry.ends_with('.') {
            entry.push(' ');
        } else if !entry.is_empty() {
            entry.push_str("; ");
        }
        entry.push_str(&message);
    }
    by_field
}

/// The page for an error of a domain function that is not about the form's fields, in
/// the console's frame like every other refusal (`console::problem`): a missing account
/// or client is a 404 page, a change to another administrator's account without a recent
/// sign-in a 403, a conflict a 409, each saying which; a server error stays the API's
/// generic 500 (logged with its cause, never shown), which the console draws as its
/// failure page. A browser that is not signed in (a path's id may be read before the
/// session is) gets the same words on a plain page.
async fn failure_page(web: &Web, headers: &HeaderMap, error: ApiError) -> Response {
    let pages = &web.pages;
    let (status, title, message, next_step) = match error {
        ApiError::ReauthenticationRequired => (
            StatusCode::FORBIDDEN,
            message_key("admin-failure-reauthenticate-title"),
            pages.tr("admin-failure-reauthenticate"),
            message_key("admin-failure-reauthenticate-next"),
        ),
        ApiError::NotFound(why) => {
            let message = match why.key {
                "not-found-account" | "not-found-user" => {
                    message_key("admin-failure-not-found-account")
                }
                "not-found-client" => message_key("admin-failure-not-found-client"),
                "not-found-webhook" => message_key("admin-failure-not-found-webhook"),
                "not-found-provider" => message_key("admin-failure-not-found-provider"),
                _ => message_key("admin-failure-not-found"),
            };
            (
                StatusCode::NOT_FOUND,
                message_key("admin-failure-not-found-title"),
                pages.tr(message),
                message_key("admin-failure-not-found-next"),
            )
        }
        ApiError::Conflict { why, .. } => (
            StatusCode::CONFLICT,
            message_key("admin-failure-conflict-title"),
            pages.why_words(&why),
            message_key("admin-failure-conflict-next"),
        ),
        other => return other.into_response(),
    };
    let (title, next_step) = (pages.tr(title), pages.tr(next_step));
    let now = web.app.clock.now();
    match browser::current(&web.app.db, pages, headers, now).await {
        Ok(Some(session)) => Frame {
            web,
            headers,
            session: &session,
        }
        .render(
            status,
            "console/problem.html",
            SECTION,
            None,
            minijinja::context! { title, message, next_step },
        ),
        _ => pages.message(status, &title, "error", &message, Some(&next_step)),
    }
}

/// The page refusing a change to another administrator's account when this
/// administrator's sign-in is not recent (see `require_recent_over_admin`); `None` when
/// the change may go ahead.
async fn refused_over_admin(page: &AdminPage, user_id: Uuid) -> Option<Response> {
    let AdminPage { web, session, .. } = page;
    let auth_time = Some(session.authentication.time.timestamp());
    let error = require_recent_over_admin(&web.app, session.user.id, auth_time, user_id)
        .await
        .err()?;
    Some(failure_page(web, &page.headers, error).await)
}

/// A serializable value for a template.
fn view<T: serde::Serialize>(value: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}

/// Whether a posted checkbox was ticked (browsers send `on`, or the `value` given).
fn ticked(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_field_errors_are_grouped_under_their_field() {
        let pages = Pages::new("http://localhost").unwrap();
        let errors = field_errors(
            &pages,
            &[
                FieldError::new("redirect_uris[1]", "must be absolute"),
                FieldError::new("redirect_uris", "at most 20"),
                refused("name", message_key("admin-field-confirm")),
            ],
        );
        assert_eq!(
            errors["redirect_uris"],
            "entry 2: must be absolute; at most 20"
        );
        assert_eq!(errors["name"], "tick this to confirm");
    }
}
