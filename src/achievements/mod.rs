//! Badges and learning goals under `/api/v1/users/{user_id}/...`. (Filled in by the
//! Achievements issue.)

use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

/// Routes relative to `/api/v1/users`, merged into the users router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
