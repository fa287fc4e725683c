//! Badges and learning goals under `/api/v1/users/{user_id}/...`. (Filled in by the
//! Achievements issue.)

use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::app::AppState;
use crate::db::Exec;

/// Routes relative to `/api/v1/users`, merged into the users router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

/// A user's achievement figures, as `/api/v1/users/me/stats` reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AchievementFigures {
    pub badges: i64,
    pub goals_total: i64,
    pub goals_completed: i64,
    pub longest_streak: i64,
}

/// The figures of `user_id`. Until the Achievements issue adds badges and goals there
/// are none, so every figure is 0 (as that contract states).
pub async fn figures(
    _ex: impl Into<Exec<'_>>,
    _user_id: Uuid,
) -> Result<AchievementFigures, sqlx::Error> {
    Ok(AchievementFigures::default())
}
