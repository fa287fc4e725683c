//! Achievements under `/api/v1/users/{user_id}/...`: badges a user has earned
//! (`badges`), learning goals (`goals`, changed through `goal_changes`) and the daily
//! check-ins that build their streaks (`check_in`), plus the figures
//! `/api/v1/users/me/stats` reports (`figures`).
//!
//! Lists are public; changes are for the user themself or an administrator (403 for
//! anyone else). A goal id is found only under the path of the user it belongs to, so
//! one under another user's path is 404, for administrators too. Badges and goals are
//! deleted with their user (`ON DELETE CASCADE`).

pub mod badges;
pub mod check_in;
pub mod goal_changes;
pub mod goals;
mod input;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::db::Exec;
use crate::on_exec;
use crate::state::AppState;

/// Audit events of this feature (stored in `audit_events.event`, filterable by name).
pub mod event {
    pub const BADGE_AWARDED: &str = "badge_awarded";
    pub const GOAL_CREATED: &str = "goal_created";
    pub const GOAL_UPDATED: &str = "goal_updated";
    pub const GOAL_DELETED: &str = "goal_deleted";
}

/// Routes relative to `/api/v1/users`, merged into the users router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(badges::list, badges::award))
        .routes(routes!(goals::list, goals::create))
        .routes(routes!(
            goal_changes::replace,
            goal_changes::patch,
            goals::delete
        ))
        .routes(routes!(check_in::check_in_goal))
}

/// True when an insert referred to a row that does not exist (any more): a user deleted
/// between the look-up and the insert.
fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

/// A user's achievement figures, as `/api/v1/users/me/stats` reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AchievementFigures {
    pub badges: i64,
    pub goals_total: i64,
    pub goals_completed: i64,
    /// The largest `streak_count` among the user's goals (0 without goals).
    pub longest_streak: i64,
}

/// The figures of `user_id`, counted in one statement (one consistent snapshot).
pub async fn figures(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
) -> Result<AchievementFigures, sqlx::Error> {
    let (badges, goals_total, goals_completed, longest_streak): (i64, i64, i64, i64) = on_exec!(ex, c => sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM badges WHERE user_id = $1), \
                    (SELECT COUNT(*) FROM goals WHERE user_id = $1), \
                    (SELECT COUNT(*) FROM goals WHERE user_id = $1 AND status = 'completed'), \
                    (SELECT COALESCE(MAX(streak_count), 0) FROM goals WHERE user_id = $1)")
            .bind(user_id)
            .fetch_one(c)
            .await)?;
    Ok(AchievementFigures {
        badges,
        goals_total,
        goals_completed,
        longest_streak,
    })
}
