//! Daily check-ins on a goal and the streak they build. Days are UTC days from the
//! application clock. One conditional `UPDATE` computes the new streak from the stored
//! `last_check_in`, so concurrent check-ins of one goal count once per day on both
//! engines: PostgreSQL re-evaluates the row after waiting for its lock, SQLite runs
//! writers one at a time.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::goals::{Goal, GoalStatus, goal_columns};
use crate::db::Db;
use crate::error::{ApiError, ApiResult, Problem, Why};
use crate::http::{ApiPath, AuthUser};
use crate::i18n::message_key;
use crate::on_exec;
use crate::state::AppState;

/// What a check-in came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckIn {
    Recorded(Goal),
    /// No such goal of this user.
    NotFound,
    /// The goal is completed or abandoned.
    Closed(GoalStatus),
}

/// Records a check-in of `user_id`'s goal at `now`. The streak grows by one after a
/// check-in yesterday, stays after one today (or on a later day, as after a clock
/// correction, which then stays the recorded day), and restarts at 1 otherwise. A
/// `not-started` goal becomes `in-progress`; completed and abandoned goals take no
/// check-ins.
pub async fn check_in(
    db: &Db,
    user_id: Uuid,
    goal_id: Uuid,
    now: DateTime<Utc>,
) -> Result<CheckIn, sqlx::Error> {
    let today = now.date_naive();
    let yesterday = today.pred_opt().unwrap_or(today);
    // A goal reopened between the UPDATE and the look-up is tried once more.
    for _ in 0..2 {
        let updated = on_exec!(db.writer(), c => sqlx::query_as::<_, Goal>(concat!(
            "UPDATE goals SET ",
            "streak_count = CASE WHEN last_check_in >= $3 THEN streak_count ",
            "WHEN last_check_in = $4 THEN streak_count + 1 ELSE 1 END, ",
            "last_check_in = CASE WHEN last_check_in > $3 THEN last_check_in ELSE $3 END, ",
            "status = 'in-progress', ",
            "updated_at = CASE WHEN last_check_in >= $3 AND status = 'in-progress' THEN updated_at ELSE $5 END ",
            "WHERE id = $1 AND user_id = $2 AND status IN ('not-started', 'in-progress') ",
            "RETURNING ", goal_columns!()))
            .bind(goal_id)
            .bind(user_id)
            .bind(today)
            .bind(yesterday)
            .bind(now)
            .fetch_optional(c)
            .await)?;
        if let Some(goal) = updated {
            return Ok(CheckIn::Recorded(goal));
        }
        let status: Option<String> = on_exec!(db, c => sqlx::query_scalar(
            "SELECT status FROM goals WHERE id = $1 AND user_id = $2")
            .bind(goal_id)
            .bind(user_id)
            .fetch_optional(c)
            .await)?;
        match status.as_deref().and_then(GoalStatus::parse) {
            None => return Ok(CheckIn::NotFound),
            Some(status @ (GoalStatus::Completed | GoalStatus::Abandoned)) => {
                return Ok(CheckIn::Closed(status));
            }
            Some(_) => continue,
        }
    }
    Ok(CheckIn::NotFound)
}

/// Check in on a goal for today
///
/// The user themself or an administrator may check in. Days are UTC. The streak grows
/// by one when the last check-in was yesterday, stays as it is when it was today (a
/// second check-in the same day changes nothing), and restarts at 1 otherwise (first
/// check-in, or a day or more missed); `last_check_in` becomes today. Concurrent
/// check-ins count once per day. A `not-started` goal becomes `in-progress`. A
/// `completed` or `abandoned` goal takes no check-ins (`409`): set its status back to
/// `in-progress` first. Check-ins are routine progress and are not written to the audit
/// trail. No request body is read.
#[utoipa::path(post, operation_id = "check_in_goal", path = "/{user_id}/goals/{goal_id}/check-in", tag = "achievements", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The user the goal belongs to"),
           ("goal_id" = Uuid, Path, description = "One of this user's goals")),
    responses(
        (status = 200, description = "The goal after the check-in", body = Goal),
        (status = 403, description = "The caller is neither this user nor an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such goal of this user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The goal is completed or abandoned", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn check_in_goal(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath((user_id, goal_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<Goal>> {
    caller.require_self_or_admin(user_id)?;
    check_in_today(&state, user_id, goal_id).await.map(Json)
}

/// [`check_in`] now, with its refusals as the API answers them: 404 for a goal that is
/// not `user_id`'s, 409 naming `status` for a completed or abandoned one.
pub async fn check_in_today(state: &AppState, user_id: Uuid, goal_id: Uuid) -> ApiResult<Goal> {
    match check_in(&state.db, user_id, goal_id, state.clock.now()).await? {
        CheckIn::Recorded(goal) => Ok(goal),
        CheckIn::NotFound => Err(ApiError::not_found("goal", message_key("not-found-goal"))),
        CheckIn::Closed(status) => {
            let why = Why::new(
                format!(
                    "the goal is {}; set its status to in-progress to check in again",
                    status.as_str()
                ),
                message_key("conflict-goal-closed"),
            );
            Err(ApiError::conflict(
                "status",
                why.with("status", status.as_str()),
            ))
        }
    }
}
