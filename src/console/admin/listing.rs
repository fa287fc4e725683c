//! What the admin pages that list things a page at a time share (users, audit log,
//! clients): the filters read from a GET form's query string, the API's page turned
//! into rows and a "Next page" link that keeps the filters, a refused query shown as
//! field errors.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{failure_page, field_errors, refused};
use crate::error::{ApiError, FieldError};
use crate::http::Page;
use crate::i18n::message_key;
use crate::web::Web;

/// The value of `name` in a query string, when given and not empty.
pub(super) fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// `path?name=value&...` with the given pairs (empty values left out).
pub(super) fn link_with(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            query.append_pair(name, value);
        }
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// The `limit` filter as a number; the field error when it is not a whole number.
pub(super) fn limit_of(text: Option<&str>, errors: &mut Vec<FieldError>) -> Option<u32> {
    text?
        .parse::<u32>()
        .map_err(|_| errors.push(refused("limit", message_key("admin-field-whole-number"))))
        .ok()
}

/// A page of a listing as the templates show it.
pub(super) struct Listing<R> {
    /// 200, or 422 when the query was refused.
    pub status: StatusCode,
    pub rows: Vec<R>,
    /// The link to the next page, when there is one.
    pub next: Option<String>,
    /// A refused query's messages by field.
    pub errors: BTreeMap<String, String>,
}

impl<R> Listing<R> {
    /// The listing of what the API `found`, each item made a row by `row`; the next page
    /// is `path` with `filters` and the page's cursor. A refused query is a listing of
    /// its field errors; any other error, the failure page.
    pub async fn of<T>(
        web: &Web,
        headers: &HeaderMap,
        found: Result<Page<T>, ApiError>,
        path: &str,
        filters: &[(&str, Option<&str>)],
        row: impl FnMut(T) -> R,
    ) -> Result<Listing<R>, Response> {
        match found {
            Ok(page) => {
                let next = page.next_cursor.map(|cursor| {
                    let mut pairs = filters.to_vec();
                    pairs.push(("cursor", Some(&cursor)));
                    link_with(path, &pairs)
                });
                Ok(Listing {
                    status: StatusCode::OK,
                    rows: page.items.into_iter().map(row).collect(),
                    next,
                    errors: BTreeMap::new(),
                })
            }
            Err(ApiError::Validation(errors)) => Ok(Listing {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                rows: Vec::new(),
                next: None,
                errors: field_errors(&web.pages, &errors),
            }),
            Err(other) => Err(failure_page(web, headers, other).await),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_only_the_given_filters() {
        assert_eq!(
            link_with(
                "/admin/users",
                &[("q", Some("a b&c")), ("role", None), ("tier", Some(""))]
            ),
            "/admin/users?q=a+b%26c"
        );
        assert_eq!(link_with("/admin/audit", &[]), "/admin/audit");
    }

    #[test]
    fn a_limit_that_is_no_whole_number_is_a_field_error() {
        let mut errors = Vec::new();
        assert_eq!(limit_of(Some("20"), &mut errors), Some(20));
        assert_eq!(limit_of(None, &mut errors), None);
        assert!(errors.is_empty());
        assert_eq!(limit_of(Some("-1"), &mut errors), None);
        assert_eq!(errors[0].field, "limit");
    }
}
