//! The browser side of the authorization code flow: `GET`/`POST /oauth2/authorize`
//! decides, for a checked request ([`super::authorize`]), whether the browser must sign
//! in first (no session, `prompt=login`, or a sign-in older than `max_age`), whether the
//! user must consent (`prompt=consent`, or scopes not granted yet, unless the client is
//! `first_party`), and otherwise answers the code. `prompt=none` turns each of those
//! steps into an error (`login_required`, `consent_required`), and with an
//! `id_token_hint` answers a code only for the user the hint names. Consent itself is
//! [`super::consent`].

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use super::answer::{error_redirect, issue_code, query_pairs, rejected};
use super::authorize::{self, AuthorizationRequest};
use super::browser::{self, BrowserSession};
use super::{consent, grants, id_token};
use crate::error::ApiError;
use crate::web::Web;

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
    if request.prompt.none
        && let Some(hint) = &request.id_token_hint
        && !hint_names(web, hint, &session)
    {
        return Ok(error_redirect(
            issuer,
            &request.error(
                "login_required",
                "id_token_hint does not name the user signed in here",
            ),
        ));
    }
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
        let id = consent::hold(web, request, &session).await?;
        let mut consent =
            form_urlencoded::Serializer::for_suffix(String::from("/consent?"), "/consent?".len());
        consent.append_pair("id", &id);
        return Ok(Redirect::to(&consent.finish()).into_response());
    }
    issue_code(web, request, &session).await
}

/// Whether `hint` is an ID token of this provider (signature, issuer) for the user the
/// browser is signed in as: what `prompt=none` needs before it answers a code, so that an
/// application re-authenticating silently never switches accounts.
fn hint_names(web: &Web, hint: &str, session: &BrowserSession) -> bool {
    let issuer = &web.app.config.tokens.issuer;
    id_token::read_hint(&web.app.tokens.key_set(), issuer, hint)
        .is_some_and(|hint| hint.subject == session.user.id.to_string())
}
