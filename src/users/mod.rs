//! Users: the account model shared by every feature, and the `/api/v1/users` endpoints.

pub mod fields;
pub mod model;

use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

/// Routes under `/api/v1/users`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
