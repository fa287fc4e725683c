//! Badges: what a user has achieved, listed publicly oldest achievement first and
//! awarded by the user or an administrator. A user holds a badge name at most once,
//! ignoring case; the unique index on `(user_id, name_key)` decides, so two concurrent
//! awards of one name end in one badge and one 409.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::input::{self, Checks, Patch, TextRule};
use super::{event, is_foreign_key_violation};
use crate::accounts::model::find_user_or_404;
use crate::audit::{self, AuditEntry};
use crate::db::Exec;
use crate::error::{ApiError, ApiResult, Problem, ResultExt, Why};
use crate::http::{ApiJson, ApiPath, ApiQuery, AuthUser, ClientInfo, Created, Page, PageQuery};
use crate::i18n::message_key;
use crate::on_exec;
use crate::state::AppState;

pub const MAX_NAME: usize = 100;
pub const MAX_DESCRIPTION: usize = 500;
/// How far in the future `date_achieved` may lie, for clients whose clocks run ahead.
pub const FUTURE_LEEWAY: Duration = Duration::seconds(60);

const NAME: TextRule = TextRule {
    max: MAX_NAME,
    multiline: false,
};
const DESCRIPTION: TextRule = TextRule {
    max: MAX_DESCRIPTION,
    multiline: true,
};

/// A badge a user has earned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Badge {
    pub id: Uuid,
    /// 1 to 100 characters; unique per user, ignoring case.
    pub name: String,
    /// At most 500 characters.
    pub description: Option<String>,
    /// An http or https URL.
    pub icon_url: Option<String>,
    /// When the badge was earned (RFC 3339, UTC).
    pub date_achieved: DateTime<Utc>,
}

/// A badge to award.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwardBadge {
    /// 1 to 100 characters after trimming; a user holds each name once, ignoring case.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, example = "Week of Rust")]
    pub name: Patch<Value>,
    /// At most 500 characters; line breaks allowed; blank or null means none.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Option<Value>,
    /// An absolute http or https URL (at most 2048 characters, no credentials).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "https://example.com/badges/rust.png")]
    pub icon_url: Option<Value>,
    /// RFC 3339 timestamp, not in the future (a minute's leeway); defaults to now.
    #[serde(default)]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub date_achieved: Option<Value>,
}

/// A badge that passed validation.
#[derive(Debug, Clone)]
pub struct NewBadge {
    pub name: String,
    pub description: Option<String>,
    pub icon_url: Option<String>,
    pub date_achieved: DateTime<Utc>,
}

impl AwardBadge {
    /// Checks every field; `now` is the default and the upper bound of `date_achieved`.
    pub fn parse(&self, now: DateTime<Utc>) -> Result<NewBadge, ApiError> {
        let mut checks = Checks::default();
        let name = checks.check(input::required_text(&self.name, "name", NAME));
        let description = match &self.description {
            Some(value) => checks
                .check(input::text(value, "description", DESCRIPTION))
                .flatten(),
            None => None,
        };
        let icon_url = match &self.icon_url {
            Some(value) => checks.check(input::web_url(value, "icon_url")).flatten(),
            None => None,
        };
        let date_achieved = match &self.date_achieved {
            None => Some(now),
            Some(value) => match checks.check(input::timestamp(value, "date_achieved")) {
                Some(at) if at > now + FUTURE_LEEWAY => {
                    checks.fail(
                        "date_achieved",
                        Why::new("must not be in the future", message_key("field-not-future")),
                    );
                    None
                }
                other => other,
            },
        };
        match (name, date_achieved) {
            (Some(name), Some(date_achieved)) if checks.errors.is_empty() => Ok(NewBadge {
                name,
                description,
                icon_url,
                date_achieved,
            }),
            _ => Err(ApiError::Validation(checks.errors)),
        }
    }
}

/// The key the unique index compares: the name lower-cased.
fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Inserts a badge; the same name twice for one user fails with a unique violation.
pub async fn insert_badge(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    new: &NewBadge,
    now: DateTime<Utc>,
) -> Result<Badge, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, Badge>(
        "INSERT INTO badges (id, user_id, name, name_key, description, icon_url, date_achieved, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, name, description, icon_url, date_achieved")
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(&new.name)
        .bind(name_key(&new.name))
        .bind(&new.description)
        .bind(&new.icon_url)
        .bind(new.date_achieved)
        .bind(now)
        .fetch_one(c)
        .await)
}

/// Where a page of badges starts: after this `(date_achieved, id)`.
type BadgeKey = (DateTime<Utc>, Uuid);

fn encode_key(badge: &Badge) -> Vec<u8> {
    let mut bytes = badge
        .date_achieved
        .timestamp_micros()
        .to_be_bytes()
        .to_vec();
    bytes.extend_from_slice(badge.id.as_bytes());
    bytes
}

fn decode_key(bytes: &[u8]) -> Option<BadgeKey> {
    let (micros, id) = bytes.split_first_chunk::<8>()?;
    let at = DateTime::from_timestamp_micros(i64::from_be_bytes(*micros))?;
    Some((at, Uuid::from_slice(id).ok()?))
}

