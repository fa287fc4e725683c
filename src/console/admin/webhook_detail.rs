//! `/admin/webhooks/{webhook_id}`: one endpoint, its state and its deliveries, and what
//! an administrator does to it, each through the function of the webhook admin API:
//!
//! - `GET`: the endpoint, its settings as a form, its deliveries newest first (`status`
//!   and `limit` as a GET form, a page at a time, as `GET .../deliveries` answers);
//! - `POST /admin/webhooks/{webhook_id}`: url, event types, description, ordered (as
//!   `PATCH` changes them);
//! - `POST .../enabled`: `enabled=true|false` (as `PATCH {"enabled"}`);
//! - `POST .../secret`: a new signing secret, shown once on the page that answers;
//! - `POST .../test`: a `webhook.test` event to this endpoint alone;
//! - `POST .../deliveries/{event_id}/retry` and `POST .../redrive`: send one delivery,
//!   or every dead one, again;
//! - `POST .../delete`: deletes it with its deliveries ("I am sure").

use std::collections::BTreeMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::listing::{Listing, limit_of, query_value};
use super::webhooks::{self, WebhookForm, WebhookView, admin, secret_page};
use super::{SECTION, failure_page, field_errors, refused, ticked, view};
use crate::console::frame::{AdminPage, ConsoleForm, ReturnTo, done};
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::i18n::message_key;
use crate::web::Web;
use crate::webhook_delivery::queue::{DeliveryItem, STATUSES};
use crate::webhooks::api::{self, WebhookChange};
use crate::webhooks::deliveries::{DeliveryQuery, deliveries_page, redrive_dead, retry};
use crate::webhooks::operations::{rotate, send_test};
use crate::webhooks::storage::{self, Webhook};

pub fn router() -> Router<Web> {
    Router::new()
        .route("/admin/webhooks/{webhook_id}", get(show).post(update))
        .route("/admin/webhooks/{webhook_id}/enabled", post(set_enabled))
        .route("/admin/webhooks/{webhook_id}/secret", post(rotate_secret))
        .route("/admin/webhooks/{webhook_id}/test", post(test))
        .route(
            "/admin/webhooks/{webhook_id}/deliveries/{event_id}/retry",
            post(retry_one),
        )
        .route("/admin/webhooks/{webhook_id}/redrive", post(redrive))
        .route("/admin/webhooks/{webhook_id}/delete", post(delete))
        .route_layer(Extension(ReturnTo("/admin/webhooks/{webhook_id}")))
}

fn path_of(id: Uuid) -> String {
    format!("{}/{id}", webhooks::PATH)
}

/// A delivery as the page shows it.
#[derive(Serialize)]
struct DeliveryRow {
    event_id: Uuid,
    kind: String,
    status: String,
    attempts: i32,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    next_attempt_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
}

impl From<DeliveryItem> for DeliveryRow {
    fn from(item: DeliveryItem) -> DeliveryRow {
        DeliveryRow {
            event_id: item.event_id,
            kind: item.kind,
            status: item.status,
            attempts: item.attempts,
            last_status_code: item.last_status_code,
            last_error: item.last_error,
            next_attempt_at: item.next_attempt_at,
            delivered_at: item.delivered_at,
        }
    }
}

