//! Learning goals: the `Goal` itself, listed publicly (optionally by status), created and
//! deleted by their user or an administrator (changes are in `goal_changes`, check-ins in
//! `check_in`). A goal id is only found under the path of the user it belongs to, so
//! every query names both.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::input::{self, Checks, Patch, TextRule};
use super::{event, is_foreign_key_violation};
use crate::accounts::model::find_user_or_404;
use crate::audit::{self, AuditEntry};
use crate::db::Exec;
use crate::error::{ApiError, ApiResult, FieldError, Problem, Why};
use crate::http::{
    ApiJson, ApiPath, ApiQuery, AuthUser, ClientInfo, Created, NoContent, Page, PageQuery,
};
use crate::i18n::message_key;
use crate::on_exec;
use crate::state::AppState;

pub const MAX_TITLE: usize = 200;
pub const MAX_DESCRIPTION: usize = 2000;
/// The largest `streak_count` a client may set (about 270 years of daily check-ins).
pub const MAX_STREAK: i64 = 100_000;

pub(super) const TITLE: TextRule = TextRule {
    max: MAX_TITLE,
    multiline: false,
};
pub(super) const DESCRIPTION: TextRule = TextRule {
    max: MAX_DESCRIPTION,
    multiline: true,
};

/// The columns of `goals` that make a [`Goal`].
macro_rules! goal_columns {
    () => {
        "id, title, description, status, streak_count, last_check_in, created_at, updated_at, completed_at"
    };
}
pub(crate) use goal_columns;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GoalStatus {
    NotStarted,
    InProgress,
    Completed,
    Abandoned,
}

impl GoalStatus {
    pub const ALL: [GoalStatus; 4] = [
        GoalStatus::NotStarted,
        GoalStatus::InProgress,
        GoalStatus::Completed,
        GoalStatus::Abandoned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GoalStatus::NotStarted => "not-started",
            GoalStatus::InProgress => "in-progress",
            GoalStatus::Completed => "completed",
            GoalStatus::Abandoned => "abandoned",
        }
    }

    pub fn parse(text: &str) -> Option<GoalStatus> {
        GoalStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The status a request names in `field`, or a message listing the allowed ones.
    pub(super) fn from_value(value: &Value, field: &str) -> Result<GoalStatus, FieldError> {
        value
            .as_str()
            .and_then(GoalStatus::parse)
            .ok_or_else(|| unknown_status(field))
    }
}

fn unknown_status(field: &str) -> FieldError {
    Why::new(
        "must be one of not-started, in-progress, completed, abandoned",
        message_key("field-goal-status"),
    )
    .at(field)
}

impl TryFrom<String> for GoalStatus {
    type Error = String;
    fn try_from(value: String) -> Result<GoalStatus, String> {
        GoalStatus::parse(&value).ok_or_else(|| format!("unknown goal status {value:?}"))
    }
}

/// A learning goal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Goal {
    pub id: Uuid,
    /// 1 to 200 characters.
    pub title: String,
    /// At most 2000 characters.
    pub description: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: GoalStatus,
    /// Consecutive days (UTC) with a check-in, as of `last_check_in`.
    #[schema(minimum = 0)]
    pub streak_count: i64,
    /// The UTC day of the latest check-in.
    pub last_check_in: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the goal became `completed`; null unless it is.
    pub completed_at: Option<DateTime<Utc>>,
}

/// A goal to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGoal {
    /// 1 to 200 characters after trimming.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, example = "Finish the Rust book")]
    pub title: Patch<Value>,
    /// At most 2000 characters; line breaks allowed; blank or null means none.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Option<Value>,
    /// Defaults to `not-started`; `completed` sets `completed_at` to now.
    #[serde(default)]
    #[schema(value_type = Option<GoalStatus>)]
    pub status: Option<Value>,
    /// 0 to 100000; defaults to 0.
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 100000)]
    pub streak_count: Option<Value>,
}

/// A goal that passed validation.
#[derive(Debug, Clone)]
pub struct NewGoal {
    pub title: String,
    pub description: Option<String>,
    pub status: GoalStatus,
    pub streak_count: i64,
}

