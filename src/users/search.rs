//! Finding accounts: the admin listing (`GET /users` with `q`, `role`, `tier`,
//! `is_active`) and the premium search (`GET /search`).
//!
//! Both read `user_search`, one row per account kept current by triggers (migration
//! 0002): its text joins username, full name, occupation, location and current title,
//! and its `seq` is the keyset: pages come in `seq` order (creation order), so rows
//! inserted meanwhile land after the pages already read, never duplicating or hiding
//! one. The text match is the only engine-specific SQL, behind [`find_users`]:
//!
//! - PostgreSQL: the lower-cased text `LIKE '%q%'` (q lower-cased), answered by a
//!   pg_trgm GIN index (or, for text on most accounts, by reading in keyset order);
//! - SQLite: an FTS5 trigram index (`user_search_fts`) queried with the phrase `"q"`,
//!   read in rowid (= `seq`) order, so a page stops after `limit` hits.
//!
//! `q` is matched as plain text ignoring case: `%`, `_`, quotes and backslashes are
//! escaped, never interpreted. Trigram indexes need at least 3 characters, so shorter
//! queries are refused (422) rather than scanning every account.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::accounts::model::{PublicUser, Role, Tier, User};
use crate::db::Db;
use crate::error::{ApiError, ApiResult, FieldError, Problem, Why};
use crate::http::{AdminUser, ApiQuery, AuthUser, Cursor, Page, PageQuery};
use crate::i18n::message_key;
use crate::state::AppState;
use crate::users::access::may_see_others;
use crate::users::profile::PRIVATE;
use crate::{on_exec, user_columns};

pub const MIN_QUERY: usize = 3;
pub const MAX_QUERY: usize = 100;

/// What to look for; every given criterion must hold.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Plain text matched, ignoring case, as a substring of username, full name,
    /// occupation, location or current title.
    pub text: Option<String>,
    pub role: Option<Role>,
    pub tier: Option<Tier>,
    pub is_active: Option<bool>,
    /// For the members' search: the text of an account whose profile is private
    /// (`profile_visibility`) is matched in its username and full name only, so its
    /// occupation, location and title cannot be found out by searching.
    pub respect_privacy: bool,
    /// Pages in the reverse keyset order (the admin console lists the newest accounts
    /// first); the cursor then counts down.
    pub newest_first: bool,
}

/// One account found, with its keyset position and public profile fields.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FoundUser {
    pub seq: i64,
    #[sqlx(flatten)]
    pub user: User,
    pub avatar_url: Option<String>,
    pub bio: Option<String>,
    pub profile_visibility: Option<String>,
}

impl FoundUser {
    /// The public view; a private profile's avatar and bio stay hidden.
    pub fn public(self) -> PublicUser {
        let shown = self.profile_visibility.as_deref() != Some(PRIVATE);
        PublicUser {
            id: self.user.id,
            username: self.user.username,
            full_name: self.user.full_name,
            avatar_url: self.avatar_url.filter(|_| shown),
            bio: self.bio.filter(|_| shown),
            created_at: self.user.created_at,
        }
    }
}

/// `q` checked: trimmed, 3 to 100 characters, no control characters.
pub fn parse_query_text(raw: &str) -> Result<String, FieldError> {
    let text = raw.trim();
    let length = text.chars().count();
    if !(MIN_QUERY..=MAX_QUERY).contains(&length) {
        return Err(Why::new(
            format!("must be {MIN_QUERY} to {MAX_QUERY} characters"),
            message_key("field-length-between"),
        )
        .with("min", MIN_QUERY)
        .with("max", MAX_QUERY)
        .at("q"));
    }
    if text.chars().any(char::is_control) {
        return Err(Why::new(
            "must not contain control characters",
            message_key("field-control-characters-none"),
        )
        .at("q"));
    }
    Ok(text.to_owned())
}

/// `%`, `_` and `\` made literal for `LIKE ... ESCAPE '\'`.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// An FTS5 phrase matching `text` literally (double quotes doubled).
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The bound form of search text on `db`'s engine: an FTS5 phrase or an escaped
/// lower-cased `LIKE` pattern.
pub fn pattern_for(db: &Db, text: &str) -> String {
    match db {
        Db::Sqlite(..) => fts_phrase(text),
        Db::Postgres(_) => like_pattern(&text.to_lowercase()),
    }
}