/// The endpoint's page: the endpoint, its settings as a form (`form`, kept when
/// refused, with `errors`), its deliveries as `query` filters them.
async fn webhook_page(
    page: &AdminPage,
    status: StatusCode,
    query: Option<&str>,
    webhook: &Webhook,
    form: &WebhookForm,
    errors: BTreeMap<String, String>,
) -> Response {
    let web = &page.web;
    let wanted = query_value(query, "status");
    let limit = query_value(query, "limit");
    let mut filter_errors = Vec::new();
    let delivery_query = DeliveryQuery {
        status: wanted.clone(),
        limit: limit_of(limit.as_deref(), &mut filter_errors),
        cursor: query_value(query, "cursor"),
    };
    let found = if filter_errors.is_empty() {
        deliveries_page(&web.app.db, webhook.id, &delivery_query).await
    } else {
        Err(ApiError::Validation(filter_errors))
    };
    let filters = [("status", wanted.as_deref()), ("limit", limit.as_deref())];
    let path = path_of(webhook.id);
    let listing = match Listing::of(
        web,
        &page.headers,
        found,
        &path,
        &filters,
        DeliveryRow::from,
    )
    .await
    {
        Ok(listing) => listing,
        Err(response) => return response,
    };
    let status = if listing.status == StatusCode::OK {
        status
    } else {
        listing.status
    };
    page.frame().render(
        status,
        "console/admin/webhook.html",
        SECTION,
        query,
        context! {
            title => web.pages.tr("admin-webhooks-title-one"),
            webhook => view(&WebhookView::from(webhook)),
            form => view(form),
            errors => errors,
            statuses => view(&STATUSES),
            filters => context! { status => wanted, limit => limit },
            deliveries => view(&listing.rows),
            next => listing.next,
            filter_errors => listing.errors,
        },
    )
}

/// The endpoint named in the path; an unknown or malformed id is refused with the 404
/// page.
struct NamedWebhook(Webhook);

impl FromRequestParts<Web> for NamedWebhook {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Response> {
        let id = path_param(parts, web, "webhook_id").await?;
        match storage::find(&web.app.db, id).await {
            Ok(Some(webhook)) => Ok(NamedWebhook(webhook)),
            Ok(None) => Err(failure_page(
                web,
                &parts.headers,
                ApiError::not_found("webhook", message_key("not-found-webhook")),
            )
            .await),
            Err(e) => Err(failure_page(web, &parts.headers, e.into()).await),
        }
    }
}

/// The event named in the path of a delivery.
struct NamedEvent(Uuid);

impl FromRequestParts<Web> for NamedEvent {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Response> {
        path_param(parts, web, "event_id").await.map(NamedEvent)
    }
}

/// The id in the path parameter `name`; the 404 page when it is none.
async fn path_param(parts: &mut Parts, web: &Web, name: &str) -> Result<Uuid, Response> {
    let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, web)
        .await
        .map_err(IntoResponse::into_response)?;
    let id = params
        .iter()
        .find(|(param, _)| param == name)
        .and_then(|(_, value)| Uuid::parse_str(value).ok());
    match id {
        Some(id) => Ok(id),
        None => Err(failure_page(
            web,
            &parts.headers,
            ApiError::not_found("webhook", message_key("not-found-webhook")),
        )
        .await),
    }
}

/// `GET /admin/webhooks/{webhook_id}`.
async fn show(page: AdminPage, NamedWebhook(webhook): NamedWebhook) -> Response {
    let form = WebhookForm::of(&webhook);
    let query = page.query.clone();
    let status = StatusCode::OK;
    webhook_page(
        &page,
        status,
        query.as_deref(),
        &webhook,
        &form,
        BTreeMap::new(),
    )
    .await
}

/// `POST /admin/webhooks/{webhook_id}`: changes its settings.
async fn update(
    info: ClientInfo,
    page: AdminPage,
    NamedWebhook(webhook): NamedWebhook,
    ConsoleForm(form): ConsoleForm<WebhookForm>,
) -> Response {
    let web = &page.web;
    match api::change(&web.app, webhook.id, &form.change(), admin(&page, &info)).await {
        Ok(_) => done(&path_of(webhook.id), "webhook-saved"),
        Err(ApiError::Validation(errors)) => {
            let errors = field_errors(&web.pages, &errors);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            webhook_page(&page, status, None, &webhook, &form, errors).await
        }
        Err(other) => failure_page(web, &page.headers, other).await,
    }
}

#[derive(Deserialize)]
struct EnabledForm {
    #[serde(default)]
    enabled: String,
}

