//! Consent that cannot be forged. When an authorization request needs the user's consent,
//! [`hold`] keeps the request on the server (`oauth_pending_consents`) behind an opaque
//! id: 256 random bits, stored as its SHA-256, single-use, valid 10 minutes, and bound
//! to the browser session it was made for. `GET /consent?id=` shows the scopes; the form
//! posts only `consent_id`, `csrf_token` and `decision`, so nothing in the authorization
//! URL can reach the decision (a `decision=allow` smuggled into the request stays one of
//! its stored parameters). `POST /consent` refuses a form that repeats a field or brings
//! another, spends the id whatever the decision, and answers the code or `access_denied`.

use crate::i18n::Arg;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use minijinja::context;

use super::answer::{error_redirect, issue_code, query_pairs, rejected};
use super::authorize::{self, AuthorizationRequest};
use super::browser::{self, BrowserSession};
use super::{grants, scope};
use crate::audit::{self, AuditEntry, event};
use crate::crypto::{random_token, token_hash};
use crate::db::Db;
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::on_exec;
use crate::web::{Policy, Web};

/// How long a consent page may stay open before its decision is refused.
const PENDING_LIFETIME: Duration = Duration::minutes(10);

/// The fields of the consent form, each exactly once.
const FORM_FIELDS: [&str; 3] = ["consent_id", "csrf_token", "decision"];

/// Keeps `request` waiting for the decision of the user signed in as `session`, and
/// answers the id the consent page is shown under.
pub async fn hold(
    web: &Web,
    request: &AuthorizationRequest,
    session: &BrowserSession,
) -> Result<String, ApiError> {
    let now = web.app.clock.now();
    let id = random_token();
    let params = serde_json::to_string(&request.params).map_err(anyhow::Error::from)?;
    on_exec!(web.app.db.writer(), c => sqlx::query(
        "INSERT INTO oauth_pending_consents (id_hash, browser_session_id, params, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)")
        .bind(token_hash(&id))
        .bind(session.session_id)
        .bind(&params)
        .bind(now)
        .bind(now + PENDING_LIFETIME)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(id)
}

/// The parameters of the pending request `id` of `session`, if it is live; `spend`
/// deletes it in the same statement, so that two posts of one form cannot both decide.
async fn pending(
    db: &Db,
    id: &str,
    session: &BrowserSession,
    now: DateTime<Utc>,
    spend: bool,
) -> Result<Option<Vec<(String, String)>>, sqlx::Error> {
    let statement = if spend {
        "DELETE FROM oauth_pending_consents \
         WHERE id_hash = $1 AND browser_session_id = $2 AND expires_at > $3 RETURNING params"
    } else {
        "SELECT params FROM oauth_pending_consents \
         WHERE id_hash = $1 AND browser_session_id = $2 AND expires_at > $3"
    };
    let writer = db.writer();
    let params: Option<String> = if spend {
        on_exec!(writer, c => sqlx::query_scalar(statement)
            .bind(token_hash(id))
            .bind(session.session_id)
            .bind(now)
            .fetch_optional(c)
            .await)?
    } else {
        on_exec!(db, c => sqlx::query_scalar(statement)
            .bind(token_hash(id))
            .bind(session.session_id)
            .bind(now)
            .fetch_optional(c)
            .await)?
    };
    Ok(params.and_then(|text| serde_json::from_str(&text).ok()))
}

/// Deletes pending consents past their lifetime (housekeeping).
pub async fn purge_expired(db: &Db, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    on_exec!(db.writer(), c => sqlx::query("DELETE FROM oauth_pending_consents WHERE expires_at <= $1")
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))
}

