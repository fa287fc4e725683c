//! How the browser flow answers: a code, or an error, sent back to the client's registered
//! `redirect_uri` (RFC 6749 §4.1.2, with `iss` per RFC 9207), or an error page when the
//! request cannot be trusted with a redirect. Shared by the authorization endpoint
//! ([`super::flow`]) and the consent page ([`super::consent`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::authorize::{AuthorizationRequest, ErrorRedirect, Rejection};
use super::browser::BrowserSession;
use super::codes::{self, NewCode};
use crate::error::ApiError;
use crate::web::Web;

/// The name-value pairs of a query string or form body, in order, repeats kept.
pub fn query_pairs(text: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(text)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// The error page or the error redirect of a refused request.
pub fn rejected(web: &Web, rejection: Rejection) -> Response {
    match rejection {
        Rejection::Page(text) => error_page(web, &text),
        Rejection::Redirect(redirect) => error_redirect(&web.app.config.tokens.issuer, &redirect),
    }
}

fn error_page(web: &Web, text: &str) -> Response {
    // `text` is for the application's developers, in English like the protocol.
    web.pages.message(
        StatusCode::BAD_REQUEST,
        &web.pages.tr("authorize-invalid-title"),
        "error",
        text,
        Some(&web.pages.tr("authorize-invalid-next")),
    )
}

/// `redirect_uri` with `params` added to its query (RFC 6749 §3.1.2: keep its own query).
fn redirect_to(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
    }
    Redirect::to(url.as_str()).into_response()
}

pub fn error_redirect(issuer: &str, error: &ErrorRedirect) -> Response {
    let mut params = vec![
        ("error", error.error),
        ("error_description", error.description.as_str()),
    ];
    if let Some(state) = &error.state {
        params.push(("state", state));
    }
    params.push(("iss", issuer));
    redirect_to(&error.redirect_uri, &params)
}

/// Issues a code for `request` to the user of `session` and sends it back to the client.
pub async fn issue_code(
    web: &Web,
    request: &AuthorizationRequest,
    session: &BrowserSession,
) -> Result<Response, ApiError> {
    let now = web.app.clock.now();
    let scope = request.scopes.text();
    let code = codes::issue(
        web.app.db.writer(),
        NewCode {
            client_id: &request.client.client_id,
            user_id: session.user.id,
            browser_session_id: session.session_id,
            redirect_uri: &request.redirect_uri,
            scope: &scope,
            nonce: request.nonce.as_deref(),
            code_challenge: request.code_challenge.as_deref(),
            authentication: &session.authentication,
        },
        now,
    )
    .await?;
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    params.push(("iss", &web.app.config.tokens.issuer));
    Ok(redirect_to(&request.redirect_uri, &params))
}
