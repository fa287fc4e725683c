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
//! - [`audit`]: the audit log (`GET /api/v1/admin/audit`).
//! - [`listing`]: what the pages listing things a page at a time share.
//! - this file: the routes, the templates, and what the pages share: the page for an
//!   error of a domain function, field errors for the templates, the times shown.

mod audit;
mod client_form;
mod clients;
mod invitations;
mod listing;
mod providers;
mod user_changes;
mod user_detail;
mod users;
mod webhook_detail;
mod webhooks;

use std::collections::BTreeMap;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::mfa::rules::require_recent_over_admin;
use crate::console::frame::AdminPage;
use crate::error::{ApiError, FieldError};
use crate::federation::upstream::Upstream;
use crate::web::Web;

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

/// Field errors as the templates read them: the field's name (the part before any
/// `[index]`) to its messages joined, the index said in words (`line 2: ...`).
fn field_errors(errors: &[FieldError]) -> BTreeMap<String, String> {
    let mut by_field: BTreeMap<String, String> = BTreeMap::new();
    for error in errors {
        let (field, message) = match error.field.split_once('[') {
            Some((field, rest)) => {
                let index = rest
                    .trim_end_matches(']')
                    .parse::<usize>()
                    .map_or_else(|_| rest.to_owned(), |i| (i + 1).to_string());
                (
                    field.to_owned(),
                    format!("entry {index}: {}", error.message),
                )
            }
            None => (error.field.clone(), error.message.clone()),
        };
        let entry = by_field.entry(field).or_default();
        if !entry.is_empty() {
            entry.push_str("; ");
        }
        entry.push_str(&message);
    }
    by_field
}

/// The page for an error of a domain function that is not about the form's fields: a
/// missing account or client is a 404 page; a server error stays the API's generic 500
/// (logged with its cause, never shown).
fn failure_page(web: &Web, error: ApiError) -> Response {
    match error {
        ApiError::ReauthenticationRequired => web.pages.message(
            StatusCode::FORBIDDEN,
            "Confirm it is you first",
            "error",
            "Changing another administrator's account needs a recent sign-in. Nothing was changed.",
            Some("Confirm your password (and second factor) on your security page at /account/security, then try again."),
        ),
        ApiError::NotFound(what) => web.pages.message(
            StatusCode::NOT_FOUND,
            "Not found",
            "error",
            &format!("There is no such {what}."),
            Some("It may have been deleted meanwhile."),
        ),
        ApiError::Conflict { detail, .. } => web.pages.message(
            StatusCode::CONFLICT,
            "Not changed",
            "error",
            &detail,
            Some("Go back and reload the page."),
        ),
        other => other.into_response(),
    }
}

/// The page refusing a change to another administrator's account when this
/// administrator's sign-in is not recent (see `require_recent_over_admin`); `None` when
/// the change may go ahead.
async fn refused_over_admin(page: &AdminPage, user_id: Uuid) -> Option<Response> {
    let AdminPage { web, session, .. } = page;
    let auth_time = Some(session.authentication.time.timestamp());
    require_recent_over_admin(&web.app, session.user.id, auth_time, user_id)
        .await
        .err()
        .map(|error| failure_page(web, error))
}

/// A serializable value for a template.
fn view<T: serde::Serialize>(value: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}

/// A time as the pages show it.
fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
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
        let errors = field_errors(&[
            FieldError::new("redirect_uris[1]", "must be absolute"),
            FieldError::new("redirect_uris", "at most 20"),
            FieldError::new("name", "is required"),
        ]);
        assert_eq!(
            errors["redirect_uris"],
            "entry 2: must be absolute; at most 20"
        );
        assert_eq!(errors["name"], "is required");
    }
}
