//! Changing a goal with PUT or PATCH (the contract gives them one meaning): any writable
//! field, the others left as they are; server-set fields named in a 422. `completed_at`
//! follows `status`: set from the clock when a goal becomes `completed`, kept while it
//! stays so, cleared when it leaves (the database checks that the two agree). A change is
//! one `UPDATE` statement, so concurrent changes of different fields do not undo each other.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::event;
use super::goals::{DESCRIPTION, Goal, GoalStatus, MAX_STREAK, TITLE, find_goal, goal_columns};
use super::input::{self, Checks, Patch};
use crate::audit::{self, AuditEntry};
use crate::db::Exec;
use crate::error::{ApiError, ApiResult, Problem, Why};
use crate::http::{ApiJson, ApiPath, AuthUser, ClientInfo};
use crate::i18n::message_key;
use crate::on_exec;
use crate::state::AppState;

/// Changes to a goal: any writable field; a field left out stays as it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGoal {
    /// 1 to 200 characters after trimming; may not be null.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    pub title: Patch<Value>,
    /// At most 2000 characters; null (or blank) removes it.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Patch<Value>,
    /// Moving to `completed` sets `completed_at`; leaving `completed` clears it. May not be null.
    #[serde(default)]
    #[schema(value_type = GoalStatus)]
    pub status: Patch<Value>,
    /// 0 to 100000; may not be null.
    #[serde(default)]
    #[schema(value_type = i64, minimum = 0, maximum = 100000)]
    pub streak_count: Patch<Value>,
    // Set by the server: accepted by the parser only to be refused by name.
    #[serde(default)]
    #[schema(ignore)]
    pub id: Patch<Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub created_at: Patch<Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub updated_at: Patch<Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub completed_at: Patch<Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub last_check_in: Patch<Value>,
}

/// Validated changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct GoalChanges {
    pub title: Option<String>,
    /// `Some(None)` removes the description.
    pub description: Option<Option<String>>,
    pub status: Option<GoalStatus>,
    pub streak_count: Option<i64>,
}

impl GoalChanges {
    /// The names of the fields being changed (for the audit trail).
    pub fn fields(&self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        if self.title.is_some() {
            fields.push("title");
        }
        if self.description.is_some() {
            fields.push("description");
        }
        if self.status.is_some() {
            fields.push("status");
        }
        if self.streak_count.is_some() {
            fields.push("streak_count");
        }
        fields
    }
}

impl UpdateGoal {
    pub fn parse(&self) -> Result<GoalChanges, ApiError> {
        let mut checks = Checks::default();
        for (field, value) in [
            ("id", &self.id),
            ("created_at", &self.created_at),
            ("updated_at", &self.updated_at),
            ("completed_at", &self.completed_at),
            ("last_check_in", &self.last_check_in),
        ] {
            if !value.is_absent() {
                checks.fail(
                    field,
                    Why::new(
                        "is set by the server and cannot be written",
                        message_key("field-read-only"),
                    ),
                );
            }
        }
        let mut changes = GoalChanges::default();
        if !self.title.is_absent() {
            changes.title = checks.check(input::required_text(&self.title, "title", TITLE));
        }
        changes.description = match &self.description {
            Patch::Absent => None,
            Patch::Null => Some(None),
            Patch::Value(value) => checks.check(input::text(value, "description", DESCRIPTION)),
        };
        changes.status = match &self.status {
            Patch::Absent => None,
            Patch::Null => checks.check(Err(Why::not_null().at("status"))),
            Patch::Value(value) => checks.check(GoalStatus::from_value(value, "status")),
        };
        changes.streak_count = match &self.streak_count {
            Patch::Absent => None,
            Patch::Null => checks.check(Err(Why::not_null().at("streak_count"))),
            Patch::Value(value) => checks.check(input::count(value, "streak_count", MAX_STREAK)),
        };
        if checks.errors.is_empty() {
            Ok(changes)
        } else {
            Err(ApiError::Validation(checks.errors))
        }
    }
}

/// Applies `changes` in one statement; `None` when the goal is not one of `user_id`'s.
pub async fn update_goal(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    goal_id: Uuid,
    changes: &GoalChanges,
    now: DateTime<Utc>,
) -> Result<Option<Goal>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, Goal>(concat!(
        "UPDATE goals SET title = COALESCE($3, title), ",
        "description = CASE WHEN $4 THEN $5 ELSE description END, ",
        "status = COALESCE($6, status), ",
        "streak_count = COALESCE($7, streak_count), ",
        "completed_at = CASE WHEN $6 IS NULL THEN completed_at WHEN $6 = 'completed' THEN COALESCE(completed_at, $8) ELSE NULL END, ",
        "updated_at = $8 ",
        "WHERE id = $1 AND user_id = $2 RETURNING ", goal_columns!()))
        .bind(goal_id)
        .bind(user_id)
        .bind(&changes.title)
        .bind(changes.description.is_some())
        .bind(changes.description.clone().flatten())
        .bind(changes.status.map(GoalStatus::as_str))
        .bind(changes.streak_count)
        .bind(now)
        .fetch_optional(c)
        .await)
}

