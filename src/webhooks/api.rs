//! The admin API of webhooks: create (the secret is in that answer only), list, read,
//! change and delete. Every change is audited (`webhook_created`, `webhook_updated`,
//! `webhook_deleted`) with the endpoint's id and the names of what changed. The handlers
//! call [`create`], [`webhooks_page`], [`change`] and [`delete`], as the console's
//! pages do.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::storage::{self, Webhook, WebhookSettings, sealing_context};
use crate::audit::{self, AuditEntry, event};
use crate::db::Db;
use crate::error::{ApiError, ApiResult, FieldError, Problem, Why};
use crate::events::filter::TypeFilter;
use crate::http::{AdminUser, ApiJson, ApiPath, ApiQuery, ClientInfo, NoContent, Page, PageQuery};
use crate::i18n::message_key;
use crate::patch::Patch;
use crate::state::AppState;
use crate::webhook_delivery::queue;

const MAX_EVENT_PATTERNS: usize = 50;
const MAX_DESCRIPTION: usize = 500;

/// A new endpoint.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// `https` (or a host `WEBHOOK_ALLOW_HOSTS` names), never a private address.
    #[schema(example = "https://hooks.example.com/roster")]
    pub url: Option<String>,
    /// Event types; one ending in `.*` takes every type under that prefix.
    #[schema(example = json!(["user.*", "session.revoked"]))]
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    /// Default true: one subject's events one at a time, in order.
    pub ordered: Option<bool>,
}

/// A change to an endpoint; fields left out stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookChange {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    pub ordered: Option<bool>,
}

/// An endpoint with the secret it was just given.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_` + base64 of 32 bytes, for verifying signatures; shown this once.
    pub secret: String,
}

