//! `/account/payment`: the payment information, as `/api/v1/users/me/payment-info`
//! keeps it.
//!
//! - `GET /account/payment`: whether a token is stored, its last four characters and
//!   when it was last changed (as `GET /me/payment-info`); never the token itself.
//! - `POST /account/payment`: stores or replaces the token (as `PUT /me/payment-info`),
//!   audited as the API audits it. A refused token is reported next to its field with the
//!   API's message (422), but what was typed is never sent back to the browser.
//! - `POST /account/payment/remove`: deletes it (as `DELETE /me/payment-info`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use minijinja::Value;
use minijinja::value::Serde;
use serde::Deserialize;

use super::profile::{Refused, mistakes, refused};
use crate::console::frame::{AccountPage, ConsoleForm, ReturnTo, SignedIn, done};
use crate::error::FieldError;
use crate::http::ClientInfo;
use crate::users::payment::{self, Mode};
use crate::web::Web;

pub const TEMPLATES: &[(&str, &str)] = &[(
    "console/account/payment.html",
    include_str!("../../../templates/web/console/account/payment.html"),
)];

const PATH: &str = "/account/payment";
const FIELDS: &[&str] = &["payment_token"];

pub fn router() -> Router<Web> {
    Router::new()
        .route(PATH, get(show).post(save))
        .route("/account/payment/remove", post(remove))
        .route_layer(Extension(ReturnTo(PATH)))
}

/// The page, with the mistakes of a refused token (never the token) and its status.
async fn render(
    page: &AccountPage,
    query: Option<&str>,
    status: StatusCode,
    errors: &[FieldError],
) -> Response {
    let info = match payment::payment_info_of(&page.web.app, page.session.user.id).await {
        Ok(info) => info,
        Err(e) => return e.into_response(),
    };
    let (errors, general) = mistakes(&page.web.pages, FIELDS, errors);
    page.frame().render(
        status,
        "console/account/payment.html",
        "payment",
        query,
        minijinja::context! {
            title => page.web.pages.tr("payment-title"),
            info => info.as_ref().map(|info| Value::from(Serde(info))),
            min_length => payment::MIN_TOKEN,
            max_length => payment::MAX_TOKEN,
            errors => errors,
            general => general,
        },
    )
}

/// `GET /account/payment`.
async fn show(page: AccountPage) -> Response {
    render(&page, page.query.as_deref(), StatusCode::OK, &[]).await
}

/// The posted token. Not `Debug`: it must not reach a log.
#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    payment_token: String,
}

/// `POST /account/payment`: stores or replaces the token.
async fn save(
    client: ClientInfo,
    page: AccountPage,
    ConsoleForm(form): ConsoleForm<TokenForm>,
) -> Response {
    match payment::store(
        &page.web.app,
        page.session.user.id,
        &client,
        &form.payment_token,
        Mode::Upsert,
    )
    .await
    {
        Ok((_, true)) => done(PATH, "payment-replaced"),
        Ok((_, false)) => done(PATH, "payment-stored"),
        Err(e) => match refused(&page.web.pages, e) {
            Refused::Fields(status, errors) => render(&page, None, status, &errors).await,
            Refused::Page(response) => response,
        },
    }
}

/// `POST /account/payment/remove`: deletes the token (nothing to do when none is stored).
async fn remove(
    State(web): State<Web>,
    client: ClientInfo,
    SignedIn(session): SignedIn,
    _: ConsoleForm,
) -> Response {
    match payment::remove(&web.app, session.user.id, &client).await {
        Ok(()) => done(PATH, "payment-removed"),
        Err(e) => e.into_response(),
    }
}
