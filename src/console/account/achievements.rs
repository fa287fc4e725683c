//! `/account/achievements`: the user's badges and learning goals, as
//! `/api/v1/users/{id}/badges` and `/goals` list them (the goals filtered by status, both
//! a page at a time by the API's cursors), and their forms, each calling what the
//! endpoint it mirrors calls, with its validation messages next to the fields:
//!
//! - this file: the page, and awarding a badge (`POST /account/achievements/badges`).
//! - [`goals`]: adding, editing, deleting and checking in on goals.

mod goals;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use minijinja::Value;
use minijinja::value::Serde;
use serde::Deserialize;

use super::security::problems::Refusal;
use crate::achievements::badges::{AwardBadge, BadgeListQuery, award_badge, badge_page};
use crate::achievements::goals::{GoalListQuery, GoalStatus, goal_page};
use crate::console::frame::{AccountPage, ConsoleForm, ReturnTo, done};
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::i18n::message_key;
use crate::patch::Patch;
use crate::web::Web;

pub const TEMPLATES: &[(&str, &str)] = &[(
    "console/account/achievements.html",
    include_str!("../../../templates/web/console/account/achievements.html"),
)];

const PATH: &str = "/account/achievements";

pub fn router() -> Router<Web> {
    Router::new()
        .route(PATH, get(show))
        .route("/account/achievements/badges", post(award))
        .route_layer(Extension(ReturnTo(PATH)))
        .merge(goals::router())
}

/// What one answer of the page shows besides the lists: the refused form (`badge`,
/// `goal`, or a goal's id), its messages, and the input it keeps.
#[derive(Default)]
struct Shown {
    form: String,
    refusal: Refusal,
    values: BTreeMap<String, String>,
}

/// The page's own query: the goals' status filter and the two lists' cursors.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    badges_cursor: Option<String>,
    #[serde(default)]
    goals_cursor: Option<String>,
}

fn list_query(query: Option<&str>) -> ListQuery {
    let mut list = ListQuery::default();
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let value = Some(value.into_owned()).filter(|v| !v.is_empty());
        match &*name {
            "status" => list.status = value,
            "badges_cursor" => list.badges_cursor = value,
            "goals_cursor" => list.goals_cursor = value,
            _ => {}
        }
    }
    list
}

/// The link to the page with `list` and one cursor changed.
fn page_link(list: &ListQuery, badges_cursor: Option<&str>, goals_cursor: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(status) = &list.status {
        query.append_pair("status", status);
    }
    if let Some(cursor) = badges_cursor {
        query.append_pair("badges_cursor", cursor);
    }
    if let Some(cursor) = goals_cursor {
        query.append_pair("goals_cursor", cursor);
    }
    format!("{PATH}?{}", query.finish())
}

async fn render(page: &AccountPage, query: Option<&str>, mut shown: Shown) -> Response {
    let AccountPage { web, session, .. } = page;
    let list = list_query(query);
    let user_id = session.user.id;
    let badge_query = BadgeListQuery {
        limit: None,
        cursor: list.badges_cursor.clone(),
    };
    let goal_query = GoalListQuery {
        status: list.status.clone(),
        limit: None,
        cursor: list.goals_cursor.clone(),
    };
    let mut list_alert = None;
    let badges = match badge_page(&web.app, user_id, badge_query).await {
        Ok(page) => page,
        Err(ApiError::Validation(_)) => {
            list_alert = Some(web.pages.tr("achievements-badge-page-gone"));
            let first = BadgeListQuery {
                limit: None,
                cursor: None,
            };
            match badge_page(&web.app, user_id, first).await {
                Ok(page) => page,
                Err(e) => return e.into_response(),
            }
        }
        Err(e) => return e.into_response(),
    };
    let goals = match goal_page(&web.app, user_id, goal_query).await {
        Ok(page) => page,
        Err(e @ ApiError::Validation(_)) => {
            let labels = [("status", message_key("achievements-label-status"))];
            match Refusal::of(e, &web.pages, &labels) {
                Ok(refusal) if shown.form.is_empty() => {
                    shown.form = "filter".into();
                    shown.refusal = refusal;
                }
                Ok(_) => {}
                Err(e) => return e.into_response(),
            }
            let all = GoalListQuery {
                status: None,
                limit: None,
                cursor: None,
            };
            match goal_page(&web.app, user_id, all).await {
                Ok(page) => page,
                Err(e) => return e.into_response(),
            }
        }
        Err(e) => return e.into_response(),
    };
    let next_badges = badges
        .next_cursor
        .as_deref()
        .map(|c| page_link(&list, Some(c), list.goals_cursor.as_deref()));
    let next_goals = goals
        .next_cursor
        .as_deref()
        .map(|c| page_link(&list, list.badges_cursor.as_deref(), Some(c)));
    let status = if shown.form.is_empty() {
        StatusCode::OK
    } else {
        shown.refusal.status
    };
    // Each status as the forms post it and in words.
    let status_words: BTreeMap<&str, String> = GoalStatus::ALL
        .iter()
        .map(|s| (s.as_str(), web.pages.tr(status_key(*s))))
        .collect();
    let statuses: Vec<Value> = GoalStatus::ALL
        .iter()
        .map(|s| minijinja::context! { value => s.as_str(), label => status_words[s.as_str()].clone() })
        .collect();
    let ctx = minijinja::context! {
        title => web.pages.tr("achievements-title"),
        badges => Value::from(Serde(&badges.items)),
        goals => Value::from(Serde(&goals.items)),
        next_badges => next_badges,
        next_goals => next_goals,
        first_page => (list.badges_cursor.is_some() || list.goals_cursor.is_some())
            .then(|| page_link(&list, None, None)),
        filter => list.status.clone().unwrap_or_default(),
        statuses => statuses,
        status_words => status_words,
        list_alert => list_alert,
        form => shown.form.clone(),
        errors => Value::from(Serde(&shown.refusal.errors)),
        alert => shown.refusal.alert.clone(),
        values => Value::from(Serde(&shown.values)),
    };
    let frame = page.frame();
    let response = frame.render(
        status,
        "console/account/achievements.html",
        "achievements",
        query,
        ctx,
    );
    shown.refusal.finish(response)
}

