//! The goal forms of `/account/achievements`: adding one (`POST .../goals`, as
//! `POST /users/{me}/goals`), editing its title, description and status
//! (`POST .../goals/{id}`, as `PATCH /users/{me}/goals/{id}`), deleting it
//! (`POST .../goals/{id}/delete`) and checking in for today (`POST .../goals/{id}/check-in`).

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::{PATH, refused, text};
use crate::achievements::check_in::check_in_today;
use crate::achievements::goal_changes::{UpdateGoal, change_goal};
use crate::achievements::goals::{CreateGoal, create_goal, delete_goal};
use crate::console::frame::{AccountPage, ConsoleForm, ReturnTo, done};
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::i18n::message_key;
use crate::patch::Patch;
use crate::web::Web;

pub(super) fn router() -> Router<Web> {
    Router::new()
        .route("/account/achievements/goals", post(add))
        .route("/account/achievements/goals/{goal_id}", post(edit))
        .route("/account/achievements/goals/{goal_id}/delete", post(delete))
        .route(
            "/account/achievements/goals/{goal_id}/check-in",
            post(check_in),
        )
        .route_layer(Extension(ReturnTo(PATH)))
}

const LABELS: &[(&str, &str)] = &[
    ("title", message_key("achievements-label-title")),
    ("description", message_key("achievements-label-description")),
    ("status", message_key("achievements-label-status")),
];

#[derive(Deserialize)]
struct GoalForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    status: String,
}

impl GoalForm {
    fn values(&self) -> BTreeMap<String, String> {
        [
            ("title", &self.title),
            ("description", &self.description),
            ("status", &self.status),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect()
    }
}

/// A goal id from the path; an unknown one answers like a goal of someone else (404).
fn goal_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::not_found("goal", message_key("not-found-goal")))
}

async fn add(
    client: ClientInfo,
    page: AccountPage,
    ConsoleForm(form): ConsoleForm<GoalForm>,
) -> Response {
    let AccountPage { web, session, .. } = &page;
    let create = CreateGoal {
        title: Patch::Value(text(&form.title)),
        description: Some(text(&form.description)),
        status: Some(form.status.trim()).filter(|s| !s.is_empty()).map(text),
        streak_count: None,
    };
    let me = session.user.id;
    match create_goal(&web.app, me, me, &create, &client).await {
        Ok(_) => done(PATH, "goal-added"),
        Err(e) => {
            let values = form.values();
            refused(&page, "goal".into(), values, e, LABELS).await
        }
    }
}

async fn edit(
    client: ClientInfo,
    Path(id): Path<String>,
    page: AccountPage,
    ConsoleForm(form): ConsoleForm<GoalForm>,
) -> Response {
    let AccountPage { web, session, .. } = &page;
    let update = UpdateGoal {
        title: Patch::Value(text(&form.title)),
        description: Patch::Value(text(&form.description)),
        status: Patch::Value(text(form.status.trim())),
        streak_count: Patch::Absent,
        id: Patch::Absent,
        created_at: Patch::Absent,
        updated_at: Patch::Absent,
        completed_at: Patch::Absent,
        last_check_in: Patch::Absent,
    };
    let me = session.user.id;
    let changed = match goal_id(&id) {
        Ok(goal_id) => change_goal(&web.app, me, me, goal_id, &update, &client).await,
        Err(e) => Err(e),
    };
    match changed {
        Ok(_) => done(PATH, "goal-saved"),
        Err(e) => refused(&page, id, form.values(), e, LABELS).await,
    }
}

async fn delete(
    client: ClientInfo,
    Path(id): Path<String>,
    page: AccountPage,
    _: ConsoleForm,
) -> Response {
    let AccountPage { web, session, .. } = &page;
    let me = session.user.id;
    let deleted = match goal_id(&id) {
        Ok(goal_id) => delete_goal(&web.app, me, me, goal_id, &client).await,
        Err(e) => Err(e),
    };
    match deleted {
        Ok(()) => done(PATH, "goal-deleted"),
        Err(e) => refused(&page, id, BTreeMap::new(), e, &[]).await,
    }
}

async fn check_in(Path(id): Path<String>, page: AccountPage, _: ConsoleForm) -> Response {
    let AccountPage { web, session, .. } = &page;
    let checked = match goal_id(&id) {
        Ok(goal_id) => check_in_today(&web.app, session.user.id, goal_id).await,
        Err(e) => Err(e),
    };
    match checked {
        Ok(_) => done(PATH, "checked-in"),
        Err(e) => refused(&page, id, BTreeMap::new(), e, &[]).await,
    }
}
