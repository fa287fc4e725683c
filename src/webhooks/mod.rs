//! Webhooks, the admin API under `/api/v1/admin/webhooks`: endpoints that will receive
//! events (Standard Webhooks). An endpoint has a URL (checked by [`targets`]), the event
//! types it takes, and a signing secret (`whsec_` + base64 of 32 random bytes) that is
//! shown once when the endpoint is made and sealed at rest with `ENCRYPTION_KEY`.
//! Delivery is not built yet.

pub mod api;
pub mod storage;
pub mod targets;

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
}