/// Replace the writable fields of a goal
///
/// Same as PATCH: any of `title`, `description`, `status` and `streak_count`; a field left
/// out keeps its value (so a client may send the whole goal without the fields the server
/// sets). `id`, `created_at`, `updated_at`, `completed_at` and `last_check_in` are set by
/// the server: sending them is `422` naming each. `title`, `status` and `streak_count` may
/// not be null; a null `description` removes it. Moving to `completed` sets
/// `completed_at` to now; leaving `completed` clears it. A goal id that is not one of this
/// user's goals is `404`, also for administrators. The change is written to the audit
/// trail.
#[utoipa::path(put, operation_id = "replace_goal", path = "/{user_id}/goals/{goal_id}", tag = "achievements", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The user the goal belongs to"),
           ("goal_id" = Uuid, Path, description = "One of this user's goals")),
    request_body = UpdateGoal,
    responses(
        (status = 200, description = "The goal as changed", body = Goal),
        (status = 403, description = "The caller is neither this user nor an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such goal of this user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed, or a server-set field was sent; every failing field is named", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replace(
    state: State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    path: ApiPath<(Uuid, Uuid)>,
    body: ApiJson<UpdateGoal>,
) -> ApiResult<Json<Goal>> {
    change(state, caller, client, path, body).await
}

/// Change some fields of a goal
///
/// Any of `title`, `description`, `status` and `streak_count`; a field left out keeps its
/// value. `id`, `created_at`, `updated_at`, `completed_at` and `last_check_in` are set by
/// the server: sending them is `422` naming each. `title`, `status` and `streak_count` may
/// not be null; a null `description` removes it. Moving to `completed` sets
/// `completed_at` to now; leaving `completed` clears it. An empty object changes nothing.
/// A goal id that is not one of this user's goals is `404`, also for administrators. The
/// change is written to the audit trail.
#[utoipa::path(patch, operation_id = "patch_goal", path = "/{user_id}/goals/{goal_id}", tag = "achievements", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The user the goal belongs to"),
           ("goal_id" = Uuid, Path, description = "One of this user's goals")),
    request_body = UpdateGoal,
    responses(
        (status = 200, description = "The goal as changed", body = Goal),
        (status = 403, description = "The caller is neither this user nor an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such goal of this user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed, or a server-set field was sent; every failing field is named", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch(
    state: State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    path: ApiPath<(Uuid, Uuid)>,
    body: ApiJson<UpdateGoal>,
) -> ApiResult<Json<Goal>> {
    change(state, caller, client, path, body).await
}

/// PUT and PATCH alike (the contract gives them one meaning).
async fn change(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiPath((user_id, goal_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<UpdateGoal>,
) -> ApiResult<Json<Goal>> {
    caller.require_self_or_admin(user_id)?;
    change_goal(&state, caller.id(), user_id, goal_id, &body, &client)
        .await
        .map(Json)
}

/// Applies `body` to `user_id`'s goal `goal_id` on behalf of `actor_id`: 422 naming
/// every bad field, 404 when the goal is not theirs; no change answers the goal as it
/// is. Audited when something changed.
pub async fn change_goal(
    state: &AppState,
    actor_id: Uuid,
    user_id: Uuid,
    goal_id: Uuid,
    body: &UpdateGoal,
    client: &ClientInfo,
) -> ApiResult<Goal> {
    let changes = body.parse()?;
    let fields = changes.fields();
    if fields.is_empty() {
        return find_goal(&state.db, user_id, goal_id)
            .await?
            .ok_or_else(|| ApiError::not_found("goal", message_key("not-found-goal")));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let goal = update_goal(&mut tx, user_id, goal_id, &changes, now)
        .await?
        .ok_or_else(|| ApiError::not_found("goal", message_key("not-found-goal")))?;
    let entry = AuditEntry {
        event: event::GOAL_UPDATED,
        actor_id: Some(actor_id),
        user_id: Some(user_id),
        client: Some(client),
        detail: json!({"goal_id": goal.id, "fields": fields, "status": goal.status.as_str()}),
    };
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(goal)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn update(body: Value) -> Result<GoalChanges, ApiError> {
        serde_json::from_value::<UpdateGoal>(body)
            .expect("the shape parses")
            .parse()
    }

    fn failing(result: Result<impl std::fmt::Debug, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn updates_name_every_bad_and_server_set_field() {
        let fields = failing(update(json!({
            "title": "", "status": "done", "streak_count": -1,
            "id": "x", "last_check_in": null, "completed_at": "2026-01-01T00:00:00Z"
        })));
        assert_eq!(
            fields,
            [
                "id",
                "completed_at",
                "last_check_in",
                "title",
                "status",
                "streak_count"
            ]
        );
        assert_eq!(
            failing(update(json!({"title": null, "status": null}))),
            ["title", "status"]
        );
    }

    #[test]
    fn a_null_description_removes_it_and_absent_fields_stay() {
        let changes = update(json!({"description": null})).unwrap();
        assert_eq!(changes.description, Some(None));
        assert_eq!(changes.fields(), ["description"]);
        assert!(update(json!({})).unwrap().fields().is_empty());
    }
}
