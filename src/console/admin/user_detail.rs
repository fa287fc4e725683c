//! `/admin/users/{user_id}`: one account as an administrator sees it (the account, its
//! whole extended profile, its second factors, its live sessions, its last 50 audit
//! events), and what an administrator does to it, each through the function of the
//! admin JSON endpoint:
//!
//! - `POST /admin/users/{user_id}`: role, tier, status, email verification
//!   ([`update_account`], as `PATCH /api/v1/admin/users/{id}`); deactivating revokes
//!   every session and asks for "I am sure"; the last active administrator can be
//!   neither demoted nor deactivated (409, as the API answers);
//! - `POST /admin/users/{user_id}/revoke-sessions` ([`revoke_all_sessions`]);
//! - `POST /admin/users/{user_id}/mfa/reset` ([`reset_second_factors`]).
//!
//! The two last ask for "I am sure" too; without it the page comes back (422) with the
//! box marked, and nothing changes.

use std::collections::BTreeMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::audit::EventRow;
use super::{SECTION, failure_page, field_errors, ticked, view, when};
use crate::accounts::model::{Role, Tier, User, find_user};
use crate::admin::accounts::{
    AdminAccountUpdate, reset_second_factors, revoke_all_sessions, update_account,
};
use crate::admin::audit_log::{AuditQuery, audit_page};
use crate::auth::mfa::factors;
use crate::auth::sessions::active_sessions;
use crate::console::frame::{AdminPage, ConsoleForm, ReturnTo, done};
use crate::error::{ApiError, FieldError};
use crate::http::ClientInfo;
use crate::users::profile::profile_of;
use crate::web::Web;

/// How many of the account's audit events the page shows.
const AUDIT_EVENTS: u32 = 50;

pub fn router() -> Router<Web> {
    Router::new()
        .route("/admin/users/{user_id}", get(show).post(change_account))
        .route(
            "/admin/users/{user_id}/revoke-sessions",
            post(revoke_sessions),
        )
        .route("/admin/users/{user_id}/mfa/reset", post(reset_mfa))
        .route_layer(Extension(ReturnTo("/admin/users/{user_id}")))
}

/// The account form's values: the account's own, or what was posted.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(super) struct AccountForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    tier: String,
    #[serde(default)]
    is_active: String,
    #[serde(default)]
    email_verified: String,
    /// "I am sure", needed to deactivate.
    #[serde(default, skip_serializing)]
    confirm: Option<String>,
}

impl AccountForm {
    fn of(user: &User) -> AccountForm {
        AccountForm {
            role: user.role.as_str().to_owned(),
            tier: user.tier.as_str().to_owned(),
            is_active: user.is_active.to_string(),
            email_verified: user.email_verified.to_string(),
            confirm: None,
        }
    }

    /// The change to `user` this form asks for (the fields that differ), or the fields
    /// whose value is not one the API takes.
    fn update_of(&self, user: &User) -> Result<AdminAccountUpdate, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut flag = |field: &str, text: &str| match text {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                errors.push(FieldError::new(field, "must be yes or no"));
                None
            }
        };
        let is_active = flag("is_active", &self.is_active);
        let email_verified = flag("email_verified", &self.email_verified);
        let role = Role::try_from(self.role.clone())
            .map_err(|_| errors.push(FieldError::new("role", "must be user or administrator")))
            .ok();
        // No tier posted (the premium module is not served): the tier stays.
        let tier = (!self.tier.is_empty())
            .then(|| {
                Tier::try_from(self.tier.clone())
                    .map_err(|_| errors.push(FieldError::new("tier", "must be basic or premium")))
                    .ok()
            })
            .flatten();
        if is_active == Some(false) && user.is_active && !ticked(&self.confirm) {
            errors.push(FieldError::new(
                "confirm",
                "tick this to deactivate the account and sign it out everywhere",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AdminAccountUpdate {
            role: role.filter(|r| *r != user.role),
            tier: tier.filter(|t| *t != user.tier),
            is_active: is_active.filter(|a| *a != user.is_active),
            email_verified: email_verified.filter(|v| *v != user.email_verified),
        })
    }
}

