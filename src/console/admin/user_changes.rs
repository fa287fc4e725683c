//! What an administrator changes or ends on an account page (`/admin/users/{user_id}`)
//! beyond its role and status, each through the function of the JSON endpoint:
//!
//! - `POST /admin/users/{user_id}/account`: username, email and full name, as `PUT
//!   /api/v1/users/{user_id}` ([`update_and_commit`]): only the fields that differ from
//!   the account's are sent; each refusal is shown next to its field with the API's
//!   message (422, or 409 for a taken username or email), the input kept. Another
//!   account's new email applies at once, unverified, audited, and both addresses are
//!   told; the administrator's own email change needs their password and stays pending,
//!   exactly as the API has it.
//! - `POST /admin/users/{user_id}/delete`: deletes the account and everything of it, as
//!   `DELETE /api/v1/users/{user_id}` ([`delete_and_commit`]), only with "I am sure"
//!   ticked (422 otherwise); the page then goes back to the user search. An
//!   administrator deleting their own account also gives their password, as the API asks
//!   ([`delete_own_account`]); the last active administrator is refused (409).

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::user_detail::{AccountId, Refusal, account_page, stored_user};
use super::{failure_page, refused as refused_field, ticked, view};
use crate::accounts::model::User;
use crate::console::frame::{AdminPage, ConsoleForm, ReturnTo, account_deleted_page, done};
use crate::error::{ApiError, FieldError};
use crate::http::ClientInfo;
use crate::i18n::message_key;
use crate::patch::Patch;
use crate::users::account::{delete_and_commit, delete_own_account};
use crate::users::account_update::{AccountUpdate, update_and_commit};
use crate::web::Web;

pub fn router() -> Router<Web> {
    Router::new()
        .route("/admin/users/{user_id}/account", post(change_details))
        .route("/admin/users/{user_id}/delete", post(delete))
        .route_layer(Extension(ReturnTo("/admin/users/{user_id}")))
}

/// The account-details form as posted (the template shows it again when refused).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct DetailsForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    full_name: String,
    /// The administrator's own password, only to change their own email.
    #[serde(default, skip_serializing)]
    current_password: String,
}

impl DetailsForm {
    /// The update the API would be sent: the fields that differ from `user`'s (an empty
    /// full name clears it).
    fn update_of(&self, user: &User) -> AccountUpdate {
        let changed = |posted: &str, current: &str| {
            if posted == current {
                Patch::Absent
            } else {
                Patch::Value(posted.to_owned())
            }
        };
        let full_name = match (self.full_name.trim(), user.full_name.as_deref()) {
            ("", None) => Patch::Absent,
            ("", Some(_)) => Patch::Null,
            (_, current) => changed(&self.full_name, current.unwrap_or("")),
        };
        AccountUpdate {
            username: changed(&self.username, &user.username),
            email: changed(&self.email, &user.email),
            full_name,
            current_password: Some(self.current_password.clone()).filter(|p| !p.is_empty()),
            locale: Patch::Absent,
        }
    }
}

/// The deletion form: "I am sure", and the password when the account is one's own.
#[derive(Debug, Deserialize)]
struct DeleteForm {
    confirm: Option<String>,
    #[serde(default)]
    password: String,
}

/// An error of a domain function as the account page shows it: mistakes on the fields
/// (`rename` maps the API's field names to the form's) or the reason a change was
/// refused; any other error is given back, for a page of its own (404, 429, 500).
fn refusal(error: ApiError, rename: &[(&str, &str)]) -> Result<(StatusCode, Refusal), ApiError> {
    let field = |name: &str| {
        rename
            .iter()
            .find(|(api, _)| *api == name)
            .map_or(name, |(_, form)| *form)
            .to_owned()
    };
    let (status, errors) = match error {
        ApiError::Validation(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            errors
                .into_iter()
                .map(|e| FieldError {
                    field: field(&e.field),
                    ..e
                })
                .collect(),
        ),
        ApiError::WrongPassword(name) => (
            StatusCode::BAD_REQUEST,
            vec![refused_field(
                field(name),
                message_key("admin-field-wrong-password"),
            )],
        ),
        ApiError::Conflict {
            why,
            field: Some(name),
        } => (StatusCode::CONFLICT, vec![why.at(field(&name))]),
        ApiError::Conflict { why, field: None } => {
            let refusal = Refusal {
                problem: Some(why),
                ..Refusal::default()
            };
            return Ok(refusal.with_status(StatusCode::CONFLICT));
        }
        other => return Err(other),
    };
    let refusal = Refusal {
        errors,
        ..Refusal::default()
    };
    Ok(refusal.with_status(status))
}

/// The account page again after a refused post.
async fn again(
    page: &AdminPage,
    user_id: Uuid,
    refused: Result<(StatusCode, Refusal), ApiError>,
) -> Response {
    let AdminPage { web, .. } = page;
    match refused {
        Ok((status, refusal)) => account_page(page, user_id, status, None, refusal).await,
        Err(error) => failure_page(web, &page.headers, error).await,
    }
}

/// `POST /admin/users/{user_id}/account`: username, email, full name.
async fn change_details(
    client: ClientInfo,
    page: AdminPage,
    AccountId(user_id): AccountId,
    ConsoleForm(form): ConsoleForm<DetailsForm>,
) -> Response {
    let AdminPage { web, session, .. } = &page;
    let user = match stored_user(web, &page.headers, user_id).await {
        Ok(user) => user,
        Err(page) => return page,
    };
    let update = form.update_of(&user);
    if let Some(refused) = super::refused_over_admin(&page, user_id).await {
        return refused;
    }
    match update_and_commit(&web.app, &session.user, user_id, &client, &update).await {
        Ok(_) => done(&format!("/admin/users/{user_id}"), "details-saved"),
        Err(error) => {
            let refused = refusal(error, &[]).map(|(status, mut refusal)| {
                refusal.details = Some(view(&form));
                (status, refusal)
            });
            again(&page, user_id, refused).await
        }
    }
}

/// `POST /admin/users/{user_id}/delete`: the account and everything of it.
async fn delete(
    client: ClientInfo,
    page: AdminPage,
    AccountId(user_id): AccountId,
    ConsoleForm(form): ConsoleForm<DeleteForm>,
) -> Response {
    let AdminPage { web, session, .. } = &page;
    if !ticked(&form.confirm) {
        let refused = Ok(Refusal::unconfirmed("delete_confirm"));
        return again(&page, user_id, refused).await;
    }
    if user_id == session.user.id {
        return match delete_own_account(&web.app, &session.user, &form.password, &client).await {
            Ok(_) => {
                // The browser's session went with the account.
                account_deleted_page(web)
            }
            Err(error) => {
                let refused = refusal(error, &[("password", "delete_password")]);
                again(&page, user_id, refused).await
            }
        };
    }
    if let Some(refused) = super::refused_over_admin(&page, user_id).await {
        return refused;
    }
    match delete_and_commit(&web.app, session.user.id, user_id, &client).await {
        Ok(_) => done("/admin/users", "account-deleted"),
        Err(error) => {
            let refused = refusal(error, &[]);
            again(&page, user_id, refused).await
        }
    }
}