/// Create a webhook
///
/// The answer holds the endpoint's signing `secret`, which is never shown again. The
/// endpoint receives the events from its creation on (none from before).
#[utoipa::path(post, path = "/webhooks", tag = "admin", security(("bearer" = [])), request_body = WebhookInput,
    responses(
        (status = 201, description = "The endpoint and its secret", body = WebhookWithSecret),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (every failing field named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_webhook(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    ApiJson(input): ApiJson<WebhookInput>,
) -> ApiResult<Response> {
    let by = Admin {
        user_id: admin.id(),
        client: &client,
    };
    let body = create(&state, &input, by).await?;
    Ok(not_stored(StatusCode::CREATED, body))
}

/// Makes an endpoint from `input` (checked; 422 naming every failing field), audited
/// as `webhook_created`; the answer holds its secret, never stored but sealed.
pub async fn create(
    state: &AppState,
    input: &WebhookInput,
    by: Admin<'_>,
) -> ApiResult<WebhookWithSecret> {
    let mut errors = Vec::new();
    if input.url.is_none() {
        errors.push(Why::required().at("url"));
    }
    if input.events.is_none() {
        errors.push(Why::required().at("events"));
    }
    let settings = WebhookSettings {
        url: input.url.clone().unwrap_or_default(),
        events: input.events.clone().unwrap_or_default(),
        description: input.description.clone(),
        ordered: input.ordered.unwrap_or(true),
        enabled: true,
    };
    let settings = check(state, settings, errors).await?;
    let id = Uuid::now_v7();
    let (sealed, shown) = new_secret(state, id);
    // What committed before is numbered first, so the endpoint starts after it.
    crate::events::log::sequence_pending(&state.db).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let webhook = storage::insert(&mut tx, id, &settings, &sealed, now).await?;
    audit::record(&mut tx, now, audited(event::WEBHOOK_CREATED, by, id, &[])).await?;
    tx.commit().await?;
    Ok(WebhookWithSecret {
        webhook,
        secret: shown,
    })
}

/// A new signing secret for endpoint `id`: its sealed bytes, and the `whsec_` text
/// shown once.
pub(super) fn new_secret(state: &AppState, id: Uuid) -> (Vec<u8>, String) {
    let secret: [u8; 32] = rand::rng().random();
    let sealed = state.cipher.seal(&secret, &sealing_context(id));
    (sealed, format!("whsec_{}", STANDARD.encode(secret)))
}

/// `body` as JSON with `Cache-Control: no-store` (it holds a secret).
pub(super) fn not_stored(status: StatusCode, body: impl Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// List the webhooks
#[utoipa::path(get, path = "/webhooks", tag = "admin", security(("bearer" = [])), params(PageQuery),
    responses(
        (status = 200, description = "A page of endpoints, oldest first", body = Page<Webhook>),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<Webhook>>> {
    Ok(Json(webhooks_page(&state.db, &page).await?))
}

/// One page of endpoints, oldest first (the JSON listing and the console's); 422 for a
/// bad limit or cursor.
pub async fn webhooks_page(db: &Db, page: &PageQuery) -> ApiResult<Page<Webhook>> {
    let cursor = page.by_id()?;
    let rows = storage::list(db, &cursor).await?;
    Ok(Page::from_rows(rows, cursor.limit, |w| {
        w.id.as_bytes().to_vec()
    }))
}

/// Read one webhook (never its secret)
#[utoipa::path(get, path = "/webhooks/{webhook_id}", tag = "admin", security(("bearer" = [])),
    params(("webhook_id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "The endpoint", body = Webhook),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_webhook(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Webhook>> {
    storage::find(&state.db, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("webhook", message_key("not-found-webhook")))
}

/// Change a webhook
///
/// `url`, `events`, `enabled`, `description` and `ordered`; the rest stays. Disabling
/// stops sending (deliveries are still made and wait); `enabled: true` clears the
/// failing clock and sends what waited at once.
#[utoipa::path(patch, path = "/webhooks/{webhook_id}", tag = "admin", security(("bearer" = [])),
    params(("webhook_id" = Uuid, Path, description = "The endpoint's id")), request_body = WebhookChange,
    responses(
        (status = 200, description = "The endpoint as changed", body = Webhook),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (every failing field named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_webhook(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(change): ApiJson<WebhookChange>,
) -> ApiResult<Json<Webhook>> {
    let by = Admin {
        user_id: admin.id(),
        client: &client,
    };
    Ok(Json(self::change(&state, id, &change, by).await?))
}

/// Applies `change` to endpoint `id` (checked; 422 naming every failing field), audited
/// as `webhook_updated` with the names of what changed; nothing when nothing changes.
pub async fn change(
    state: &AppState,
    id: Uuid,
    change: &WebhookChange,
    by: Admin<'_>,
) -> ApiResult<Webhook> {
    let current = storage::find(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook", message_key("not-found-webhook")))?;
    let mut settings = WebhookSettings::of(&current);
    if let Some(url) = &change.url {
        settings.url = url.clone();
    }
    if let Some(events) = &change.events {
        settings.events = events.clone();
    }
    if let Some(description) = change.description.as_change() {
        settings.description = description.cloned();
    }
    settings.enabled = change.enabled.unwrap_or(settings.enabled);
    settings.ordered = change.ordered.unwrap_or(settings.ordered);
    let settings = check(state, settings, Vec::new()).await?;
    let before = WebhookSettings::of(&current);
    let changed = changed_fields(&before, &settings);
    if changed.is_empty() {
        return Ok(current);
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if storage::find(&mut tx, id).await?.is_none() {
        return Err(ApiError::not_found(
            "webhook",
            message_key("not-found-webhook"),
        ));
    }
    let webhook = storage::update(&mut tx, id, &settings, now).await?;
    let enabled_again = settings.enabled && !before.enabled;
    if enabled_again {
        // What waited while it was disabled goes out now.
        queue::due_now(&mut tx, id, now).await?;
    }
    let entry = audited(event::WEBHOOK_UPDATED, by, id, &changed);
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    if enabled_again {
        state.webhooks.wake();
    }
    Ok(webhook)
}

/// Delete a webhook
#[utoipa::path(delete, path = "/webhooks/{webhook_id}", tag = "admin", security(("bearer" = [])),
    params(("webhook_id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<NoContent> {
    let by = Admin {
        user_id: admin.id(),
        client: &client,
    };
    delete(&state, id, by).await?;
    Ok(NoContent)
}

/// Deletes endpoint `id` with its deliveries, audited as `webhook_deleted`.
pub async fn delete(state: &AppState, id: Uuid, by: Admin<'_>) -> ApiResult<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if !storage::delete(&mut tx, id).await? {
        return Err(ApiError::not_found(
            "webhook",
            message_key("not-found-webhook"),
        ));
    }
    audit::record(&mut tx, now, audited(event::WEBHOOK_DELETED, by, id, &[])).await?;
    tx.commit().await?;
    Ok(())
}

/// The administrator who acts on an endpoint, and from where (for the audit entry).
#[derive(Debug, Clone, Copy)]
pub struct Admin<'a> {
    pub user_id: Uuid,
    pub client: &'a ClientInfo,
}

pub(super) fn audited<'a>(
    name: &'static str,
    by: Admin<'a>,
    id: Uuid,
    fields: &[&str],
) -> AuditEntry<'a> {
    AuditEntry {
        event: name,
        actor_id: Some(by.user_id),
        user_id: None,
        client: Some(by.client),
        detail: if fields.is_empty() {
            serde_json::json!({"webhook_id": id})
        } else {
            serde_json::json!({"webhook_id": id, "fields": fields})
        },
    }
}

fn changed_fields(before: &WebhookSettings, after: &WebhookSettings) -> Vec<&'static str> {
    let mut fields = Vec::new();
    for (differs, name) in [
        (before.url != after.url, "url"),
        (before.events != after.events, "events"),
        (before.description != after.description, "description"),
        (before.ordered != after.ordered, "ordered"),
        (before.enabled != after.enabled, "enabled"),
    ] {
        if differs {
            fields.push(name);
        }
    }
    fields
}

/// `settings` checked (and normalised), with `errors` already found; 422 naming every
/// failing field.
async fn check(
    state: &AppState,
    mut settings: WebhookSettings,
    mut errors: Vec<FieldError>,
) -> ApiResult<WebhookSettings> {
    if !errors.iter().any(|e| e.field == "url") {
        match state.webhooks.check_target(settings.url.trim()).await {
            Ok(url) => settings.url = url.to_string(),
            Err(why) => errors.push(why.at("url")),
        }
    }
    if !errors.iter().any(|e| e.field == "events")
        && let Err(why) = check_events(&mut settings.events)
    {
        errors.push(why.at("events"));
    }
    settings.description = settings
        .description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    if settings
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION || d.chars().any(char::is_control))
    {
        errors.push(
            Why::new(
                format!("must be at most {MAX_DESCRIPTION} characters, without control characters"),
                message_key("field-webhook-description"),
            )
            .with("max", MAX_DESCRIPTION)
            .at("description"),
        );
    }
    if errors.is_empty() {
        Ok(settings)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Every pattern a type or `prefix.*`, at least one, duplicates dropped.
fn check_events(events: &mut Vec<String>) -> Result<(), Why> {
    if events.is_empty() || events.len() > MAX_EVENT_PATTERNS {
        return Err(Why::new(
            format!("must list 1 to {MAX_EVENT_PATTERNS} event types"),
            message_key("field-webhook-events-count"),
        )
        .with("max", MAX_EVENT_PATTERNS));
    }
    for pattern in events.iter_mut() {
        *pattern = pattern.trim().to_owned();
        let not_a_type = |message: String| {
            Why::new(message, message_key("field-webhook-event-unknown")).with("pattern", &*pattern)
        };
        if pattern.contains(',') {
            return Err(not_a_type(format!("{pattern:?} is not an event type")));
        }
        TypeFilter::parse(pattern).map_err(not_a_type)?;
    }
    let mut seen = std::collections::HashSet::new();
    events.retain(|p| seen.insert(p.clone()));
    Ok(())
}
