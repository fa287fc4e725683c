//! The page of one account (`GET /admin/users/{user_id}`, and the same page again after a
//! refused post), in sections: its profile (the account, its details and role forms, its
//! extended profile), its sign-in and security (second factors, a password reset link),
//! its live sessions, the applications that hold access to it, its last audit events,
//! and the danger zone (deactivate, sign out everywhere, remove the second factors,
//! delete), each confirmed.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::Serialize;
use uuid::Uuid;

use super::account_form::AccountForm;
use super::event_rows::event_rows;
use super::{SECTION, failure_page, field_errors, view};
use crate::accounts::model::{User, find_user};
use crate::admin::audit_log::{AuditQuery, audit_page};
use crate::auth::mfa::factors;
use crate::auth::sessions::active_sessions;
use crate::console::frame::AdminPage;
use crate::error::{ApiError, FieldError, Why};
use crate::i18n::message_key;
use crate::oidc::grants::grants_of;
use crate::users::profile::profile_of;
use crate::web::Web;

/// How many of the account's audit events the page shows.
const AUDIT_EVENTS: u32 = 50;

/// What a page shown again after a refused post carries.
#[derive(Default)]
pub(super) struct Refusal {
    pub(super) account: Option<AccountForm>,
    /// The fields refused, said in the page's language when the page is drawn.
    pub(super) errors: Vec<FieldError>,
    /// Why the whole change was refused (the API's 409, or a 429), said in the page's
    /// language when the page is drawn.
    pub(super) problem: Option<Why>,
    /// The account-details form as posted ([`super::user_changes`]).
    pub(super) details: Option<minijinja::Value>,
}

impl Refusal {
    pub(super) fn with_status(self, status: StatusCode) -> (StatusCode, Refusal) {
        (status, self)
    }

    /// "I am sure" was not ticked for the form whose box is `field`.
    pub(super) fn unconfirmed(field: &str) -> (StatusCode, Refusal) {
        Refusal {
            errors: vec![super::refused(field, message_key("admin-field-confirm"))],
            ..Refusal::default()
        }
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
    }
}

#[derive(Serialize)]
struct AccountView {
    id: Uuid,
    username: String,
    email: String,
    full_name: Option<String>,
    pending_email: Option<String>,
    role: &'static str,
    tier: &'static str,
    is_active: bool,
    email_verified: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
}

impl From<&User> for AccountView {
    fn from(user: &User) -> AccountView {
        AccountView {
            id: user.id,
            username: user.username.clone(),
            email: user.email.clone(),
            full_name: user.full_name.clone(),
            pending_email: user.pending_email.clone(),
            role: user.role.as_str(),
            tier: user.tier.as_str(),
            is_active: user.is_active,
            email_verified: user.email_verified,
            created_at: user.created_at,
            updated_at: user.updated_at,
            last_login_at: user.last_login_at,
        }
    }
}

#[derive(Serialize)]
struct SessionView {
    created_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    ip: Option<String>,
    user_agent: Option<String>,
    device_name: Option<String>,
}

/// The page for an account id (in the path) that names no account.
pub(super) async fn no_such_account(web: &Web, headers: &HeaderMap) -> Response {
    failure_page(
        web,
        headers,
        ApiError::not_found("account", message_key("not-found-account")),
    )
    .await
}

/// The account `user_id` names, or the page that says there is none (or that it could
/// not be read).
pub(super) async fn stored_user(
    web: &Web,
    headers: &HeaderMap,
    user_id: Uuid,
) -> Result<User, Response> {
    match find_user(&web.app.db, user_id).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(no_such_account(web, headers).await),
        Err(e) => Err(failure_page(web, headers, e.into()).await),
    }
}

/// The account page, with what a refused post carries.
pub(super) async fn account_page(
    page: &AdminPage,
    user_id: Uuid,
    status: StatusCode,
    query: Option<&str>,
    refusal: Refusal,
) -> Response {
    let AdminPage { web, session, .. } = page;
    let now = web.app.clock.now();
    let user = match stored_user(web, &page.headers, user_id).await {
        Ok(user) => user,
        Err(page) => return page,
    };
    let audit = AuditQuery {
        user_id: Some(user_id),
        limit: Some(AUDIT_EVENTS),
        ..AuditQuery::default()
    };
    let loaded = async {
        let profile = profile_of(&web.app, user_id).await?;
        let second_factors = factors(&web.app.db, user_id).await?;
        let sessions = active_sessions(&web.app.db, user_id, now).await?;
        let grants = grants_of(&web.app.db, user_id, now).await?;
        let events = audit_page(&web.app.db, &audit).await?;
        let events = event_rows(&web.app.db, &web.pages, events.items).await?;
        Ok::<_, ApiError>((profile, second_factors, sessions, grants, events))
    };
    let (profile, second_factors, sessions, grants, events) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return failure_page(web, &page.headers, e).await,
    };
    let sessions: Vec<SessionView> = sessions
        .into_iter()
        .map(|s| SessionView {
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            ip: s.ip,
            user_agent: s.user_agent,
            device_name: s.device_name,
        })
        .collect();
    let account = refusal.account.unwrap_or_else(|| AccountForm::of(&user));
    page.frame().render(
        status,
        "console/admin/user.html",
        SECTION,
        query,
        context! {
            title => web.pages.tr_with("admin-user-title", &[("username", user.username.clone().into())]),
            user => view(&AccountView::from(&user)),
            is_me => user.id == session.user.id,
            profile => view(&profile),
            profile_updated_at => profile.updated_at.map(|at| at.to_rfc3339()),
            factors => context! {
                totp => second_factors.totp,
                passkeys => second_factors.passkeys,
                recovery_codes_left => second_factors.recovery_codes_left,
            },
            sessions => view(&sessions),
            grants => view(&grants),
            events => view(&events),
            account => view(&account),
            errors => field_errors(&web.pages, &refusal.errors),
            problem => refusal.problem.as_ref().map(|why| web.pages.why_words(why)),
            details => refusal.details,
        },
    )
}
