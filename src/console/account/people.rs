//! `/account/people`: the members' search of `GET /api/v1/users/search`, for premium
//! members and administrators.
//!
//! - `GET /account/people?q=&cursor=`: the search form and, once `q` is given, a page of
//!   public profiles (keyset-paginated, a "Next page" link carrying the API's
//!   `next_cursor`; `limit` as the API takes it). A mistake in `q` is shown next to the field (422) with the text
//!   kept. A basic member gets a page (403) explaining that searching is a premium
//!   feature, with the way to the upgrade button on the profile page.
//!
//! Searching changes nothing, so it is a GET form without a CSRF token.

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::Value;
use minijinja::value::Serde;

use super::profile::{Refused, mistakes, refused};
use crate::console::frame::AccountPage;
use crate::error::{ApiError, FieldError};
use crate::users::access::may_see_others;
use crate::users::search::{SearchQuery, search_page};
use crate::web::Web;

pub const TEMPLATES: &[(&str, &str)] = &[(
    "console/account/people.html",
    include_str!("../../../templates/web/console/account/people.html"),
)];

const PATH: &str = "/account/people";
const FIELDS: &[&str] = &["q"];

pub fn router() -> Router<Web> {
    Router::new().route(PATH, get(show))
}

/// `q`, `limit` and `cursor` of the query string (anything else is ignored); a `limit`
/// that is not a number is left to the API's default.
fn search_query(query: Option<&str>) -> SearchQuery {
    let mut search = SearchQuery::default();
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*name {
            "q" => search.q = Some(value.into_owned()),
            "cursor" if !value.is_empty() => search.cursor = Some(value.into_owned()),
            "limit" => search.limit = value.parse().ok(),
            _ => {}
        }
    }
    search
}

/// The link to the page after this one.
fn next_page_link(q: &str, limit: Option<u32>, cursor: &str) -> String {
    let mut link = form_urlencoded::Serializer::for_suffix(format!("{PATH}?"), PATH.len() + 1);
    link.append_pair("q", q);
    if let Some(limit) = limit {
        link.append_pair("limit", &limit.to_string());
    }
    link.append_pair("cursor", cursor);
    link.finish()
}

/// `GET /account/people`.
async fn show(page: AccountPage) -> Response {
    let AccountPage { web, session, .. } = &page;
    let search = search_query(page.query.as_deref());
    let q = search.q.clone().unwrap_or_default();
    let allowed = may_see_others(&session.user);
    let mut status = StatusCode::OK;
    let mut errors: Vec<FieldError> = Vec::new();
    let mut results = None;
    let mut next = None;
    if !allowed {
        status = StatusCode::FORBIDDEN;
    } else if search.q.is_some() {
        match search_page(&web.app.db, &session.user, &search).await {
            Ok(page) => {
                next = page
                    .next_cursor
                    .as_deref()
                    .map(|c| next_page_link(&q, search.limit, c));
                results = Some(Value::from(Serde(&page.items)));
            }
            Err(ApiError::Forbidden(_)) => status = StatusCode::FORBIDDEN,
            Err(e) => match refused(&web.pages, e) {
                Refused::Fields(refused_status, refused_errors) => {
                    status = refused_status;
                    errors = refused_errors;
                }
                Refused::Page(response) => return response,
            },
        }
    }
    let (errors, general) = mistakes(&web.pages, FIELDS, &errors);
    page.frame()
        .render(
            status,
            "console/account/people.html",
            "people",
            None,
            minijinja::context! {
                title => web.pages.tr("people-title"),
                allowed => allowed && status != StatusCode::FORBIDDEN,
                q => q,
                results => results,
                next => next,
                errors => errors,
                general => general,
            },
        )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_link_carries_the_text_and_the_cursor_encoded() {
        assert_eq!(
            next_page_link("a&b c", Some(2), "xy=="),
            "/account/people?q=a%26b+c&limit=2&cursor=xy%3D%3D"
        );
        let search = search_query(Some("q=a%26b+c&cursor=&limit=5&other=1"));
        assert_eq!(search.q.as_deref(), Some("a&b c"));
        assert_eq!(search.cursor, None);
        assert_eq!(search.limit, Some(5));
    }
}