/// A form that only asks "I am sure".
#[derive(Debug, Deserialize)]
struct ConfirmForm {
    confirm: Option<String>,
}

/// What a page shown again after a refused post carries.
#[derive(Default)]
pub(super) struct Refusal {
    pub(super) account: Option<AccountForm>,
    pub(super) errors: BTreeMap<String, String>,
    /// Why the whole change was refused (the API's 409).
    pub(super) problem: Option<String>,
    /// The account-details form as posted ([`super::user_changes`]).
    pub(super) details: Option<minijinja::Value>,
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
    created_at: String,
    updated_at: String,
    last_login_at: Option<String>,
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
            created_at: when(user.created_at),
            updated_at: when(user.updated_at),
            last_login_at: user.last_login_at.map(when),
        }
    }
}

#[derive(Serialize)]
struct SessionView {
    id: Uuid,
    created_at: String,
    last_used_at: String,
    expires_at: String,
    ip: Option<String>,
    user_agent: Option<String>,
    device_name: Option<String>,
}

/// The page for an account id (in the path) that names no account.
pub(super) fn no_such_account(web: &Web) -> Response {
    failure_page(web, ApiError::not_found("account"))
}

/// The account `user_id` names, or the page that says there is none (or that it could
/// not be read).
pub(super) async fn stored_user(web: &Web, user_id: Uuid) -> Result<User, Response> {
    match find_user(&web.app.db, user_id).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(no_such_account(web)),
        Err(e) => Err(failure_page(web, e.into())),
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
    let user = match stored_user(web, user_id).await {
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
        let events = audit_page(&web.app.db, &audit).await?;
        Ok::<_, ApiError>((profile, second_factors, sessions, events))
    };
    let (profile, second_factors, sessions, events) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return failure_page(web, e),
    };
    let sessions: Vec<SessionView> = sessions
        .into_iter()
        .map(|s| SessionView {
            id: s.id,
            created_at: when(s.created_at),
            last_used_at: when(s.last_used_at),
            expires_at: when(s.expires_at),
            ip: s.ip,
            user_agent: s.user_agent,
            device_name: s.device_name,
        })
        .collect();
    let events: Vec<EventRow> = events.items.into_iter().map(EventRow::from).collect();
    let account = refusal.account.unwrap_or_else(|| AccountForm::of(&user));
    page.frame().render(
        status,
        "console/admin/user.html",
        SECTION,
        query,
        context! {
            title => format!("Account {}", user.username),
            user => view(&AccountView::from(&user)),
            is_me => user.id == session.user.id,
            profile => view(&profile),
            profile_updated_at => profile.updated_at.map(when),
            factors => context! {
                totp => second_factors.totp,
                passkeys => second_factors.passkeys,
                recovery_codes_left => second_factors.recovery_codes_left,
            },
            sessions => view(&sessions),
            events => view(&events),
            account => view(&account),
            errors => refusal.errors,
            problem => refusal.problem,
            details => refusal.details,
        },
    )
}

/// The account id of the path (`/admin/users/{user_id}`); one that is not a UUID is
/// refused with the page of an unknown account (404).
pub(super) struct AccountId(pub Uuid);

impl FromRequestParts<Web> for AccountId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Response> {
        let Path(raw_id) = Path::<String>::from_request_parts(parts, web)
            .await
            .map_err(IntoResponse::into_response)?;
        Uuid::parse_str(&raw_id)
            .map(AccountId)
            .map_err(|_| no_such_account(web))
    }
}

/// `GET /admin/users/{user_id}`.
async fn show(page: AdminPage, AccountId(user_id): AccountId) -> Response {
    account_page(
        &page,
        user_id,
        StatusCode::OK,
        page.query.as_deref(),
        Refusal::default(),
    )
    .await
}

