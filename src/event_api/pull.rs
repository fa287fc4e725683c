//! `GET /api/v1/events`: the events after a sequence, in sequence order, filtered by type
//! and subject. Readers are administrators (their own bearer token) and services: a
//! confidential client with `client_credentials` whose token carries `events:read`.
//! Roster does not give that scope to anyone by itself: an administrator registers it
//! on the service's client (`"scopes": ["events:read"]`), like any API scope.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::authenticate::authenticate;
use crate::error::{ApiError, ApiResult, AuthProblem, FieldError, Problem};
use crate::events::feed::{self, CloudEvent, PageRequest};
use crate::events::filter::TypeFilter;
use crate::http::{ApiQuery, bearer_token};
use crate::oidc::revocation::live_service_claims;
use crate::oidc::scope::Scopes;
use crate::state::AppState;

/// The API scope a service's token needs to read events.
pub const EVENTS_READ: &str = "events:read";

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;
const MAX_SUBJECT: usize = 255;

/// Who may read the event log.
#[derive(Debug, Clone)]
pub enum EventReader {
    Administrator,
    /// A service (`client_credentials`), by client id.
    Service(String),
}

impl FromRequestParts<AppState> for EventReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers)?
            .ok_or(ApiError::Unauthorized(AuthProblem::MissingToken))?;
        if let Some(claims) = live_service_claims(state, token).await? {
            let scopes = Scopes::parse(&claims.scope).unwrap_or_default();
            if !scopes.contains(EVENTS_READ) {
                return Err(ApiError::forbidden(format!(
                    "this token lacks the scope {EVENTS_READ}"
                )));
            }
            return Ok(EventReader::Service(claims.client_id));
        }
        let caller = authenticate(state, token).await?;
        if !caller.is_admin() {
            return Err(ApiError::forbidden(format!(
                "the events are for administrators and services with the scope {EVENTS_READ}"
            )));
        }
        Ok(EventReader::Administrator)
    }
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Only events with a greater `sequence`: the `next_cursor` of the previous answer
    /// (default 0, from the oldest event kept).
    #[param(example = "0")]
    pub after: Option<String>,
    /// Event types, comma-separated; one ending in `.*` takes every type under that
    /// prefix (`user.*` also takes `user.email.changed`). Without it every type except
    /// `login.succeeded` and `login.failed`, which come only when named (`login.*`).
    #[serde(rename = "type")]
    #[param(example = "user.*")]
    pub kind: Option<String>,
    /// Only the events of this subject (an account id, or a client id).
    pub subject: Option<String>,
    /// At most this many events, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// A page of events in `sequence` order.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub items: Vec<CloudEvent>,
    /// What to send as `after` next: the last event's `sequence`, or the `after` sent
    /// when nothing newer matched.
    #[schema(example = "42")]
    pub next_cursor: String,
}

/// Pull and replay the events
///
/// The events after `after`, oldest first, as CloudEvents 1.0. `sequence` is handed out
/// in commit order, so polling with `after` set to the last `next_cursor` never skips an
/// event. Events are kept `EVENT_RETENTION_DAYS` (30). For an administrator's token or a
/// `client_credentials` token with the scope `events:read`.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", security(("bearer" = [])), params(EventQuery),
    responses(
        (status = 200, description = "Events in sequence order", body = EventList),
        (status = 401, description = "No token, or not a valid one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither an administrator nor a service with the scope `events:read`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad parameter (named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_events(
    State(state): State<AppState>,
    _reader: EventReader,
    ApiQuery(query): ApiQuery<EventQuery>,
) -> ApiResult<Json<EventList>> {
    let request = page_request(&query)?;
    // What committed since the sequencer last ran is numbered before it is read.
    crate::events::log::sequence_pending(&state.db).await?;
    let page = feed::page(&state.db, &state.config.http.public_url, &request).await?;
    Ok(Json(EventList {
        items: page.items,
        next_cursor: page.next_cursor.to_string(),
    }))
}

/// `query` checked; 422 naming every bad parameter.
fn page_request(query: &EventQuery) -> ApiResult<PageRequest> {
    let mut errors = Vec::new();
    let after = match query.after.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .unwrap_or_else(|| {
                errors.push(FieldError::new(
                    "after",
                    "must be a sequence: a whole number of at least 0",
                ));
                0
            }),
    };
    let types = match query.kind.as_deref() {
        None => TypeFilter::default(),
        Some(text) => TypeFilter::parse(text).unwrap_or_else(|message| {
            errors.push(FieldError::new("type", message));
            TypeFilter::default()
        }),
    };
    let subject = query.subject.as_deref().map(str::trim);
    if subject
        .is_some_and(|s| s.is_empty() || s.len() > MAX_SUBJECT || s.chars().any(char::is_control))
    {
        errors.push(FieldError::new(
            "subject",
            format!("must be an account or client id of 1 to {MAX_SUBJECT} characters"),
        ));
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        errors.push(FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(PageRequest {
        after,
        types,
        subject: subject.map(str::to_owned),
        limit,
    })
}
