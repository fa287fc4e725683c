//! `GET /admin/audit`: the audit log, as `GET /api/v1/admin/audit` answers it (the same
//! [`audit_page`]): newest first, filtered by account (`user_id`) and event name (a
//! select of the names Roster records), a page of `limit` at a time with a "Next page"
//! link keeping the filters. Each event's `detail` is shown as compact JSON text.

use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use minijinja::context;
use serde::Serialize;
use uuid::Uuid;

use super::listing::{Listing, limit_of, query_value};
use super::{SECTION, view, when};
use crate::admin::audit_log::{AuditEvent, AuditQuery, audit_page};
use crate::audit::event;
use crate::console::frame::{AdminPage, ReturnTo};
use crate::error::{ApiError, FieldError};
use crate::web::Web;

pub fn router() -> Router<Web> {
    Router::new()
        .route("/admin/audit", get(audit_log))
        .route_layer(Extension(ReturnTo("/admin/audit")))
}

/// The event names Roster records (`crate::audit::event`), for the filter's select.
pub const EVENTS: &[&str] = &[
    event::REGISTER,
    event::LOGIN_SUCCESS,
    event::LOGIN_FAILURE,
    event::LOGIN_LOCKED,
    event::PASSWORD_CONFIRMATION_FAILURE,
    event::LOGOUT,
    event::LOGOUT_ALL,
    event::TOKEN_REFRESH_REUSE,
    event::SESSION_REVOKED,
    event::PASSWORD_CHANGE,
    event::PASSWORD_REHASH,
    event::PASSWORD_RESET_REQUEST,
    event::PASSWORD_RESET,
    event::EMAIL_VERIFICATION_REQUEST,
    event::EMAIL_VERIFIED,
    event::ROLE_CHANGE,
    event::TIER_CHANGE,
    event::STATUS_CHANGE,
    event::ACCOUNT_UPDATE,
    event::EMAIL_CHANGE_REQUEST,
    event::EMAIL_CHANGE_CONFIRM,
    event::EMAIL_CHANGE_CANCEL,
    event::EMAIL_CHANGE_BY_ADMIN,
    event::PROFILE_CHANGE,
    event::PREFERENCES_CHANGE,
    event::PAYMENT_INFO_CHANGE,
    event::USER_DELETED,
    event::ADMIN_CREATED,
    event::USER_IMPORTED,
    event::USER_INVITED,
    event::INVITATION_ACCEPTED,
    event::MFA_TOTP_ADDED,
    event::MFA_TOTP_REMOVED,
    event::PASSKEY_ADDED,
    event::PASSKEY_REMOVED,
    event::RECOVERY_CODES_REGENERATED,
    event::RECOVERY_CODE_USED,
    event::MFA_FAILED,
    event::MFA_RESET,
    event::REAUTHENTICATED,
    event::CLIENT_CREATED,
    event::CLIENT_UPDATED,
    event::CLIENT_DELETED,
    event::CLIENT_SECRET_ROTATED,
    event::GRANT_GIVEN,
    event::GRANT_REVOKED,
    event::AUTHORIZATION_CODE_REUSED,
    event::SIGNED_OUT,
    event::WEBHOOK_CREATED,
    event::WEBHOOK_UPDATED,
    event::WEBHOOK_DELETED,
    event::WEBHOOK_SECRET_ROTATED,
    event::WEBHOOK_TESTED,
    event::WEBHOOK_DISABLED,
    event::WEBHOOK_DELIVERY_DEAD,
    event::WEBHOOK_DELIVERY_RETRIED,
    event::WEBHOOK_REDRIVEN,
];

/// One event as a row of a table (also on a user's page).
#[derive(Serialize)]
pub struct EventRow {
    at: String,
    event: String,
    actor_id: Option<Uuid>,
    user_id: Option<Uuid>,
    ip: Option<String>,
    user_agent: Option<String>,
    /// Compact JSON; the template escapes it like any text.
    detail: String,
}

impl From<AuditEvent> for EventRow {
    fn from(event: AuditEvent) -> EventRow {
        EventRow {
            at: when(event.at),
            event: event.event,
            actor_id: event.actor_id,
            user_id: event.user_id,
            ip: event.ip,
            user_agent: event.user_agent,
            detail: event.detail.0.to_string(),
        }
    }
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
            .map_err(|_| errors.push(FieldError::new("user_id", "must be an account id (a UUID)")))
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
    let listing = match Listing::of(web, found, "/admin/audit", &filter_pairs, EventRow::from) {
        Ok(listing) => listing,
        Err(response) => return response,
    };
    page.frame().render(
        listing.status,
        "console/admin/audit.html",
        SECTION,
        query,
        context! {
            title => "Audit log",
            filters => view(&filters),
            event_names => EVENTS.to_vec(),
            events => view(&listing.rows),
            next => listing.next,
            errors => listing.errors,
        },
    )
}
