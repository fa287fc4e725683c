//! The public account pages, for browsers without a session (plain layout, no frame):
//!
//! - `GET/POST /account/signup`: a new account, as `POST /api/v1/auth/register` (same
//!   function, rules and messages; a taken username or address is a 409 shown on its
//!   field); then a page saying the verification mail is on its way.
//! - `GET/POST /account/forgot-password`: a reset mail, as
//!   `POST /api/v1/auth/password-reset-request`: the same answer whether or not an
//!   account has the address. The mailed link opens the page that sets the new password
//!   (`crate::web::mail_links`).
//!
//! Both posts carry the CSRF token; they are rate limited per client like the API's.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};

use super::profile::{Refused, mistakes, refused};
use crate::auth::register::{RegisterRequest, register_account};
use crate::auth::reset::request_password_reset;
use crate::console::frame::ConsoleForm;
use crate::error::FieldError;
use crate::http::ClientInfo;
use crate::web::Web;

pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "console/account/signup.html",
        include_str!("../../../templates/web/console/account/signup.html"),
    ),
    (
        "console/account/signup_done.html",
        include_str!("../../../templates/web/console/account/signup_done.html"),
    ),
    (
        "console/account/forgot_password.html",
        include_str!("../../../templates/web/console/account/forgot_password.html"),
    ),
];

pub fn router() -> Router<Web> {
    Router::new()
        .route("/account/signup", get(signup_form).post(sign_up))
        .route(
            "/account/forgot-password",
            get(forgot_form).post(forgot_password),
        )
}

/// A public page with a form: rendered with the CSRF token (and its cookie when new).
fn page(
    web: &Web,
    headers: &HeaderMap,
    status: StatusCode,
    template: &str,
    ctx: minijinja::Value,
) -> Response {
    let token = web.pages.form_token(headers);
    let mut response = web.pages.page(
        status,
        template,
        context! { csrf_token => token.value, ..ctx },
    );
    if let Some(cookie) = token.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

const SIGNUP_FIELDS: &[&str] = &[
    "username",
    "email",
    "password",
    "confirm_password",
    "full_name",
];

#[derive(Debug, Default, Deserialize, Serialize)]
struct SignupForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    full_name: String,
    #[serde(default, skip_serializing)]
    password: String,
    #[serde(default, skip_serializing)]
    confirm_password: String,
}

fn render_signup(
    web: &Web,
    headers: &HeaderMap,
    status: StatusCode,
    form: &SignupForm,
    errors: &[FieldError],
) -> Response {
    let (errors, general) = mistakes(&web.pages, SIGNUP_FIELDS, errors);
    page(
        web,
        headers,
        status,
        "console/account/signup.html",
        context! {
            title => web.pages.tr("signup-title"),
            form => minijinja::Value::from(Serde(form)),
            errors => errors,
            general => general,
        },
    )
}

/// `GET /account/signup`.
async fn signup_form(State(web): State<Web>, headers: HeaderMap) -> Response {
    render_signup(&web, &headers, StatusCode::OK, &SignupForm::default(), &[])
}

/// `POST /account/signup`.
async fn sign_up(
    State(web): State<Web>,
    client: ClientInfo,
    headers: HeaderMap,
    ConsoleForm(form): ConsoleForm<SignupForm>,
) -> Response {
    let request = RegisterRequest {
        username: form.username.clone(),
        email: form.email.clone(),
        password: form.password.clone(),
        full_name: Some(form.full_name.clone()).filter(|name| !name.trim().is_empty()),
        confirm_password: Some(form.confirm_password.clone()),
    };
    match register_account(&web.app, &request, &client).await {
        Ok(user) => page(
            &web,
            &headers,
            StatusCode::CREATED,
            "console/account/signup_done.html",
            context! {
                title => web.pages.tr("signup-done-title"),
                email => user.email,
                username => user.username,
            },
        ),
        Err(error) => match refused(&web.pages, error) {
            Refused::Fields(status, errors) => {
                render_signup(&web, &headers, status, &form, &errors)
            }
            Refused::Page(response) => response,
        },
    }
}

#[derive(Debug, Default, Deserialize)]
struct ForgotForm {
    #[serde(default)]
    email: String,
}

fn render_forgot(
    web: &Web,
    headers: &HeaderMap,
    status: StatusCode,
    email: &str,
    errors: &[FieldError],
    sent: bool,
) -> Response {
    let (errors, general) = mistakes(&web.pages, &["email"], errors);
    page(
        web,
        headers,
        status,
        "console/account/forgot_password.html",
        context! {
            title => web.pages.tr("signup-forgot-title"),
            email => email,
            errors => errors,
            general => general,
            sent => sent,
        },
    )
}

/// `GET /account/forgot-password`.
async fn forgot_form(State(web): State<Web>, headers: HeaderMap) -> Response {
    render_forgot(&web, &headers, StatusCode::OK, "", &[], false)
}

/// `POST /account/forgot-password`: the same answer whether or not the address has an
/// account (only a string that is no address at all is refused, as the API does).
async fn forgot_password(
    State(web): State<Web>,
    client: ClientInfo,
    headers: HeaderMap,
    ConsoleForm(form): ConsoleForm<ForgotForm>,
) -> Response {
    match request_password_reset(&web.app, &form.email, &client).await {
        Ok(()) => render_forgot(&web, &headers, StatusCode::ACCEPTED, "", &[], true),
        Err(error) => match refused(&web.pages, error) {
            Refused::Fields(status, errors) => {
                render_forgot(&web, &headers, status, &form.email, &errors, false)
            }
            Refused::Page(response) => response,
        },
    }
}