/// The SQL of one page of [`find_users`] for `db`'s engine, naming only the criteria
/// `filter` uses (so each shape gets a plan that fits it). Placeholders, in order: `$1`
/// the cursor, `$2` the limit, then role, tier, is_active, the text pattern and (with
/// `respect_privacy`) the lower-cased text, each only when given.
pub fn page_sql(db: &Db, filter: &UserFilter) -> String {
    let columns = concat!(
        "s.seq, ",
        user_columns!("u"),
        ", p.avatar_url, p.bio, p.profile_visibility"
    );
    let mut placeholder = 2;
    let mut next = || {
        placeholder += 1;
        placeholder
    };
    let mut criteria = String::new();
    if filter.role.is_some() {
        criteria.push_str(&format!(" AND u.role = ${}", next()));
    }
    if filter.tier.is_some() {
        criteria.push_str(&format!(" AND u.tier = ${}", next()));
    }
    if filter.is_active.is_some() {
        criteria.push_str(&format!(" AND u.is_active = ${}", next()));
    }
    let text = filter.text.is_some().then(&mut next);
    if let (true, Some(_)) = (filter.respect_privacy, text) {
        let names = match db {
            Db::Sqlite(..) => format!(
                "instr(lower(u.username || char(10) || coalesce(u.full_name, '')), ${}) > 0",
                next()
            ),
            Db::Postgres(_) => format!(
                "strpos(lower(u.username || chr(10) || coalesce(u.full_name, '')), ${}) > 0",
                next()
            ),
        };
        criteria.push_str(&format!(
            " AND (p.profile_visibility IS NULL OR p.profile_visibility <> '{PRIVATE}' OR {names})"
        ));
    }
    let (past, order) = if filter.newest_first {
        ("<", " DESC")
    } else {
        (">", "")
    };
    match (db, text) {
        (Db::Sqlite(..), Some(text)) => format!(
            "SELECT {columns} FROM user_search_fts f \
             JOIN user_search s ON s.seq = f.rowid JOIN users u ON u.id = s.user_id \
             LEFT JOIN user_profiles p ON p.user_id = u.id \
             WHERE user_search_fts MATCH ${text} AND f.rowid {past} $1{criteria} \
             ORDER BY f.rowid{order} LIMIT $2"
        ),
        (Db::Postgres(_), Some(text)) => format!(
            "SELECT {columns} FROM user_search s JOIN users u ON u.id = s.user_id \
             LEFT JOIN user_profiles p ON p.user_id = u.id \
             WHERE s.doc LIKE ${text} ESCAPE '\\' AND s.seq {past} $1{criteria} \
             ORDER BY s.seq{order} LIMIT $2"
        ),
        (_, None) => format!(
            "SELECT {columns} FROM user_search s JOIN users u ON u.id = s.user_id \
             LEFT JOIN user_profiles p ON p.user_id = u.id \
             WHERE s.seq {past} $1{criteria} ORDER BY s.seq{order} LIMIT $2"
        ),
    }
}

/// Up to `cursor.limit + 1` accounts matching `filter` after the cursor, in keyset order
/// (the extra row only tells that another page exists).
pub async fn find_users(
    db: &Db,
    filter: &UserFilter,
    cursor: &Cursor<i64>,
) -> Result<Vec<FoundUser>, sqlx::Error> {
    let pattern = filter.text.as_deref().map(|text| pattern_for(db, text));
    let sql = page_sql(db, filter);
    on_exec!(db, c => {
        // Not a cached prepared statement: PostgreSQL plans each search with its actual
        // values, choosing the trigram index for rare text and the keyset order for common.
        let mut query = sqlx::query_as::<_, FoundUser>(sqlx::AssertSqlSafe(sql.clone()))
            .persistent(false)
            .bind(cursor.after.unwrap_or(if filter.newest_first { i64::MAX } else { 0 }))
            .bind(i64::from(cursor.limit) + 1);
        if let Some(role) = filter.role {
            query = query.bind(role.as_str());
        }
        if let Some(tier) = filter.tier {
            query = query.bind(tier.as_str());
        }
        if let Some(is_active) = filter.is_active {
            query = query.bind(is_active);
        }
        if let Some(pattern) = &pattern {
            query = query.bind(pattern.clone());
        }
        if let (true, Some(text)) = (filter.respect_privacy, &filter.text) {
            query = query.bind(text.to_lowercase());
        }
        query.fetch_all(c).await
    })
}

fn seq_cursor(page: &PageQuery) -> Result<Cursor<i64>, ApiError> {
    page.decode(|bytes| <[u8; 8]>::try_from(bytes).ok().map(i64::from_be_bytes))
}

