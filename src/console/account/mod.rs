//! `/account`: what a user does with their own account, in the browser. Each page is
//! one file; each calls the same domain functions as the JSON endpoint it mirrors.
//!
//! - this file: the overview (`GET /account`), signing out (`POST /account/sign-out`),
//!   and whether this browser is still signed in (`GET /account/session`, which the
//!   console's script asks so that an open page notices a session ended elsewhere).
//!   The overview shows the account's figures as `GET /api/v1/users/me/stats` gives them.

mod achievements;
mod applications;
mod delete;
mod payment;
mod people;
mod preferences;
mod profile;
mod schema_form;
mod security;
mod sessions;
mod signup;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use minijinja::context;

use super::frame::{AccountPage, ConsoleForm, ReturnTo, SignedIn, signed_out_page};
use crate::config::Features;
use crate::http::ClientInfo;
use crate::oidc::{browser, logout};
use crate::users::premium::stats_of;
use crate::web::Web;

const OVERVIEW: &[(&str, &str)] = &[(
    "console/account/overview.html",
    include_str!("../../../templates/web/console/account/overview.html"),
)];

/// The templates of every account page.
pub fn templates() -> Vec<(&'static str, &'static str)> {
    [
        OVERVIEW,
        achievements::TEMPLATES,
        applications::TEMPLATES,
        delete::TEMPLATES,
        payment::TEMPLATES,
        people::TEMPLATES,
        preferences::TEMPLATES,
        profile::TEMPLATES,
        security::TEMPLATES,
        sessions::TEMPLATES,
        signup::TEMPLATES,
    ]
    .concat()
}

/// The account's pages; those of a module `features` leaves out have no route.
pub fn router(features: &Features) -> Router<Web> {
    let mut router = Router::new()
        .route("/account", get(overview))
        .route("/account/sign-out", post(sign_out))
        .route("/account/session", get(session_status))
        .route_layer(Extension(ReturnTo("/account")))
        .merge(applications::router())
        .merge(delete::router())
        .merge(profile::router(features))
        .merge(security::router())
        .merge(sessions::router())
        .merge(signup::router());
    for (served, pages) in [
        (
            features.achievements,
            achievements::router as fn() -> Router<Web>,
        ),
        (features.payment, payment::router),
        (features.premium, people::router),
        (features.preferences, preferences::router),
    ] {
        if served {
            router = router.merge(pages());
        }
    }
    router
}

/// `GET /account`: who is signed in, and where each part of the account is managed.
async fn overview(page: AccountPage) -> Response {
    // The figures of `GET /api/v1/users/me/stats`.
    let stats = match stats_of(&page.web.app, &page.session.user).await {
        Ok(stats) => stats,
        Err(e) => return e.into_response(),
    };
    page.frame().render(
        StatusCode::OK,
        "console/account/overview.html",
        "account",
        page.query.as_deref(),
        context! {
            title => page.web.pages.tr("overview-title"),
            stats => minijinja::Value::from(minijinja::value::Serde(&stats)),
        },
    )
}

/// `GET /account/session`: 204 while this browser is signed in, 401 once its session
/// has ended (what the console's script asks every few seconds).
async fn session_status(State(web): State<Web>, headers: HeaderMap) -> Response {
    let now = web.app.clock.now();
    let status = match browser::current(&web.app.db, &web.pages, &headers, now).await {
        Ok(Some(_)) => StatusCode::NO_CONTENT,
        Ok(None) => StatusCode::UNAUTHORIZED,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let mut response = status.into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// `POST /account/sign-out`: ends this browser's session.
async fn sign_out(
    State(web): State<Web>,
    client: ClientInfo,
    SignedIn(session): SignedIn,
    _: ConsoleForm,
) -> Response {
    if let Err(e) = logout::sign_out(&web, &session, &client).await {
        return e.into_response();
    }
    signed_out_page(&web)
}
