//! An endpoint's deliveries for administrators: the list (newest event first, by
//! status), and sending again: one delivery (`retry`), or every dead one (`redrive`).
//! Both make the deliveries pending now with a fresh retry schedule; on an ordered
//! endpoint a redriven event again waits for its subject's earlier ones. The JSON
//! handlers and the console's pages call [`deliveries_page`], [`retry`] and
//! [`redrive_dead`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::api::{Admin, audited};
use super::storage;
use crate::audit::{self, event};
use crate::db::Db;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::http::{AdminUser, ApiPath, ApiQuery, ClientInfo, Page, PageQuery};
use crate::i18n::message_key;
use crate::state::AppState;
use crate::webhook_delivery::queue::{self, DeliveryItem, STATUSES};

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Only deliveries with this status: `pending`, `delivered`, `failed` or `dead`.
    #[param(example = "dead")]
    pub status: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List a webhook's deliveries
///
/// Newest event first; `status` narrows it. `next_attempt_at` is set while a delivery
/// waits (pending or failed). Deliveries are kept as long as their events
/// (`EVENT_RETENTION_DAYS`).
#[utoipa::path(get, path = "/webhooks/{webhook_id}/deliveries", tag = "admin", security(("bearer" = [])),
    params(("webhook_id" = Uuid, Path, description = "The endpoint's id"), DeliveryQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = Page<DeliveryItem>),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad status, limit or cursor (named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<Page<DeliveryItem>>> {
    Ok(Json(deliveries_page(&state.db, id, &query).await?))
}

/// One page of endpoint `id`'s deliveries, newest event first (the JSON listing and the
/// console's); 422 naming a bad status, limit or cursor, 404 for no such endpoint.
pub async fn deliveries_page(
    db: &Db,
    id: Uuid,
    query: &DeliveryQuery,
) -> ApiResult<Page<DeliveryItem>> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let status = query
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let bad_status = status.is_some_and(|s| !STATUSES.contains(&s));
    let cursor = match (
        page.decode(|bytes| <[u8; 8]>::try_from(bytes).ok().map(i64::from_be_bytes)),
        bad_status,
    ) {
        (Ok(cursor), false) => cursor,
        (result, _) => {
            let mut errors = match result {
                Err(ApiError::Validation(errors)) => errors,
                Err(other) => return Err(other),
                Ok(_) => Vec::new(),
            };
            if bad_status {
                errors.push(FieldError::new(
                    "status",
                    "must be pending, delivered, failed or dead",
                ));
            }
            return Err(ApiError::Validation(errors));
        }
    };
    if storage::find(db, id).await?.is_none() {
        return Err(ApiError::not_found(
            "webhook",
            message_key("not-found-webhook"),
        ));
    }
    let rows = queue::list(db, id, status, cursor.after, cursor.limit).await?;
    Ok(Page::from_rows(rows, cursor.limit, |d| {
        d.sequence.to_be_bytes().to_vec()
    }))
}

/// Send one delivery again
///
/// Makes the endpoint's delivery of this event pending now, with a fresh retry
/// schedule, whatever its status (a delivered one is sent again).
#[utoipa::path(post, path = "/webhooks/{webhook_id}/deliveries/{event_id}/retry", tag = "admin", security(("bearer" = [])),
    params(
        ("webhook_id" = Uuid, Path, description = "The endpoint's id"),
        ("event_id" = Uuid, Path, description = "The event's id"),
    ),
    responses(
        (status = 202, description = "The delivery, pending", body = DeliveryItem),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint, or no delivery of that event to it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retry_delivery(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    ApiPath((id, event_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Response> {
    let by = Admin {
        user_id: admin.id(),
        client: &client,
    };
    let delivery = retry(&state, id, event_id, by).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)).into_response())
}

/// Makes endpoint `id`'s delivery of `event_id` pending now, audited as
/// `webhook_delivery_retried`; 404 when there is no such delivery.
pub async fn retry(
    state: &AppState,
    id: Uuid,
    event_id: Uuid,
    by: Admin<'_>,
) -> ApiResult<DeliveryItem> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(delivery) = queue::retry(&mut tx, id, event_id, now).await? else {
        return Err(ApiError::not_found(
            "delivery",
            message_key("not-found-delivery"),
        ));
    };
    let mut entry = audited(event::WEBHOOK_DELIVERY_RETRIED, by, id, &[]);
    entry.detail["event_id"] = event_id.to_string().into();
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    state.webhooks.wake();
    Ok(delivery)
}

/// How many deliveries a redrive made pending.
#[derive(Debug, Serialize, ToSchema)]
pub struct Redriven {
    pub redriven: u64,
}

/// Send every dead delivery again
///
/// Makes every `dead` delivery of the endpoint pending now, with a fresh retry schedule.
#[utoipa::path(post, path = "/webhooks/{webhook_id}/redrive", tag = "admin", security(("bearer" = [])),
    params(("webhook_id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 202, description = "How many were made pending", body = Redriven),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn redrive(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let by = Admin {
        user_id: admin.id(),
        client: &client,
    };
    let redriven = redrive_dead(&state, id, by).await?;
    Ok((StatusCode::ACCEPTED, Json(redriven)).into_response())
}

/// Makes every dead delivery of endpoint `id` pending now, audited as
/// `webhook_redriven` with how many.
pub async fn redrive_dead(state: &AppState, id: Uuid, by: Admin<'_>) -> ApiResult<Redriven> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if storage::find(&mut tx, id).await?.is_none() {
        return Err(ApiError::not_found(
            "webhook",
            message_key("not-found-webhook"),
        ));
    }
    let redriven = queue::redrive(&mut tx, id, now).await?;
    let mut entry = audited(event::WEBHOOK_REDRIVEN, by, id, &[]);
    entry.detail["redriven"] = redriven.into();
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    state.webhooks.wake();
    Ok(Redriven { redriven })
}
