//! `/account/applications`: the applications the user allowed, as
//! `GET /api/v1/users/me/grants` lists them, each scope described as the consent page
//! describes it, with a "withdraw" form for each
//! (`POST /account/applications/{client_id}/withdraw`, as
//! `DELETE /me/grants/{client_id}`: the grant goes and the application's tokens stop
//! working at once).

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Serialize;

use super::security::problems::Refusal;
use crate::console::frame::{AccountPage, ConsoleForm, ReturnTo, done};
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::i18n::Arg;
use crate::oidc::grants::{grants_of, withdraw_grant};
use crate::oidc::scope;
use crate::web::{Pages, Web};

pub const TEMPLATES: &[(&str, &str)] = &[(
    "console/account/applications.html",
    include_str!("../../../templates/web/console/account/applications.html"),
)];

const PATH: &str = "/account/applications";

pub fn router() -> Router<Web> {
    Router::new()
        .route(PATH, get(show))
        .route("/account/applications/{client_id}/withdraw", post(withdraw))
        .route_layer(Extension(ReturnTo(PATH)))
}

/// A grant as the page shows it.
#[derive(Serialize)]
struct Shown {
    client_name: String,
    /// Where its "withdraw" form posts.
    withdraw: String,
    /// What each granted scope lets the application do.
    allows: Vec<String>,
    created_at: String,
    updated_at: String,
}

/// What a scope lets the application do, in the consent page's words.
fn allowed_by(pages: &Pages, name: &str) -> String {
    match name {
        scope::OPENID => pages.tr("consent-scope-openid"),
        scope::PROFILE => pages.tr("consent-scope-profile"),
        scope::EMAIL => pages.tr("consent-scope-email"),
        scope::OFFLINE_ACCESS => pages.tr("consent-scope-offline-access"),
        other => pages.tr_with("consent-scope-other", &[("scope", Arg::from(other))]),
    }
}

async fn render(page: &AccountPage, query: Option<&str>, refusal: Option<Refusal>) -> Response {
    let grants = match grants_of(
        &page.web.app.db,
        page.session.user.id,
        page.web.app.clock.now(),
    )
    .await
    {
        Ok(grants) => grants,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let shown: Vec<Shown> = grants
        .into_iter()
        .map(|g| Shown {
            allows: g
                .scope
                .split_whitespace()
                .map(|scope| allowed_by(&page.web.pages, scope))
                .collect(),
            withdraw: format!(
                "/account/applications/{}/withdraw",
                form_urlencoded::byte_serialize(g.client_id.as_bytes()).collect::<String>()
            ),
            client_name: g.client_name,
            created_at: g.created_at.to_rfc3339(),
            updated_at: g.updated_at.to_rfc3339(),
        })
        .collect();
    let status = refusal.as_ref().map_or(StatusCode::OK, |r| r.status);
    page.frame().render(
        status,
        "console/account/applications.html",
        "applications",
        query,
        minijinja::context! {
            title => page.web.pages.tr("applications-title"),
            grants => minijinja::Value::from(minijinja::value::Serde(&shown)),
            alert => refusal.and_then(|r| r.alert),
        },
    )
}

/// `GET /account/applications`.
async fn show(page: AccountPage) -> Response {
    render(&page, page.query.as_deref(), None).await
}

/// `POST /account/applications/{client_id}/withdraw`.
async fn withdraw(
    client: ClientInfo,
    Path(client_id): Path<String>,
    page: AccountPage,
    _: ConsoleForm,
) -> Response {
    match withdraw_grant(&page.web.app, page.session.user.id, &client_id, &client).await {
        Ok(()) => done(PATH, "withdrawn"),
        Err(ApiError::NotFound(_)) => {
            let refusal = Refusal::alert(
                StatusCode::NOT_FOUND,
                page.web.pages.tr("applications-not-allowed"),
            );
            render(&page, None, Some(refusal)).await
        }
        Err(e) => e.into_response(),
    }
}
