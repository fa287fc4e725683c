//! An administrator brings someone in: `GET|POST /admin/users/new` makes an account
//! without a password and mails its owner an invitation (as `POST /api/v1/admin/users`,
//! through [`invite`]), and `POST /admin/users/{user_id}/password-reset` mails an
//! account's owner a reset link (as `POST /api/v1/admin/users/{id}/password-reset`,
//! through [`send_reset_as_admin`]). Refusals come back beside their fields, or as the
//! account page's problem.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::user_detail::{AccountId, Refusal, account_page};
use super::{SECTION, failure_page, field_errors, refused, view};
use crate::accounts::model::Role;
use crate::admin::accounts::send_reset_as_admin;
use crate::admin::invitations::{NewAccount, invite};
use crate::console::frame::{AdminPage, ConsoleForm, done};
use crate::error::{ApiError, FieldError, Why};
use crate::http::ClientInfo;
use crate::i18n::message_key;
use crate::web::Web;

pub fn router() -> Router<Web> {
    Router::new()
        .route("/admin/users/new", get(form_page).post(send_invitation))
        .route("/admin/users/{user_id}/password-reset", post(send_reset))
}

/// The invitation form, as typed (kept when refused).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct InvitationForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    role: String,
}

impl InvitationForm {
    fn account(&self) -> Result<NewAccount, Vec<FieldError>> {
        let role = match self.role.as_str() {
            "" => None,
            text => Some(
                Role::try_from(text.to_owned())
                    .map_err(|_| vec![refused("role", message_key("admin-field-role"))])?,
            ),
        };
        Ok(NewAccount {
            username: self.username.trim().to_owned(),
            email: self.email.trim().to_owned(),
            full_name: Some(self.full_name.trim().to_owned()).filter(|name| !name.is_empty()),
            role,
        })
    }
}

fn invitation_page(
    page: &AdminPage,
    status: StatusCode,
    form: &InvitationForm,
    errors: &[FieldError],
) -> Response {
    page.frame().render(
        status,
        "console/admin/invite.html",
        SECTION,
        None,
        context! {
            title => page.web.pages.tr("admin-invite-title"),
            form => view(form),
            errors => field_errors(&page.web.pages, errors),
        },
    )
}

/// `GET /admin/users/new`.
async fn form_page(page: AdminPage) -> Response {
    let form = InvitationForm {
        role: "user".into(),
        ..InvitationForm::default()
    };
    invitation_page(&page, StatusCode::OK, &form, &[])
}

/// `POST /admin/users/new`: the account, and its invitation on its way.
async fn send_invitation(
    client: ClientInfo,
    page: AdminPage,
    ConsoleForm(form): ConsoleForm<InvitationForm>,
) -> Response {
    let AdminPage { web, session, .. } = &page;
    let account = match form.account() {
        Ok(account) => account,
        Err(errors) => {
            return invitation_page(&page, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors);
        }
    };
    match invite(&web.app, session.user.id, &client, &account).await {
        Ok(user) => done(&format!("/admin/users/{}", user.id), "invitation-sent"),
        Err(ApiError::Validation(errors)) => {
            invitation_page(&page, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors)
        }
        Err(ApiError::Conflict { why, field }) => {
            let errors = [why.at(field.unwrap_or_else(|| "username".to_owned()))];
            invitation_page(&page, StatusCode::CONFLICT, &form, &errors)
        }
        Err(other) => failure_page(web, &page.headers, other).await,
    }
}

/// `POST /admin/users/{user_id}/password-reset`: a reset link to the account's address.
async fn send_reset(
    client: ClientInfo,
    page: AdminPage,
    AccountId(user_id): AccountId,
    ConsoleForm(_): ConsoleForm,
) -> Response {
    let AdminPage { web, session, .. } = &page;
    let refused = |status: StatusCode, problem: Why| {
        let refusal = Refusal {
            problem: Some(problem),
            ..Refusal::default()
        };
        account_page(&page, user_id, status, None, refusal)
    };
    match send_reset_as_admin(&web.app, session.user.id, &client, user_id).await {
        Ok(()) => done(&format!("/admin/users/{user_id}"), "reset-sent"),
        Err(ApiError::Conflict { why, .. }) => refused(StatusCode::CONFLICT, why).await,
        Err(ApiError::TooManyRequests { why, .. }) => {
            refused(StatusCode::TOO_MANY_REQUESTS, why).await
        }
        Err(other) => failure_page(web, &page.headers, other).await,
    }
}