impl CreateGoal {
    pub fn parse(&self) -> Result<NewGoal, ApiError> {
        let mut checks = Checks::default();
        let title = checks.check(input::required_text(&self.title, "title", TITLE));
        let description = match &self.description {
            Some(value) => checks
                .check(input::text(value, "description", DESCRIPTION))
                .flatten(),
            None => None,
        };
        let status = match &self.status {
            Some(value) => checks.check(GoalStatus::from_value(value, "status")),
            None => Some(GoalStatus::NotStarted),
        };
        let streak_count = match &self.streak_count {
            Some(value) => checks.check(input::count(value, "streak_count", MAX_STREAK)),
            None => Some(0),
        };
        match (title, status, streak_count) {
            (Some(title), Some(status), Some(streak_count)) if checks.errors.is_empty() => {
                Ok(NewGoal {
                    title,
                    description,
                    status,
                    streak_count,
                })
            }
            _ => Err(ApiError::Validation(checks.errors)),
        }
    }
}

pub async fn insert_goal(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    new: &NewGoal,
    now: DateTime<Utc>,
) -> Result<Goal, sqlx::Error> {
    let completed_at = (new.status == GoalStatus::Completed).then_some(now);
    on_exec!(ex, c => sqlx::query_as::<_, Goal>(concat!(
        "INSERT INTO goals (id, user_id, title, description, status, streak_count, last_check_in, created_at, updated_at, completed_at) ",
        "VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $7, $8) RETURNING ", goal_columns!()))
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(&new.title)
        .bind(&new.description)
        .bind(new.status.as_str())
        .bind(new.streak_count)
        .bind(now)
        .bind(completed_at)
        .fetch_one(c)
        .await)
}

/// The goal `goal_id` if it belongs to `user_id`.
pub async fn find_goal(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    goal_id: Uuid,
) -> Result<Option<Goal>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, Goal>(concat!(
        "SELECT ", goal_columns!(), " FROM goals WHERE id = $1 AND user_id = $2"))
        .bind(goal_id)
        .bind(user_id)
        .fetch_optional(c)
        .await)
}

/// Up to `limit + 1` goals of `user_id` after the id `after`, oldest first.
pub async fn list_goals(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    status: Option<GoalStatus>,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<Goal>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, Goal>(concat!(
        "SELECT ", goal_columns!(), " FROM goals ",
        "WHERE user_id = $1 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR id > $3) ",
        "ORDER BY id LIMIT $4"))
        .bind(user_id)
        .bind(status.map(GoalStatus::as_str))
        .bind(after)
        .bind(i64::from(limit) + 1)
        .fetch_all(c)
        .await)
}

/// `?status=&limit=&cursor=` of the goal list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GoalListQuery {
    /// Only goals with this status: `not-started`, `in-progress`, `completed` or
    /// `abandoned` (empty: all).
    #[param(value_type = Option<GoalStatus>)]
    pub status: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A user's learning goals, oldest first
///
/// Public: no token is needed (one that is sent is not looked at). Goals are ordered by
/// creation (their time-ordered ids) and keyset-paginated: pass `next_cursor` as `cursor`
/// for the next page (with the same `status`); it is null on the last page. An unknown
/// `status` is `422`.
#[utoipa::path(get, operation_id = "list_goals", path = "/{user_id}/goals", tag = "achievements",
    params(("user_id" = Uuid, Path, description = "The user"), GoalListQuery),
    responses(
        (status = 200, description = "A page of goals", body = Page<Goal>),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad `status`, `limit`, `cursor` or an unknown parameter; every failing one is named", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<GoalListQuery>,
) -> ApiResult<Json<Page<Goal>>> {
    goal_page(&state, user_id, query).await.map(Json)
}

/// The page of `user_id`'s goals that `query` asks for (422 naming every bad parameter,
/// 404 for an unknown user).
pub async fn goal_page(
    state: &AppState,
    user_id: Uuid,
    query: GoalListQuery,
) -> ApiResult<Page<Goal>> {
    let mut errors = Vec::new();
    // `?status=` with nothing after it (as an empty form field sends) filters nothing.
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => GoalStatus::parse(text).or_else(|| {
            errors.push(unknown_status("status"));
            None
        }),
    };
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .by_id();
    let page = match page {
        Ok(page) if errors.is_empty() => page,
        Ok(_) => return Err(ApiError::Validation(errors)),
        Err(ApiError::Validation(more)) => {
            errors.extend(more);
            return Err(ApiError::Validation(errors));
        }
        Err(other) => return Err(other),
    };
    let rows = list_goals(&state.db, user_id, status, page.after, page.limit).await?;
    if rows.is_empty() {
        find_user_or_404(&state.db, user_id).await?;
    }
    Ok(Page::from_rows(rows, page.limit, |goal| {
        goal.id.as_bytes().to_vec()
    }))
}