/// `GET /consent?id=`: the scopes of a pending authorization request, to allow or deny.
pub async fn consent_page(
    State(web): State<Web>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let id = query_pairs(query.unwrap_or_default().as_bytes())
        .into_iter()
        .find(|(name, _)| name == "id")
        .map(|(_, value)| value)
        .unwrap_or_default();
    let (session, request) = match pending_request(&web, &headers, &id, false).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let token = web.pages.form_token(&headers);
    let scopes: Vec<String> = request
        .scopes
        .iter()
        .map(|name| describe_scope(&web, name))
        .collect();
    let mut response = web.pages.page_with(
        StatusCode::OK,
        "consent.html",
        context! {
            title => web.pages.tr_with("consent-title", &[("client", Arg::from(request.client.name.as_str()))]),
            client_name => request.client.name,
            username => session.user.username,
            scopes => scopes,
            consent_id => id,
            csrf_token => token.value,
        },
        &Policy::leading_to(&request.redirect_uri),
    );
    if let Some(cookie) = token.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The signed-in browser's session and its pending request `id` (spent when `spend`), or
/// the page to answer instead.
async fn pending_request(
    web: &Web,
    headers: &HeaderMap,
    id: &str,
    spend: bool,
) -> Result<(BrowserSession, AuthorizationRequest), Response> {
    let now = web.app.clock.now();
    let failed = |e: sqlx::Error| ApiError::from(e).into_response();
    let session = browser::current(&web.app.db, &web.pages, headers, now)
        .await
        .map_err(failed)?
        .ok_or_else(|| gone(web))?;
    let params = pending(&web.app.db, id, &session, now, spend)
        .await
        .map_err(failed)?
        .ok_or_else(|| gone(web))?;
    let request = authorize::parse(&web.app.db, params)
        .await
        .map_err(|rejection| rejected(web, rejection))?;
    Ok((session, request))
}

/// The page for a consent id that is unknown, used, expired or another browser's.
fn gone(web: &Web) -> Response {
    web.pages.message(
        StatusCode::BAD_REQUEST,
        &web.pages.tr("consent-expired-title"),
        "error",
        &web.pages.tr("consent-expired"),
        Some(&web.pages.tr("page-back-to-application")),
    )
}

/// The 400 page of a consent form that is not as the page made it (`why`, for the log).
fn invalid_form(web: &Web, why: &str) -> Response {
    tracing::info!(why, "a consent form was refused");
    web.pages.message(
        StatusCode::BAD_REQUEST,
        &web.pages.tr("consent-invalid-title"),
        "error",
        &web.pages.tr("consent-invalid"),
        Some(&web.pages.tr("page-back-to-application")),
    )
}

/// What a scope lets the application do, as the consent page lists it.
fn describe_scope(web: &Web, name: &str) -> String {
    match name {
        scope::OPENID => web.pages.tr("consent-scope-openid"),
        scope::PROFILE => web.pages.tr("consent-scope-profile"),
        scope::EMAIL => web.pages.tr("consent-scope-email"),
        scope::OFFLINE_ACCESS => web.pages.tr("consent-scope-offline-access"),
        other => web
            .pages
            .tr_with("consent-scope-other", &[("scope", Arg::from(other))]),
    }
}

/// The consent form's fields in the order `consent_id`, `csrf_token`, `decision` (each
/// empty when missing), when no field is repeated and no other is given.
fn read_form(body: &[u8]) -> Option<[String; 3]> {
    let pairs = query_pairs(body);
    let mut fields: [Option<String>; 3] = Default::default();
    for (name, value) in pairs {
        let slot = FORM_FIELDS.iter().position(|field| *field == name)?;
        if fields[slot].replace(value).is_some() {
            return None;
        }
    }
    Some(fields.map(Option::unwrap_or_default))
}

/// `POST /consent`: `decision` is `allow` or `deny` for the pending request `consent_id`.
pub async fn consent_decision(
    State(web): State<Web>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some([id, csrf_token, decision]) = read_form(&body) else {
        return invalid_form(
            &web,
            "A consent form has consent_id, csrf_token and decision, each once, and nothing else.",
        );
    };
    if !web.pages.form_is_genuine(&headers, &csrf_token) {
        return web.pages.message(
            StatusCode::FORBIDDEN,
            &web.pages.tr("page-form-expired-title"),
            "error",
            &web.pages.tr("consent-nothing-granted"),
            Some(&web.pages.tr("page-back-to-application")),
        );
    }
    let allow = match decision.as_str() {
        "allow" => true,
        "deny" => false,
        _ => return invalid_form(&web, "The decision must be allow or deny."),
    };
    let (session, request) = match pending_request(&web, &headers, &id, true).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    if !allow {
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
