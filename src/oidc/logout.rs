//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), `GET`/`POST
//! /oauth2/logout` with `id_token_hint`, `client_id`, `post_logout_redirect_uri` and
//! `state`. The browser is redirected afterwards only to a `post_logout_redirect_uri`
//! registered, character for character, for the client the hint or `client_id` names;
//! anything else gets a page, never a redirect. Without a hint for the signed-in user the
//! sign-out is confirmed by a CSRF-protected form first, so another site cannot sign a
//! user out by linking here. Signing out ends the browser session and with it the
//! sessions of the applications signed in through it.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;

use super::browser::{self, BrowserSession};
use super::clients::{self, Client};
use super::id_token;
use crate::audit::{self, AuditEntry, event};
use crate::auth::sessions::{self, reason};
use crate::coherence::CacheChanged;
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::web::{Policy, Web};

/// A checked logout request.
struct LogoutRequest {
    /// The `sub` of a valid `id_token_hint`.
    hinted_user: Option<String>,
    client: Option<Client>,
    redirect: Option<String>,
    state: Option<String>,
    params: Vec<(String, String)>,
}

fn pairs_of(text: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(text)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

async fn parse(web: &Web, params: Vec<(String, String)>) -> Result<LogoutRequest, String> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .filter(|value| !value.is_empty())
    };
    let mut hinted_user = None;
    let mut hinted_client = None;
    if let Some(hint) = get("id_token_hint") {
        let issuer = web.app.config.tokens.issuer.as_str();
        let hint = id_token::read_hint(&web.app.tokens.key_set(), issuer, &hint)
            .ok_or_else(|| "id_token_hint is not an ID token this provider issued".to_owned())?;
        hinted_user = Some(hint.subject);
        hinted_client = hint.client_id;
    }
    let client_id = match (get("client_id"), hinted_client) {
        (Some(given), Some(hinted)) if given != hinted => {
            return Err("client_id is not the audience of id_token_hint".into());
        }
        (given, hinted) => given.or(hinted),
    };
    let client = match &client_id {
        Some(id) => Some(
            clients::find(&web.app.db, id)
                .await
                .map_err(|_| "the application could not be looked up just now".to_owned())?
                .ok_or_else(|| "there is no application with this client_id".to_owned())?,
        ),
        None => None,
    };
    let redirect = match (get("post_logout_redirect_uri"), &client) {
        (None, _) => None,
        (Some(_), None) => {
            return Err("post_logout_redirect_uri needs id_token_hint or client_id".into());
        }
        (Some(uri), Some(client)) if client.has_post_logout_redirect_uri(&uri) => Some(uri),
        (Some(_), Some(_)) => {
            return Err("post_logout_redirect_uri is not registered for this application".into());
        }
    };
    Ok(LogoutRequest {
        hinted_user,
        client,
        redirect,
        state: get("state"),
        params,
    })
}

/// `GET /oauth2/logout`.
pub async fn logout_get(
    State(web): State<Web>,
    client: ClientInfo,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = pairs_of(query.unwrap_or_default().as_bytes());
    logout(&web, &client, &headers, params, false).await
}

/// `POST /oauth2/logout`: the confirmation form (or an RP posting the parameters).
pub async fn logout_post(
    State(web): State<Web>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut params = pairs_of(&body);
    let csrf = params
        .iter()
        .position(|(name, _)| name == "csrf_token")
        .map(|i| params.remove(i).1);
    let confirmed = csrf.is_some_and(|token| web.pages.form_is_genuine(&headers, &token));
    logout(&web, &client, &headers, params, confirmed).await
}

async fn logout(
    web: &Web,
    client: &ClientInfo,
    headers: &HeaderMap,
    params: Vec<(String, String)>,
    confirmed: bool,
) -> Response {
    let request = match parse(web, params).await {
        Ok(request) => request,
        Err(text) => {
            return web.pages.message(
                StatusCode::BAD_REQUEST,
                &web.pages.tr("sign-out-invalid-title"),
                "error",
                &text,
                Some(&web.pages.tr("sign-out-invalid-next")),
            );
        }
    };
    let now = web.app.clock.now();
    let session = match browser::current(&web.app.db, &web.pages, headers, now).await {
        Ok(session) => session,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(session) = session else {
        return finished(web, &request);
    };
    let hinted_here = request.hinted_user.as_deref() == Some(session.user.id.to_string().as_str());
    if !(hinted_here || confirmed) {
        return confirmation(web, headers, &request, &session);
    }
    if let Err(e) = sign_out(web, &session, client).await {
        return e.into_response();
    }
    let mut response = finished(web, &request);
    response
        .headers_mut()
        .append(header::SET_COOKIE, browser::clear(&web.pages));
    // A `GET` that revoked a session: its tokens must die on every instance before the
    // browser (or the application) makes its next request.
    response.extensions_mut().insert(CacheChanged);
    response
}

/// Ends the browser session `session` (its Roster session revoked, its cookie forgotten),
/// audited as a sign-out.
pub async fn sign_out(
    web: &Web,
    session: &BrowserSession,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    let now = web.app.clock.now();
    let mut tx = web.app.db.begin().await?;
    sessions::revoke_session(
        &mut tx,
        session.user.id,
        session.session_id,
        reason::SIGNED_OUT,
        now,
    )
    .await?;
    browser::forget(&mut tx, session.session_id).await?;
    let entry = AuditEntry::by_owner(event::SIGNED_OUT, session.user.id, client)
        .with_detail(serde_json::json!({"session_id": session.session_id}));
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Where the browser goes once signed out.
fn finished(web: &Web, request: &LogoutRequest) -> Response {
    let Some(uri) = &request.redirect else {
        return web.pages.message(
            StatusCode::OK,
            &web.pages.tr("sign-out-done-title"),
            "success",
            &web.pages.tr("sign-out-done"),
            None,
        );
    };
    let Ok(mut url) = url::Url::parse(uri) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if let Some(state) = &request.state {
        url.query_pairs_mut().append_pair("state", state);
    }
    Redirect::to(url.as_str()).into_response()
}

fn confirmation(
    web: &Web,
    headers: &HeaderMap,
    request: &LogoutRequest,
    session: &BrowserSession,
) -> Response {
    let token = web.pages.form_token(headers);
    // The confirmation's post ends at the registered post-logout address, if one.
    let policy = request
        .redirect
        .as_deref()
        .map(Policy::leading_to)
        .unwrap_or_default();
    let mut response = web.pages.page_with(
        StatusCode::OK,
        "sign_out.html",
        context! {
            title => web.pages.tr("sign-out-title"),
            username => session.user.username.clone(),
            client_name => request.client.as_ref().map(|c| c.name.clone()),
            request => request.params.clone(),
            csrf_token => token.value,
        },
        &policy,
    );
    if let Some(cookie) = token.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
