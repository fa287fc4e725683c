//! `GET /admin/audit`: the audit trail, newest first, filtered by account and event,
//! keyset-paginated on the event id (UUIDv7, so time-ordered): events recorded while
//! an administrator pages through appear before the first page, never inside the rest.
//! [`audit_page`] answers both the JSON endpoint and the console's audit page.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::Db;
use crate::error::{ApiError, ApiResult, Problem, Why};
use crate::http::{AdminUser, ApiQuery, Page, PageQuery};
use crate::on_exec;
use crate::state::AppState;

const MAX_EVENT_NAME: usize = 64;

/// One recorded event.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// e.g. `login_success`, `role_change`, `payment_info_change`.
    pub event: String,
    /// Who acted; null for anonymous or system actions.
    pub actor_id: Option<Uuid>,
    /// Whose account it concerns.
    pub user_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Ids and field names only; never a secret.
    #[schema(value_type = Object)]
    pub detail: sqlx::types::Json<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events about this account.
    pub user_id: Option<Uuid>,
    /// Only events of this name (e.g. `login_failure`).
    pub event: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The audit trail (admin)
///
/// Newest first. Events cover registration, logins (success, failure, lockout),
/// logout, refresh-token reuse, password change and reset, email verification, session
/// revocation, role, tier and status changes, account, profile, preferences and
/// payment-information changes, and deletion.
#[utoipa::path(get, path = "/audit", tag = "admin", security(("bearer" = [])), params(AuditQuery),
    responses(
        (status = 200, description = "A page of events", body = Page<AuditEvent>),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad parameter (named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_audit_events(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<AuditEvent>>> {
    Ok(Json(audit_page(&state.db, &query).await?))
}

/// One page of the audit trail as `query` asks, newest first; 422 naming every bad
/// parameter.
pub async fn audit_page(db: &Db, query: &AuditQuery) -> ApiResult<Page<AuditEvent>> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let mut errors = Vec::new();
    let event = query
        .event
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty());
    if event.is_some_and(|e| e.len() > MAX_EVENT_NAME || e.chars().any(char::is_control)) {
        errors.push(
            Why::new(
                format!("must be an event name of at most {MAX_EVENT_NAME} characters"),
                crate::i18n::message_key("field-event-name"),
            )
            .with("max", MAX_EVENT_NAME)
            .at("event"),
        );
    }
    let cursor = match page.by_id() {
        Ok(cursor) => Some(cursor),
        Err(ApiError::Validation(more)) => {
            errors.extend(more);
            None
        }
        Err(other) => return Err(other),
    };
    let Some(cursor) = cursor.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    // Only the predicates in use, so each query shape gets a plan that uses its index.
    let mut sql = String::from(
        "SELECT id, at, event, actor_id, user_id, ip, user_agent, detail FROM audit_events WHERE TRUE",
    );
    let mut placeholder = 0;
    let mut next = || {
        placeholder += 1;
        placeholder
    };
    if query.user_id.is_some() {
        sql.push_str(&format!(" AND user_id = ${}", next()));
    }
    if event.is_some() {
        sql.push_str(&format!(" AND event = ${}", next()));
    }
    if cursor.after.is_some() {
        sql.push_str(&format!(" AND id < ${}", next()));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", next()));
    let rows = on_exec!(db, c => {
        let mut q = sqlx::query_as::<_, AuditEvent>(sqlx::AssertSqlSafe(sql.clone()));
        if let Some(user_id) = query.user_id {
            q = q.bind(user_id);
        }
        if let Some(event) = event {
            q = q.bind(event.to_owned());
        }
        if let Some(after) = cursor.after {
            q = q.bind(after);
        }
        q.bind(i64::from(cursor.limit) + 1).fetch_all(c).await
    })?;
    Ok(Page::from_rows(rows, cursor.limit, |row| {
        row.id.as_bytes().to_vec()
    }))
}