/// Create a learning goal
///
/// The user themself or an administrator may create. `title` is trimmed and must be 1
/// to 200 characters; `description` holds at most 2000; `status` defaults to
/// `not-started` (creating a goal as `completed` sets `completed_at`); `streak_count` is
/// 0 to 100000 and defaults to 0. The creation is written to the audit trail.
#[utoipa::path(post, operation_id = "create_goal", path = "/{user_id}/goals", tag = "achievements", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The user the goal belongs to")),
    request_body = CreateGoal,
    responses(
        (status = 201, description = "The goal", body = Goal),
        (status = 403, description = "The caller is neither this user nor an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed; every failing field is named", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiPath(user_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CreateGoal>,
) -> ApiResult<Created<Goal>> {
    caller.require_self_or_admin(user_id)?;
    create_goal(&state, caller.id(), user_id, &body, &client)
        .await
        .map(Created)
}

/// Creates the goal `body` describes for `user_id`, on behalf of `actor_id` (who the
/// caller checked may act for them): 422 naming every bad field, 404 for an unknown
/// user. Audited.
pub async fn create_goal(
    state: &AppState,
    actor_id: Uuid,
    user_id: Uuid,
    body: &CreateGoal,
    client: &ClientInfo,
) -> ApiResult<Goal> {
    let new = body.parse()?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    find_user_or_404(&mut tx, user_id).await?;
    let goal = match insert_goal(&mut tx, user_id, &new, now).await {
        Err(e) if is_foreign_key_violation(&e) => {
            return Err(ApiError::not_found("user", message_key("not-found-user")));
        }
        inserted => inserted?,
    };
    let entry = AuditEntry {
        event: event::GOAL_CREATED,
        actor_id: Some(actor_id),
        user_id: Some(user_id),
        client: Some(client),
        detail: json!({"goal_id": goal.id, "status": goal.status.as_str()}),
    };
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(goal)
}

/// Delete a learning goal
///
/// The user themself or an administrator may delete. A goal id that is not one of this
/// user's goals is `404`, also for administrators. The deletion is written to the audit
/// trail.
#[utoipa::path(delete, operation_id = "delete_goal", path = "/{user_id}/goals/{goal_id}", tag = "achievements", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The user the goal belongs to"),
           ("goal_id" = Uuid, Path, description = "One of this user's goals")),
    responses(
        (status = 204, description = "The goal is deleted"),
        (status = 403, description = "The caller is neither this user nor an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such goal of this user", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiPath((user_id, goal_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<NoContent> {
    caller.require_self_or_admin(user_id)?;
    delete_goal(&state, caller.id(), user_id, goal_id, &client).await?;
    Ok(NoContent)
}

/// Deletes `user_id`'s goal `goal_id` on behalf of `actor_id` (404 when it is not
/// theirs). Audited.
pub async fn delete_goal(
    state: &AppState,
    actor_id: Uuid,
    user_id: Uuid,
    goal_id: Uuid,
    client: &ClientInfo,
) -> ApiResult<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let deleted = on_exec!(&mut tx, c => sqlx::query("DELETE FROM goals WHERE id = $1 AND user_id = $2")
        .bind(goal_id)
        .bind(user_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    if deleted == 0 {
        return Err(ApiError::not_found("goal", message_key("not-found-goal")));
    }
    let entry = AuditEntry {
        event: event::GOAL_DELETED,
        actor_id: Some(actor_id),
        user_id: Some(user_id),
        client: Some(client),
        detail: json!({"goal_id": goal_id}),
    };
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn statuses_round_trip_through_their_contract_names() {
        for status in GoalStatus::ALL {
            assert_eq!(GoalStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                json!(status.as_str())
            );
        }
        assert_eq!(GoalStatus::parse("done"), None);
    }
}
