//! `/account/delete`: deleting one's own account, confirmed with the password, as
//! `DELETE /api/v1/users/me` (the same function: a wrong password is shown on the page
//! and counts toward the account's lockout; the last administrator cannot leave).
//!
//! - `GET /account/delete`: what deleting means, and the password field.
//! - `POST /account/delete`: deletes the account and everything of it; the browser's
//!   session goes with it, its cookie is cleared, and a page says so.

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use minijinja::context;
use serde::Deserialize;

use super::profile::{Refused, mistakes, refused};
use crate::console::frame::{AccountPage, ConsoleForm, ReturnTo, account_deleted_page};
use crate::error::FieldError;
use crate::http::ClientInfo;
use crate::users::account::delete_own_account;
use crate::web::Web;

pub const TEMPLATES: &[(&str, &str)] = &[(
    "console/account/delete.html",
    include_str!("../../../templates/web/console/account/delete.html"),
)];

const PATH: &str = "/account/delete";

pub fn router() -> Router<Web> {
    Router::new()
        .route(PATH, get(show).post(delete))
        .route_layer(Extension(ReturnTo(PATH)))
}

fn render(
    page: &AccountPage,
    query: Option<&str>,
    status: StatusCode,
    errors: &[FieldError],
) -> Response {
    let pages = &page.web.pages;
    let (errors, general) = mistakes(pages, &["password"], errors);
    page.frame().render(
        status,
        "console/account/delete.html",
        "account",
        query,
        context! { title => pages.tr("delete-title"), errors => errors, general => general },
    )
}

/// `GET /account/delete`.
async fn show(page: AccountPage) -> Response {
    render(&page, page.query.as_deref(), StatusCode::OK, &[])
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    password: String,
}

/// `POST /account/delete`.
async fn delete(
    client: ClientInfo,
    page: AccountPage,
    ConsoleForm(form): ConsoleForm<DeleteForm>,
) -> Response {
    let web = &page.web;
    match delete_own_account(&web.app, &page.session.user, &form.password, &client).await {
        Ok(_) => account_deleted_page(web),
        Err(error) => match refused(&web.pages, error) {
            Refused::Fields(status, errors) => render(&page, None, status, &errors),
            Refused::Page(response) => response,
        },
    }
}