fn page_of<T>(rows: Vec<FoundUser>, limit: u32, view: impl Fn(FoundUser) -> T) -> Page<T> {
    let page = Page::from_rows(rows, limit, |row| row.seq.to_be_bytes().to_vec());
    Page {
        items: page.items.into_iter().map(view).collect(),
        next_cursor: page.next_cursor,
    }
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Text to find (3 to 100 characters) in username, full name, occupation, location
    /// or current title, ignoring case; `%`, `_` and quotes are plain characters.
    pub q: Option<String>,
    #[param(value_type = Option<String>, example = "admin")]
    pub role: Option<Role>,
    #[param(value_type = Option<String>, example = "premium")]
    pub tier: Option<Tier>,
    pub is_active: Option<bool>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Required: text to find (3 to 100 characters) in username, full name,
    /// occupation, location or current title, ignoring case; `%`, `_` and quotes are
    /// plain characters.
    pub q: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Checks `q` and the page parameters together, naming every failing one.
fn check(
    q: Option<&str>,
    q_required: bool,
    page: &PageQuery,
) -> ApiResult<(Option<String>, Cursor<i64>)> {
    let mut errors = Vec::new();
    let text = match q {
        Some(raw) if !raw.trim().is_empty() || q_required => match parse_query_text(raw) {
            Ok(text) => Some(text),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        _ if q_required => {
            errors.push(FieldError::new("q", "is required"));
            None
        }
        _ => None,
    };
    match seq_cursor(page) {
        Ok(cursor) if errors.is_empty() => Ok((text, cursor)),
        Ok(_) => Err(ApiError::Validation(errors)),
        Err(ApiError::Validation(more)) => {
            errors.extend(more);
            Err(ApiError::Validation(errors))
        }
        Err(other) => Err(other),
    }
}

/// List accounts (admin)
///
/// Every account, active or not, in creation order, optionally filtered; `q` matches as
/// on `/search`. Keyset-paginated: pages neither repeat nor skip accounts while others
/// are created.
#[utoipa::path(get, path = "/", tag = "users", security(("bearer" = [])), params(ListQuery),
    responses(
        (status = 200, description = "A page of accounts", body = Page<User>),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad parameter (named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<User>>> {
    Ok(Json(list_page(&state.db, &query).await?))
}

/// One page of the admin listing as `query` asks (the JSON endpoint and the console's
/// user search); 422 naming every bad parameter.
pub async fn list_page(db: &Db, query: &ListQuery) -> ApiResult<Page<User>> {
    list_page_in_order(db, query, false).await
}

/// [`list_page`], the newest accounts first when `newest_first` (the admin console).
pub async fn list_page_in_order(
    db: &Db,
    query: &ListQuery,
    newest_first: bool,
) -> ApiResult<Page<User>> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let (text, cursor) = check(query.q.as_deref(), false, &page)?;
    let filter = UserFilter {
        text,
        role: query.role,
        tier: query.tier,
        is_active: query.is_active,
        respect_privacy: false,
        newest_first,
    };
    let rows = find_users(db, &filter, &cursor).await?;
    Ok(page_of(rows, cursor.limit, |row| row.user))
}

/// Search members (premium members and admins)
///
/// Matches `q` (3 to 100 characters, required) as plain text, ignoring case, anywhere
/// in username, full name, occupation, location or current title; for members whose
/// profile is private (`profile_visibility`), in username and full name only, and their
/// avatar and bio are left out of the result. Only active accounts are found. Results come in creation order, keyset-paginated. Basic members get 403.
#[utoipa::path(get, path = "/search", tag = "users", security(("bearer" = [])), params(SearchQuery),
    responses(
        (status = 200, description = "A page of public profiles", body = Page<PublicUser>),
        (status = 403, description = "A basic member (search is a premium feature)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad parameter (named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn search_users(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Page<PublicUser>>> {
    Ok(Json(search_page(&state.db, &caller.user, &query).await?))
}

/// One page of the members' search as `searcher` may run it (`GET /search` and the
/// console's people page): 403 for a basic member, 422 naming every bad parameter.
pub async fn search_page(
    db: &Db,
    searcher: &User,
    query: &SearchQuery,
) -> ApiResult<Page<PublicUser>> {
    if !may_see_others(searcher) {
        return Err(ApiError::forbidden("search is a premium feature"));
    }
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let (text, cursor) = check(query.q.as_deref(), true, &page)?;
    let filter = UserFilter {
        text,
        is_active: Some(true),
        respect_privacy: !searcher.is_admin(),
        ..UserFilter::default()
    };
    let rows = find_users(db, &filter, &cursor).await?;
    Ok(page_of(rows, cursor.limit, FoundUser::public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_quotes_are_literal() {
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(fts_phrase("O\"Neil's"), "\"O\"\"Neil's\"");
    }

    #[test]
    fn queries_are_three_to_a_hundred_plain_characters() {
        assert_eq!(parse_query_text("  ann ").unwrap(), "ann");
        assert!(parse_query_text("an").is_err());
        assert!(parse_query_text(&"x".repeat(101)).is_err());
        assert!(parse_query_text("an\nn").is_err());
    }
}