/// The key of a goal's status in words.
fn status_key(status: GoalStatus) -> &'static str {
    match status {
        GoalStatus::NotStarted => message_key("achievements-status-not-started"),
        GoalStatus::InProgress => message_key("achievements-status-in-progress"),
        GoalStatus::Completed => message_key("achievements-status-completed"),
        GoalStatus::Abandoned => message_key("achievements-status-abandoned"),
    }
}

/// `GET /account/achievements`.
async fn show(page: AccountPage) -> Response {
    render(&page, page.query.as_deref(), Shown::default()).await
}

/// A form's text as the API's JSON string.
fn text(value: &str) -> serde_json::Value {
    serde_json::Value::String(value.to_owned())
}

/// The page's answer to a refused form.
async fn refused(
    page: &AccountPage,
    form: String,
    values: BTreeMap<String, String>,
    error: ApiError,
    labels: &[(&str, &str)],
) -> Response {
    match Refusal::of(error, &page.web.pages, labels) {
        Ok(refusal) => {
            let shown = Shown {
                form,
                refusal,
                values,
            };
            render(page, None, shown).await
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct BadgeForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    icon_url: String,
    /// `YYYY-MM-DD` from a date field (midnight UTC that day), or an RFC 3339
    /// timestamp; empty for now.
    #[serde(default)]
    date_achieved: String,
}

const BADGE_LABELS: &[(&str, &str)] = &[
    ("name", message_key("achievements-label-name")),
    ("description", message_key("achievements-label-description")),
    ("icon_url", message_key("achievements-label-icon")),
    ("date_achieved", message_key("achievements-label-date")),
];

impl BadgeForm {
    fn award(&self) -> AwardBadge {
        let date = self.date_achieved.trim();
        let date_achieved = match date.len() {
            0 => None,
            10 if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok() => {
                Some(text(&format!("{date}T00:00:00Z")))
            }
            _ => Some(text(date)),
        };
        AwardBadge {
            name: Patch::Value(text(&self.name)),
            description: Some(text(&self.description)),
            icon_url: Some(text(&self.icon_url)),
            date_achieved,
        }
    }

    fn values(&self) -> BTreeMap<String, String> {
        [
            ("name", &self.name),
            ("description", &self.description),
            ("icon_url", &self.icon_url),
            ("date_achieved", &self.date_achieved),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect()
    }
}

/// `POST /account/achievements/badges`: as `POST /users/{me}/badges`.
async fn award(
    client: ClientInfo,
    page: AccountPage,
    ConsoleForm(form): ConsoleForm<BadgeForm>,
) -> Response {
    let AccountPage { web, session, .. } = &page;
    let me = session.user.id;
    match award_badge(&web.app, me, me, &form.award(), &client).await {
        Ok(_) => done(PATH, "badge-added"),
        Err(e) => {
            let values = form.values();
            refused(&page, "badge".into(), values, e, BADGE_LABELS).await
        }
    }
}
