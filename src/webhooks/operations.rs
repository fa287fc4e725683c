//! What an administrator does to one endpoint besides editing it: rotate its signing
//! secret ([`rotate`]), and send it a `webhook.test` event ([`send_test`]); the JSON
//! handlers and the console's pages call the same functions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::api::{Admin, audited, new_secret, not_stored};
use super::storage;
use crate::audit::{self, event};
use crate::error::{ApiError, ApiResult, Problem};
use crate::events::types::WEBHOOK_TEST;
use crate::http::{AdminUser, ApiPath, ClientInfo};
use crate::i18n::message_key;
use crate::on_exec;
use crate::state::AppState;
use crate::webhook_delivery::endpoints::{self, PREVIOUS_SECRET_KEPT};

/// The endpoint's new signing secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    /// `whsec_` + base64 of 32 bytes; shown this once.
    pub secret: String,
    /// Until then deliveries carry a signature by the previous secret too (after this
    /// one, space-separated), so receivers can switch without losing an event.
    pub previous_secret_expires_at: DateTime<Utc>,
}

/// Rotate a webhook's signing secret
///
/// A new secret, shown this once. For 24 hours every delivery is signed by both the new
/// and the previous secret (`webhook-signature` carries both, new first); after that by
/// the new one alone. Rotating again within the 24 hours drops the oldest.
#[utoipa::path(post, path = "/webhooks/{webhook_id}/rotate-secret", tag = "admin", security(("bearer" = [])),
    params(("webhook_id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "The new secret", body = RotatedSecret),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let by = Admin {
        user_id: admin.id(),
        client: &client,
    };
    let body = rotate(&state, id, by).await?;
    Ok(not_stored(StatusCode::OK, body))
}

/// Gives endpoint `id` a new signing secret (sealed; the answer holds it, shown once),
/// audited as `webhook_secret_rotated`.
pub async fn rotate(state: &AppState, id: Uuid, by: Admin<'_>) -> ApiResult<RotatedSecret> {
    let (sealed, shown) = new_secret(state, id);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if !endpoints::rotate_secret(&mut tx, id, &sealed, now).await? {
        return Err(ApiError::not_found(
            "webhook",
            message_key("not-found-webhook"),
        ));
    }
    let entry = audited(event::WEBHOOK_SECRET_ROTATED, by, id, &[]);
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(RotatedSecret {
        secret: shown,
        previous_secret_expires_at: now + PREVIOUS_SECRET_KEPT,
    })
}

/// The test event made.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestSent {
    /// The `webhook.test` event's id: the `webhook-id` of its delivery.
    pub event_id: Uuid,
}

/// Send a test event to a webhook
///
/// A `webhook.test` event (subject: the endpoint's id, `data.webhook_id`) delivered to
/// this endpoint alone, whatever types it takes, like any other event: signed, retried,
/// listed among its deliveries (and sent only while it is enabled). It is also in the
/// event log.
#[utoipa::path(post, path = "/webhooks/{webhook_id}/test", tag = "admin", security(("bearer" = [])),
    params(("webhook_id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 202, description = "The event is made; it is delivered shortly", body = TestSent),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn test_webhook(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: ClientInfo,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let by = Admin {
        user_id: admin.id(),
        client: &client,
    };
    let sent = send_test(&state, id, by).await?;
    Ok((StatusCode::ACCEPTED, Json(sent)).into_response())
}

/// Makes a `webhook.test` event for endpoint `id` alone (audited as `webhook_tested`,
/// which writes the event) and wakes the sender.
pub async fn send_test(state: &AppState, id: Uuid, by: Admin<'_>) -> ApiResult<TestSent> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if storage::find(&mut tx, id).await?.is_none() {
        return Err(ApiError::not_found(
            "webhook",
            message_key("not-found-webhook"),
        ));
    }
    audit::record(&mut tx, now, audited(event::WEBHOOK_TESTED, by, id, &[])).await?;
    let event_id: Uuid = on_exec!(&mut tx, c => sqlx::query_scalar(
        "SELECT id FROM events WHERE subject = $1 AND type = $2 ORDER BY position DESC LIMIT 1")
        .bind(id.to_string())
        .bind(WEBHOOK_TEST)
        .fetch_one(c)
        .await)?;
    tx.commit().await?;
    // Numbered now rather than at the sequencer's next tick, then sent.
    crate::events::log::sequence_pending(&state.db).await?;
    state.webhooks.wake();
    Ok(TestSent { event_id })
}