/// `POST /admin/webhooks/{webhook_id}/enabled`: `enabled=true` sends again (what waited
/// goes out at once), `false` stops sending.
async fn set_enabled(
    info: ClientInfo,
    page: AdminPage,
    NamedWebhook(webhook): NamedWebhook,
    ConsoleForm(form): ConsoleForm<EnabledForm>,
) -> Response {
    let web = &page.web;
    let enabled = match form.enabled.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            let refusal = ApiError::Validation(vec![refused(
                "enabled",
                message_key("admin-field-true-or-false"),
            )]);
            return failure_page(web, &page.headers, refusal).await;
        }
    };
    let change = WebhookChange {
        enabled: Some(enabled),
        ..WebhookChange::default()
    };
    match api::change(&web.app, webhook.id, &change, admin(&page, &info)).await {
        Ok(_) if enabled => done(&path_of(webhook.id), "webhook-enabled"),
        Ok(_) => done(&path_of(webhook.id), "webhook-disabled"),
        Err(other) => failure_page(web, &page.headers, other).await,
    }
}

/// `POST /admin/webhooks/{webhook_id}/secret`: a new signing secret, shown once; the
/// previous one signs too for a while.
async fn rotate_secret(
    info: ClientInfo,
    page: AdminPage,
    NamedWebhook(webhook): NamedWebhook,
    ConsoleForm(_): ConsoleForm,
) -> Response {
    match rotate(&page.web.app, webhook.id, admin(&page, &info)).await {
        Ok(rotated) => secret_page(
            &page,
            StatusCode::OK,
            &webhook,
            &rotated.secret,
            Some(rotated.previous_secret_expires_at),
        ),
        Err(other) => failure_page(&page.web, &page.headers, other).await,
    }
}

/// `POST /admin/webhooks/{webhook_id}/test`: a `webhook.test` event to it alone.
async fn test(
    info: ClientInfo,
    page: AdminPage,
    NamedWebhook(webhook): NamedWebhook,
    ConsoleForm(_): ConsoleForm,
) -> Response {
    match send_test(&page.web.app, webhook.id, admin(&page, &info)).await {
        Ok(_) => done(&path_of(webhook.id), "test-sent"),
        Err(other) => failure_page(&page.web, &page.headers, other).await,
    }
}

/// `POST /admin/webhooks/{webhook_id}/deliveries/{event_id}/retry`.
async fn retry_one(
    info: ClientInfo,
    page: AdminPage,
    NamedWebhook(webhook): NamedWebhook,
    NamedEvent(event_id): NamedEvent,
    ConsoleForm(_): ConsoleForm,
) -> Response {
    match retry(&page.web.app, webhook.id, event_id, admin(&page, &info)).await {
        Ok(_) => done(&path_of(webhook.id), "delivery-retried"),
        Err(other) => failure_page(&page.web, &page.headers, other).await,
    }
}

/// `POST /admin/webhooks/{webhook_id}/redrive`: every dead delivery, pending again.
async fn redrive(
    info: ClientInfo,
    page: AdminPage,
    NamedWebhook(webhook): NamedWebhook,
    ConsoleForm(_): ConsoleForm,
) -> Response {
    match redrive_dead(&page.web.app, webhook.id, admin(&page, &info)).await {
        Ok(made) if made.redriven > 0 => done(&path_of(webhook.id), "dead-redriven"),
        Ok(_) => done(&path_of(webhook.id), "nothing-dead"),
        Err(other) => failure_page(&page.web, &page.headers, other).await,
    }
}

#[derive(Deserialize)]
struct ConfirmForm {
    confirm: Option<String>,
}

/// `POST /admin/webhooks/{webhook_id}/delete`: deletes it once "I am sure" is ticked.
async fn delete(
    info: ClientInfo,
    page: AdminPage,
    NamedWebhook(webhook): NamedWebhook,
    ConsoleForm(form): ConsoleForm<ConfirmForm>,
) -> Response {
    let web = &page.web;
    if !ticked(&form.confirm) {
        let errors = field_errors(
            &web.pages,
            &[refused(
                "delete_confirm",
                message_key("admin-field-confirm"),
            )],
        );
        let form = WebhookForm::of(&webhook);
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return webhook_page(&page, status, None, &webhook, &form, errors).await;
    }
    match api::delete(&web.app, webhook.id, admin(&page, &info)).await {
        Ok(()) => done(webhooks::PATH, "webhook-deleted"),
        Err(other) => failure_page(web, &page.headers, other).await,
    }
}
