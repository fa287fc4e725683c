//! `/admin/webhooks`: the endpoints that receive events, through the functions the
//! webhook admin API (`/api/v1/admin/webhooks`) calls, checked and audited as there:
//!
//! - `GET /admin/webhooks`: the endpoints, oldest first, a page at a time (their URL,
//!   state and why disabled, deliveries waiting, failed and dead, event types), and the
//!   form to make one;
//! - `POST /admin/webhooks`: makes one; its signing secret is on the page that answers,
//!   once (it is stored only sealed).
//!
//! What the endpoint's own page ([`super::webhook_detail`]) shares is here too: the
//! endpoint as the pages show it, the settings form, the page showing a new secret.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::listing::{Listing, limit_of, query_value};
use super::{SECTION, failure_page, field_errors, ticked, view};
use crate::console::frame::{AdminPage, ConsoleForm, ReturnTo};
use crate::error::ApiError;
use crate::http::{ClientInfo, PageQuery};
use crate::patch::Patch;
use crate::web::Web;
use crate::webhooks::api::{self, Admin, WebhookChange, WebhookInput};
use crate::webhooks::storage::Webhook;

pub(super) const PATH: &str = "/admin/webhooks";

pub fn router() -> Router<Web> {
    Router::new()
        .route(PATH, get(list).post(create))
        .route_layer(Extension(ReturnTo(PATH)))
}

/// The administrator of `page` acting from `client`, for the audit entry.
pub(super) fn admin<'a>(page: &AdminPage, client: &'a ClientInfo) -> Admin<'a> {
    Admin {
        user_id: page.session.user.id,
        client,
    }
}

/// An endpoint as the pages show it (never its secret: [`Webhook`] has none).
#[derive(Serialize)]
pub(super) struct WebhookView {
    id: Uuid,
    url: String,
    events: Vec<String>,
    description: Option<String>,
    ordered: bool,
    enabled: bool,
    /// `active`, `failing` or `disabled`.
    state: &'static str,
    /// Why it is disabled: `admin`, `gone` or `failing` (the template says it in words).
    disabled_reason: Option<String>,
    failing_since: Option<DateTime<Utc>>,
    pending: i64,
    failed: i64,
    dead: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&Webhook> for WebhookView {
    fn from(webhook: &Webhook) -> WebhookView {
        WebhookView {
            id: webhook.id,
            url: webhook.url.clone(),
            events: webhook.events.clone(),
            description: webhook.description.clone(),
            ordered: webhook.ordered,
            enabled: webhook.enabled,
            state: webhook.state,
            disabled_reason: webhook.disabled_reason.clone(),
            failing_since: webhook.failing_since,
            pending: webhook.deliveries.pending,
            failed: webhook.deliveries.failed,
            dead: webhook.deliveries.dead,
            created_at: webhook.created_at,
            updated_at: webhook.updated_at,
        }
    }
}

/// An endpoint's settings as typed in the form (kept when refused).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct WebhookForm {
    #[serde(default)]
    url: String,
    /// Event types, separated by commas or lines.
    #[serde(default)]
    events: String,
    #[serde(default)]
    description: String,
    ordered: Option<String>,
}

impl WebhookForm {
    fn blank() -> WebhookForm {
        WebhookForm {
            ordered: Some("on".into()),
            ..WebhookForm::default()
        }
    }

    /// The form filled with `webhook`'s settings, one event type a line.
    pub(super) fn of(webhook: &Webhook) -> WebhookForm {
        WebhookForm {
            url: webhook.url.clone(),
            events: webhook.events.join("\n"),
            description: webhook.description.clone().unwrap_or_default(),
            ordered: webhook.ordered.then(|| "on".into()),
        }
    }

