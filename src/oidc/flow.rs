//! The browser side of the authorization code flow: `GET`/`POST /oauth2/authorize`
//! decides, for a checked request ([`super::authorize`]), whether the browser must sign
//! in first (no session, `prompt=login`, or a sign-in older than `max_age`), whether the
//! user must consent (`prompt=consent`, or scopes not granted yet, unless the client is
//! `first_party`), and otherwise answers the code. `prompt=none` turns each of those
//! steps into an error (`login_required`, `consent_required`). `GET /consent` shows the
//! scopes; `POST /consent` records the decision and answers the code or `access_denied`.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;

use super::authorize::{self, AuthorizationRequest, ErrorRedirect, Rejection};
use super::browser::{self, BrowserSession};
use super::codes::{self, NewCode};
use super::grants;
use super::scope;
use crate::audit::{self, AuditEntry, event};
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::web::{Policy, Web};

fn query_pairs(text: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(text)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// `GET /oauth2/authorize`.
pub async fn authorize_get(
    State(web): State<Web>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = query_pairs(query.unwrap_or_default().as_bytes());
    authorize(&web, &headers, pairs).await
}

/// `POST /oauth2/authorize` (OpenID Connect Core §3.1.2.1: a form body).
pub async fn authorize_post(State(web): State<Web>, headers: HeaderMap, body: Bytes) -> Response {
    authorize(&web, &headers, query_pairs(&body)).await
}

async fn authorize(web: &Web, headers: &HeaderMap, pairs: Vec<(String, String)>) -> Response {
    let request = match authorize::parse(&web.app.db, pairs).await {
        Ok(request) => request,
        Err(rejection) => return rejected(web, rejection),
    };
    decide(web, headers, &request)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// The error page or the error redirect of a refused request.
fn rejected(web: &Web, rejection: Rejection) -> Response {
    match rejection {
        Rejection::Page(text) => error_page(web, &text),
        Rejection::Redirect(redirect) => error_redirect(&web.app.config.tokens.issuer, &redirect),
    }
}

fn error_page(web: &Web, text: &str) -> Response {
    web.pages.message(
        StatusCode::BAD_REQUEST,
        "The sign-in request is not valid",
        "error",
        text,
        Some("Go back to the application you came from and try again; if this keeps happening, tell its developers."),
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

fn error_redirect(issuer: &str, error: &ErrorRedirect) -> Response {
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

async fn decide(
    web: &Web,
    headers: &HeaderMap,
    request: &AuthorizationRequest,
) -> Result<Response, ApiError> {
    let now = web.app.clock.now();
    let issuer = &web.app.config.tokens.issuer;
    let session = browser::current(&web.app.db, &web.pages, headers, now).await?;
    let too_old = |s: &BrowserSession| {
        request
            .max_age
            .is_some_and(|age| (now - s.authentication.time).num_seconds() > age)
    };
    let session = match session {
        Some(s) if !request.prompt.login && !too_old(&s) => s,
        _ if request.prompt.none => {
            return Ok(error_redirect(
                issuer,
                &request.error("login_required", "the user is not signed in"),
            ));
        }
        _ => {
            let return_to = format!(
                "/oauth2/authorize?{}",
                request.query_without_prompt_value("login")
            );
            let mut login =
                form_urlencoded::Serializer::for_suffix(String::from("/login?"), "/login?".len());
            login.append_pair("return_to", &return_to);
            return Ok(Redirect::to(&login.finish()).into_response());
        }
    };
    let granted = grants::granted(&web.app.db, session.user.id, &request.client.client_id).await?;
    let needs_consent = !request.client.first_party
        && (request.prompt.consent || !request.scopes.is_subset(&granted));
    if needs_consent {
        if request.prompt.none {
            return Ok(error_redirect(
                issuer,
                &request.error("consent_required", "the user has not granted these scopes"),
            ));
        }
        let consent = format!("/consent?{}", request.query_without_prompt_value("consent"));
        return Ok(Redirect::to(&consent).into_response());
    }
    issue_code(web, request, &session).await
}

async fn issue_code(
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

/// `GET /consent`: the scopes of an authorization request, to allow or deny.
pub async fn consent_page(
    State(web): State<Web>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = query_pairs(query.unwrap_or_default().as_bytes());
    let request = match authorize::parse(&web.app.db, pairs).await {
        Ok(request) => request,
        Err(rejection) => return rejected(&web, rejection),
    };
    let now = web.app.clock.now();
    let session = match browser::current(&web.app.db, &web.pages, &headers, now).await {
        Ok(Some(session)) => session,
        Ok(None) => return sign_in_first(&request),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let token = web.pages.form_token(&headers);
    let hidden: Vec<(String, String)> = request
        .params
        .iter()
        .filter(|(name, _)| name != "prompt")
        .cloned()
        .collect();
    let scopes: Vec<String> = request.scopes.iter().map(scope::describe).collect();
    let mut response = web.pages.page_with(
        StatusCode::OK,
        "consent.html",
        context! {
            title => format!("Allow {}?", request.client.name),
            client_name => request.client.name,
            username => session.user.username,
            scopes => scopes,
            request => hidden,
            csrf_token => token.value,
        },
        &Policy::leading_to(&request.redirect_uri),
    );
    if let Some(cookie) = token.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn sign_in_first(request: &AuthorizationRequest) -> Response {
    let return_to = format!(
        "/oauth2/authorize?{}",
        request.query_without_prompt_value("login")
    );
    let mut login =
        form_urlencoded::Serializer::for_suffix(String::from("/login?"), "/login?".len());
    login.append_pair("return_to", &return_to);
    Redirect::to(&login.finish()).into_response()
}

/// `POST /consent`: `decision` is `allow` or `deny`, with the request's parameters.
pub async fn consent_decision(
    State(web): State<Web>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut pairs = query_pairs(&body);
    let take = |pairs: &mut Vec<(String, String)>, name: &str| {
        let index = pairs.iter().position(|(key, _)| key == name)?;
        Some(pairs.remove(index).1)
    };
    let csrf_token = take(&mut pairs, "csrf_token").unwrap_or_default();
    let decision = take(&mut pairs, "decision").unwrap_or_default();
    let request = match authorize::parse(&web.app.db, pairs).await {
        Ok(request) => request,
        Err(rejection) => return rejected(&web, rejection),
    };
    if !web.pages.form_is_genuine(&headers, &csrf_token) {
        return web.pages.message(
            StatusCode::FORBIDDEN,
            "The form had expired",
            "error",
            "Nothing was granted.",
            Some("Go back to the application and sign in again."),
        );
    }
    let now = web.app.clock.now();
    let session = match browser::current(&web.app.db, &web.pages, &headers, now).await {
        Ok(Some(session)) => session,
        Ok(None) => return sign_in_first(&request),
        Err(e) => return ApiError::from(e).into_response(),
    };
    if decision != "allow" {
        let denied = request.error("access_denied", "the user did not allow the request");
        return error_redirect(&web.app.config.tokens.issuer, &denied);
    }
    let granted = record_grant(&web, &request, &session, &client).await;
    match granted {
        Ok(()) => issue_code(&web, &request, &session)
            .await
            .unwrap_or_else(IntoResponse::into_response),
        Err(e) => e.into_response(),
    }
}

async fn record_grant(
    web: &Web,
    request: &AuthorizationRequest,
    session: &BrowserSession,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    let now = web.app.clock.now();
    let mut tx = web.app.db.begin().await?;
    grants::grant(
        &mut tx,
        session.user.id,
        &request.client.client_id,
        &request.scopes,
        now,
    )
    .await?;
    let entry = AuditEntry::by_owner(event::GRANT_GIVEN, session.user.id, client).with_detail(
        serde_json::json!({"client_id": request.client.client_id, "scope": request.scopes.text()}),
    );
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(())
}
