//! `GET /admin` and `GET /admin/users`: the user search, as `GET /api/v1/users` answers
//! it (the same query, [`list_page_in_order`]) but newest accounts first: `q`, `role`,
//! `tier` and `is_active` as a GET form above the list, keyset pages of `limit` accounts
//! with a "Next page" link that keeps the filters.

use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::Serialize;
use uuid::Uuid;

use super::listing::{Listing, limit_of, query_value};
use super::{SECTION, refused, view};
use crate::accounts::model::{Role, Tier, User};
use crate::console::frame::{AdminPage, ReturnTo};
use crate::error::{ApiError, FieldError};
use crate::i18n::message_key;
use crate::users::search::{ListQuery, list_page_in_order, parse_query_text};
use crate::web::Web;

pub fn router() -> Router<Web> {
    Router::new()
        .route("/admin", get(search))
        .route("/admin/users", get(search))
        .route_layer(Extension(ReturnTo("/admin/users")))
}

/// The search form as given, kept to fill the form again and to build the next link.
#[derive(Debug, Default, Serialize)]
struct Filters {
    q: Option<String>,
    role: Option<String>,
    tier: Option<String>,
    is_active: Option<String>,
    limit: Option<String>,
}

/// One row of the table.
#[derive(Serialize)]
struct Row {
    id: Uuid,
    username: String,
    email: String,
    role: &'static str,
    tier: &'static str,
    is_active: bool,
    email_verified: bool,
    created_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
}

impl From<User> for Row {
    fn from(user: User) -> Row {
        Row {
            id: user.id,
            username: user.username,
            email: user.email,
            role: user.role.as_str(),
            tier: user.tier.as_str(),
            is_active: user.is_active,
            email_verified: user.email_verified,
            created_at: user.created_at,
            last_login_at: user.last_login_at,
        }
    }
}

/// The API's query from the form's text, naming every value that is not one it takes
/// (`q` checked as the API checks it, so that its error shows beside the others).
fn list_query(filters: &Filters, cursor: Option<String>) -> Result<ListQuery, Vec<FieldError>> {
    let mut errors = Vec::new();
    if let Some(Err(error)) = filters.q.as_deref().map(parse_query_text) {
        errors.push(error);
    }
    let role = match filters.role.as_deref() {
        None => None,
        Some(text) => Role::try_from(text.to_owned())
            .map_err(|_| errors.push(refused("role", message_key("admin-field-role"))))
            .ok(),
    };
    let tier = match filters.tier.as_deref() {
        None => None,
        Some(text) => Tier::try_from(text.to_owned())
            .map_err(|_| errors.push(refused("tier", message_key("admin-field-tier"))))
            .ok(),
    };
    let is_active = match filters.is_active.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            errors.push(refused(
                "is_active",
                message_key("admin-field-true-or-false"),
            ));
            None
        }
    };
    let limit = limit_of(filters.limit.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ListQuery {
        q: filters.q.clone(),
        role,
        tier,
        is_active,
        limit,
        cursor,
    })
}

/// `GET /admin`, `GET /admin/users`: the accounts matching the filters, a page at a time.
async fn search(page: AdminPage) -> Response {
    let AdminPage { web, .. } = &page;
    let query = page.query.as_deref();
    let filters = Filters {
        q: query_value(query, "q"),
        role: query_value(query, "role"),
        tier: query_value(query, "tier"),
        is_active: query_value(query, "is_active"),
        limit: query_value(query, "limit"),
    };
    let cursor = query_value(query, "cursor");
    let is_next_page = cursor.is_some();
    let found = match list_query(&filters, cursor) {
        Ok(list) => list_page_in_order(&web.app.db, &list, true).await,
        Err(errors) => Err(ApiError::Validation(errors)),
    };
    let filter_pairs = [
        ("q", filters.q.as_deref()),
        ("role", filters.role.as_deref()),
        ("tier", filters.tier.as_deref()),
        ("is_active", filters.is_active.as_deref()),
        ("limit", filters.limit.as_deref()),
    ];
    let listing = match Listing::of(
        web,
        &page.headers,
        found,
        "/admin/users",
        &filter_pairs,
        Row::from,
    )
    .await
    {
        Ok(listing) => listing,
        Err(response) => return response,
    };
    page.frame().render(
        listing.status,
        "console/admin/users.html",
        SECTION,
        query,
        context! {
            title => web.pages.tr("admin-users-title"),
            filters => view(&filters),
            users => view(&listing.rows),
            next => listing.next,
            is_next_page => is_next_page,
            filtered => filters.role.is_some() || filters.tier.is_some() || filters.is_active.is_some() || filters.limit.is_some(),
            errors => listing.errors,
        },
    )
}
