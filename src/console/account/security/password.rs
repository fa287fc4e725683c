//! `POST /account/security/password`: a new password, confirmed with the current one,
//! exactly as `POST /api/v1/auth/change-password` (policy, history, lockout, audit, the
//! mail); every other session ends, this browser's stays signed in.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::problems::Refusal;
use super::{PATH, Shown, render};
use crate::auth::password_change::change_password_of;
use crate::console::frame::{AccountPage, ConsoleForm, done};
use crate::http::ClientInfo;
use crate::i18n::message_key;

const LABELS: &[(&str, &str)] = &[
    (
        "current_password",
        message_key("security-label-current-password"),
    ),
    ("new_password", message_key("security-label-new-password")),
    (
        "confirm_password",
        message_key("security-label-confirm-password"),
    ),
];

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

pub(super) async fn change(
    client: ClientInfo,
    page: AccountPage,
    ConsoleForm(form): ConsoleForm<PasswordForm>,
) -> Response {
    let AccountPage { web, session, .. } = &page;
    if form.new_password != form.confirm_password {
        let refusal = Refusal::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "confirm_password",
            web.pages.tr("security-passwords-differ"),
        );
        return render(&page, None, Shown::refused("password", refusal)).await;
    }
    let changed = change_password_of(
        &web.app,
        &session.user,
        session.session_id,
        &form.current_password,
        &form.new_password,
        &client,
    )
    .await;
    match changed {
        Ok(()) => done(PATH, "password-changed"),
        Err(e) => match Refusal::of(e, &web.pages, LABELS) {
            Ok(refusal) => render(&page, None, Shown::refused("password", refusal)).await,
            Err(e) => e.into_response(),
        },
    }
}
