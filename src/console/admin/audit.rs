//! `GET /admin/audit`: the audit log, as `GET /api/v1/admin/audit` answers it (the same
//! [`audit_page`]): newest first, filtered by account (`user_id`) and event name (a
//! select of the names Roster records), a page of `limit` at a time with a "Next page"
//! link keeping the filters. The events read as [`super::event_rows`] shows them.

use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use minijinja::context;
use serde::Serialize;
use uuid::Uuid;

use super::event_rows::{event_rows, usernames};
use super::event_words::EVENTS;
use super::listing::{Listing, limit_of, query_value};
use super::{SECTION, failure_page, refused, view};
use crate::admin::audit_log::{AuditQuery, audit_page};
use crate::console::frame::{AdminPage, ReturnTo};
use crate::error::{ApiError, FieldError};
use crate::i18n::message_key;
use crate::web::Web;

pub fn router() -> Router<Web> {
    Router::new()
        .route("/admin/audit", get(audit_log))
        .route_layer(Extension(ReturnTo("/admin/audit")))
}

/// The filter form as given.
#[derive(Debug, Default, Serialize)]
struct Filters {
    user_id: Option<String>,
    event: Option<String>,
    limit: Option<String>,
}

fn audit_query(filters: &Filters, cursor: Option<String>) -> Result<AuditQuery, Vec<FieldError>> {
    let mut errors = Vec::new();
    let user_id = match filters.user_id.as_deref() {
        None => None,
        Some(text) => Uuid::parse_str(text)
            .map_err(|_| {
                errors.push(refused(
                    "user_id",
                    message_key("admin-audit-field-account-id"),
                ))
            })
            .ok(),
    };
    let limit = limit_of(filters.limit.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(AuditQuery {
        user_id,
        event: filters.event.clone(),
        limit,
        cursor,
    })
}

/// `GET /admin/audit`: a page of the audit log.
async fn audit_log(page: AdminPage) -> Response {
    let AdminPage { web, .. } = &page;
    let query = page.query.as_deref();
    let filters = Filters {
        user_id: query_value(query, "user_id"),
        event: query_value(query, "event"),
        limit: query_value(query, "limit"),
    };
    let found = match audit_query(&filters, query_value(query, "cursor")) {
        Ok(audit) => audit_page(&web.app.db, &audit).await,
        Err(errors) => Err(ApiError::Validation(errors)),
    };
    let filter_pairs = [
        ("user_id", filters.user_id.as_deref()),
        ("event", filters.event.as_deref()),
        ("limit", filters.limit.as_deref()),
    ];
    let listing = match Listing::of(
        web,
        &page.headers,
        found,
        "/admin/audit",
        &filter_pairs,
        |e| e,
    )
    .await
    {
        Ok(listing) => listing,
        Err(response) => return response,
    };
    let rows = match event_rows(&web.app.db, &web.pages, listing.rows).await {
        Ok(rows) => rows,
        Err(e) => return failure_page(web, &page.headers, e.into()).await,
    };
    // The account the log is filtered by, named with a link to its page.
    let account = match filters.user_id.as_deref().map(Uuid::parse_str) {
        Some(Ok(id)) => match usernames(&web.app.db, &[id].into()).await {
            Ok(mut names) => names
                .remove(&id)
                .map(|username| context! { id => id.to_string(), username }),
            Err(e) => return failure_page(web, &page.headers, e.into()).await,
        },
        _ => None,
    };
    let event_names: Vec<minijinja::Value> = EVENTS
        .iter()
        .map(|(name, key)| context! { name => *name, what => web.pages.tr(key) })
        .collect();
    page.frame().render(
        listing.status,
        "console/admin/audit.html",
        SECTION,
        query,
        context! {
            title => web.pages.tr("admin-audit-title"),
            filters => view(&filters),
            event_names => event_names,
            events => view(&rows),
            account => account,
            next => listing.next,
            errors => listing.errors,
        },
    )
}
