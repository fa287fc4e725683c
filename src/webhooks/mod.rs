//! Webhooks, the admin API under `/api/v1/admin/webhooks`: endpoints that receive events
//! (Standard Webhooks). An endpoint has a URL (checked by
//! `crate::webhook_delivery::targets`), the event types it takes, and a signing secret
//! (`whsec_` + base64 of 32 random bytes) that is shown once when the endpoint is made
//! or rotated and sealed at rest with `ENCRYPTION_KEY`. Sending is the room below,
//! `crate::webhook_delivery`; here administrators see each endpoint's state and
//! deliveries ([`deliveries`]), test it and rotate its secret ([`operations`]).

pub mod api;
pub mod deliveries;
pub mod operations;
pub mod storage;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn admin_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::create_webhook, api::list_webhooks))
        .routes(routes!(
            api::get_webhook,
            api::patch_webhook,
            api::delete_webhook
        ))
        .routes(routes!(operations::rotate_secret))
        .routes(routes!(operations::test_webhook))
        .routes(routes!(deliveries::list_deliveries))
        .routes(routes!(deliveries::retry_delivery))
        .routes(routes!(deliveries::redrive))
}