    /// The event types listed, separated by commas or lines, blanks left out (the API
    /// checks each).
    fn event_list(&self) -> Vec<String> {
        self.events
            .split([',', '\n'])
            .map(str::trim)
            .filter(|pattern| !pattern.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn input(&self) -> WebhookInput {
        WebhookInput {
            url: Some(self.url.trim().to_owned()),
            events: Some(self.event_list()),
            description: Some(self.description.clone()),
            ordered: Some(ticked(&self.ordered)),
        }
    }

    /// The change to the endpoint's settings (an empty description clears it); whether
    /// it is enabled is another form.
    pub(super) fn change(&self) -> WebhookChange {
        let description = self.description.trim();
        WebhookChange {
            url: Some(self.url.trim().to_owned()),
            events: Some(self.event_list()),
            enabled: None,
            description: if description.is_empty() {
                Patch::Null
            } else {
                Patch::Value(description.to_owned())
            },
            ordered: Some(ticked(&self.ordered)),
        }
    }
}

/// The list page, with the form to make an endpoint (`form`, kept when refused).
async fn list_page(
    page: &AdminPage,
    status: StatusCode,
    query: Option<&str>,
    form: &WebhookForm,
    errors: BTreeMap<String, String>,
) -> Response {
    let web = &page.web;
    let limit = query_value(query, "limit");
    let mut page_errors = Vec::new();
    let page_query = PageQuery {
        limit: limit_of(limit.as_deref(), &mut page_errors),
        cursor: query_value(query, "cursor"),
    };
    let found = if page_errors.is_empty() {
        api::webhooks_page(&web.app.db, &page_query).await
    } else {
        Err(ApiError::Validation(page_errors))
    };
    let filters = [("limit", limit.as_deref())];
    let row = |webhook: Webhook| WebhookView::from(&webhook);
    let listing = match Listing::of(web, &page.headers, found, PATH, &filters, row).await {
        Ok(listing) => listing,
        Err(response) => return response,
    };
    // A refused page query outranks the status the form's answer has.
    let status = if listing.status == StatusCode::OK {
        status
    } else {
        listing.status
    };
    page.frame().render(
        status,
        "console/admin/webhooks.html",
        SECTION,
        query,
        context! {
            title => web.pages.tr("admin-webhooks-title"),
            webhooks => view(&listing.rows),
            next => listing.next,
            page_errors => listing.errors,
            form => view(form),
            errors => errors,
        },
    )
}

/// `GET /admin/webhooks`.
async fn list(page: AdminPage) -> Response {
    let query = page.query.clone();
    list_page(
        &page,
        StatusCode::OK,
        query.as_deref(),
        &WebhookForm::blank(),
        BTreeMap::new(),
    )
    .await
}

/// `POST /admin/webhooks`: makes an endpoint; the answer shows its secret, once.
async fn create(
    info: ClientInfo,
    page: AdminPage,
    ConsoleForm(form): ConsoleForm<WebhookForm>,
) -> Response {
    let web = &page.web;
    match api::create(&web.app, &form.input(), admin(&page, &info)).await {
        Ok(made) => secret_page(
            &page,
            StatusCode::CREATED,
            &made.webhook,
            &made.secret,
            None,
        ),
        Err(ApiError::Validation(errors)) => {
            let errors = field_errors(&web.pages, &errors);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            list_page(&page, status, None, &form, errors).await
        }
        Err(other) => failure_page(web, &page.headers, other).await,
    }
}

/// The page that shows an endpoint's new signing secret, once: after its creation, or
/// after a rotation (`previous_until`: until when the previous secret signs too).
pub(super) fn secret_page(
    page: &AdminPage,
    status: StatusCode,
    webhook: &Webhook,
    secret: &str,
    previous_until: Option<DateTime<Utc>>,
) -> Response {
    let created = previous_until.is_none();
    page.frame().render(
        status,
        "console/admin/webhook_secret.html",
        SECTION,
        None,
        context! {
            title => if created {
                page.web.pages.tr("admin-webhooks-title-made")
            } else {
                page.web.pages.tr("admin-webhooks-title-secret")
            },
            created => created,
            webhook => view(&WebhookView::from(webhook)),
            secret => secret,
            previous_until => previous_until.map(|until| until.to_rfc3339()),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_may_be_separated_by_commas_or_lines() {
        let form = WebhookForm {
            events: "user.*, session.revoked\r\n\n  client.created,,".into(),
            ..WebhookForm::default()
        };
        assert_eq!(
            form.event_list(),
            ["user.*", "session.revoked", "client.created"]
        );
    }

    #[test]
    fn an_empty_description_clears_it() {
        let form = WebhookForm {
            description: "  ".into(),
            ..WebhookForm::default()
        };
        assert_eq!(form.change().description, Patch::Null);
        assert_eq!(form.change().ordered, Some(false));
    }
}