/// `POST /admin/users/{user_id}`: role, tier, status, verification.
async fn change_account(
    client: ClientInfo,
    page: AdminPage,
    AccountId(user_id): AccountId,
    ConsoleForm(form): ConsoleForm<AccountForm>,
) -> Response {
    let AdminPage { web, session, .. } = &page;
    let user = match stored_user(web, user_id).await {
        Ok(user) => user,
        Err(page) => return page,
    };
    let refused = |status, errors: Vec<FieldError>, problem: Option<String>| {
        Refusal {
            account: Some(form.clone()),
            errors: field_errors(&errors),
            problem,
            details: None,
        }
        .with_status(status)
    };
    let update = match form.update_of(&user) {
        Ok(update) => update,
        Err(errors) => {
            let (status, refusal) = refused(StatusCode::UNPROCESSABLE_ENTITY, errors, None);
            return account_page(&page, user_id, status, None, refusal).await;
        }
    };
    if let Some(refused) = super::refused_over_admin(&page, user_id).await {
        return refused;
    }
    match update_account(&web.app, session.user.id, &client, user_id, &update).await {
        Ok(updated) if updated.id == session.user.id && !updated.is_admin() => {
            // No longer an administrator: this page is not theirs any more.
            Redirect::to("/account").into_response()
        }
        Ok(_) => done(&format!("/admin/users/{user_id}"), "account-saved"),
        Err(ApiError::Validation(errors)) => {
            let (status, refusal) = refused(StatusCode::UNPROCESSABLE_ENTITY, errors, None);
            account_page(&page, user_id, status, None, refusal).await
        }
        Err(ApiError::Conflict { detail, .. }) => {
            let (status, refusal) = refused(StatusCode::CONFLICT, Vec::new(), Some(detail));
            account_page(&page, user_id, status, None, refusal).await
        }
        Err(other) => failure_page(web, other),
    }
}

impl Refusal {
    pub(super) fn with_status(self, status: StatusCode) -> (StatusCode, Refusal) {
        (status, self)
    }

    /// "I am sure" was not ticked for the form whose box is `field`.
    pub(super) fn unconfirmed(field: &str) -> (StatusCode, Refusal) {
        let errors = [FieldError::new(field, "tick this to confirm")];
        Refusal {
            errors: field_errors(&errors),
            ..Refusal::default()
        }
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
    }
}

/// `POST /admin/users/{user_id}/revoke-sessions`: signs the account out everywhere.
async fn revoke_sessions(
    client: ClientInfo,
    page: AdminPage,
    AccountId(user_id): AccountId,
    ConsoleForm(form): ConsoleForm<ConfirmForm>,
) -> Response {
    let AdminPage { web, session, .. } = &page;
    if !ticked(&form.confirm) {
        let (status, refusal) = Refusal::unconfirmed("revoke_confirm");
        return account_page(&page, user_id, status, None, refusal).await;
    }
    match revoke_all_sessions(&web.app, session.user.id, &client, user_id).await {
        Ok(_) => done(&format!("/admin/users/{user_id}"), "sessions-revoked"),
        Err(e) => failure_page(web, e),
    }
}

/// `POST /admin/users/{user_id}/mfa/reset`: removes every second factor.
async fn reset_mfa(
    client: ClientInfo,
    page: AdminPage,
    AccountId(user_id): AccountId,
    ConsoleForm(form): ConsoleForm<ConfirmForm>,
) -> Response {
    let AdminPage { web, session, .. } = &page;
    if !ticked(&form.confirm) {
        let (status, refusal) = Refusal::unconfirmed("mfa_confirm");
        return account_page(&page, user_id, status, None, refusal).await;
    }
    if let Some(refused) = super::refused_over_admin(&page, user_id).await {
        return refused;
    }
    match reset_second_factors(&web.app, session.user.id, &client, user_id).await {
        Ok(_) => done(&format!("/admin/users/{user_id}"), "second-factors-reset"),
        Err(e) => failure_page(web, e),
    }
}