/// Up to `limit + 1` badges of `user_id` after `after`, oldest achievement first (ties
/// broken by id, so the order is total and pages neither repeat nor skip).
pub async fn list_badges(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    after: Option<BadgeKey>,
    limit: u32,
) -> Result<Vec<Badge>, sqlx::Error> {
    let (after_at, after_id) = after.unzip();
    on_exec!(ex, c => sqlx::query_as::<_, Badge>(
        "SELECT id, name, description, icon_url, date_achieved FROM badges \
         WHERE user_id = $1 AND ($2 IS NULL OR date_achieved > $2 OR (date_achieved = $2 AND id > $3)) \
         ORDER BY date_achieved, id LIMIT $4")
        .bind(user_id)
        .bind(after_at)
        .bind(after_id)
        .bind(i64::from(limit) + 1)
        .fetch_all(c)
        .await)
}

/// `?limit=&cursor=` of the badge list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BadgeListQuery {
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A user's badges, oldest achievement first
///
/// Public: no token is needed (one that is sent is not looked at). Badges are ordered by
/// `date_achieved`, then by id, and keyset-paginated: pass `next_cursor` as `cursor` for
/// the next page; it is null on the last page.
#[utoipa::path(get, operation_id = "list_badges", path = "/{user_id}/badges", tag = "achievements",
    params(("user_id" = Uuid, Path, description = "The user"), BadgeListQuery),
    responses(
        (status = 200, description = "A page of badges", body = Page<Badge>),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad `limit`, `cursor` or an unknown parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<BadgeListQuery>,
) -> ApiResult<Json<Page<Badge>>> {
    badge_page(&state, user_id, query).await.map(Json)
}

/// The page of `user_id`'s badges that `query` asks for (422 for a bad limit or cursor,
/// 404 for an unknown user).
pub async fn badge_page(
    state: &AppState,
    user_id: Uuid,
    query: BadgeListQuery,
) -> ApiResult<Page<Badge>> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .decode(decode_key)?;
    let rows = list_badges(&state.db, user_id, page.after, page.limit).await?;
    if rows.is_empty() {
        find_user_or_404(&state.db, user_id).await?;
    }
    Ok(Page::from_rows(rows, page.limit, encode_key))
}

/// Award a badge to a user
///
/// The user themself or an administrator may award. `name` is trimmed and must be 1 to
/// 100 characters; the same name twice for one user (ignoring case) is `409` naming
/// `name`. `description` holds at most 500 characters. `icon_url` must be an absolute
/// http or https URL without credentials. `date_achieved` defaults to now and may not lie
/// in the future (beyond a minute's leeway for clock skew); past dates are accepted, to
/// record badges earned before. The award is written to the audit trail.
#[utoipa::path(post, operation_id = "award_badge", path = "/{user_id}/badges", tag = "achievements", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The user who earned the badge")),
    request_body = AwardBadge,
    responses(
        (status = 201, description = "The badge", body = Badge),
        (status = 403, description = "The caller is neither this user nor an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user already has a badge of this name (ignoring case)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed; every failing field is named", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn award(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiPath(user_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AwardBadge>,
) -> ApiResult<Created<Badge>> {
    caller.require_self_or_admin(user_id)?;
    award_badge(&state, caller.id(), user_id, &body, &client)
        .await
        .map(Created)
}

/// Awards `user_id` the badge `body` describes, on behalf of `actor_id` (who the caller
/// checked may act for them): 422 naming every bad field, 404 for an unknown user, 409
/// naming `name` for a name held already. Audited.
pub async fn award_badge(
    state: &AppState,
    actor_id: Uuid,
    user_id: Uuid,
    body: &AwardBadge,
    client: &ClientInfo,
) -> ApiResult<Badge> {
    let now = state.clock.now();
    let new = body.parse(now)?;
    let mut tx = state.db.begin().await?;
    find_user_or_404(&mut tx, user_id).await?;
    let badge = match insert_badge(&mut tx, user_id, &new, now).await {
        Err(e) if is_foreign_key_violation(&e) => {
            return Err(ApiError::not_found("user", message_key("not-found-user")));
        }
        inserted => inserted.on_unique_violation(|_| {
            let why = Why::new(
                "this user already has a badge with this name",
                message_key("conflict-badge-name"),
            );
            ApiError::conflict("name", why)
        })?,
    };
    let entry = AuditEntry {
        event: event::BADGE_AWARDED,
        actor_id: Some(actor_id),
        user_id: Some(user_id),
        client: Some(client),
        detail: json!({"badge_id": badge.id, "name": badge.name}),
    };
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(badge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_keys_round_trip() {
        let badge = Badge {
            id: Uuid::now_v7(),
            name: "n".into(),
            description: None,
            icon_url: None,
            date_achieved: DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap(),
        };
        assert_eq!(
            decode_key(&encode_key(&badge)),
            Some((badge.date_achieved, badge.id))
        );
        assert_eq!(decode_key(&[1, 2, 3]), None);
    }
}
