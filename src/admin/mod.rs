//! Administration under `/api/v1/admin`: account status and roles, session revocation,
//! and the audit trail. (Filled in by the Users issue.)

use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
