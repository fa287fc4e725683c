//! `/admin/users/{user_id}`: one account as an administrator sees it (drawn by
//! [`super::user_page`]), and what an administrator does to it, each through the
//! function of the admin JSON endpoint:
//!
//! - `POST /admin/users/{user_id}`: role, tier, status, email verification
//!   ([`update_account`], as `PATCH /api/v1/admin/users/{id}`), each field left out or
//!   empty staying as it is (the page's role form and its danger zone's deactivation
//!   post different fields); deactivating revokes every session and asks for "I am
//!   sure"; the last active administrator can be neither demoted nor deactivated (409,
//!   as the API answers);
//! - `POST /admin/users/{user_id}/revoke-sessions` ([`revoke_all_sessions`]);
//! - `POST /admin/users/{user_id}/mfa/reset` ([`reset_second_factors`]).
//!
//! The two last ask for "I am sure" too; without it the page comes back (422) with the
//! box marked, and nothing changes.

use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::account_form::AccountForm;
use super::user_page::no_such_account;
pub(super) use super::user_page::{Refusal, account_page, stored_user};
use super::{failure_page, ticked};
use crate::admin::accounts::{reset_second_factors, revoke_all_sessions, update_account};
use crate::console::frame::{AdminPage, ConsoleForm, ReturnTo, done};
use crate::error::{ApiError, FieldError, Why};
use crate::http::ClientInfo;
use crate::web::Web;

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

/// A form that only asks "I am sure".
#[derive(Debug, Deserialize)]
struct ConfirmForm {
    confirm: Option<String>,
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
        match Uuid::parse_str(&raw_id) {
            Ok(id) => Ok(AccountId(id)),
            Err(_) => Err(no_such_account(web, &parts.headers).await),
        }
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
    let user = match stored_user(web, &page.headers, user_id).await {
        Ok(user) => user,
        Err(page) => return page,
    };
    let refused = |status, errors: Vec<FieldError>, problem: Option<Why>| {
        Refusal {
            account: Some(form.filled_from(&user)),
            errors,
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
        Err(ApiError::Conflict { why, .. }) => {
            let (status, refusal) = refused(StatusCode::CONFLICT, Vec::new(), Some(why));
            account_page(&page, user_id, status, None, refusal).await
        }
        Err(other) => failure_page(web, &page.headers, other).await,
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
        Err(e) => failure_page(web, &page.headers, e).await,
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
        Err(e) => failure_page(web, &page.headers, e).await,
    }
}
