//! The HTTP face of the event log (`crate::events`): `GET /api/v1/events`, pull and
//! replay for administrators and for services holding the scope `events:read`. It is a
//! room of its own because the log sits below the audit trail, while answering a
//! request needs the token checks of the features above it.

pub mod pull;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(pull::list_events))
}
