//! The first administrator without a shell. While the database has no administrator,
//! `roster serve` asks [`offer_link`] for a one-time link `PUBLIC_URL/setup?token=...`
//! (256 random bits, stored as SHA-256, valid an hour) and prints it; its page
//! (`GET /setup`) asks for a username, an email and a password, and `POST /setup` creates
//! the administrator ([`super::first`]) and spends every setup token at once, in one
//! transaction: two pages posted together (two instances' links) make one administrator.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use minijinja::context;
use serde::Deserialize;

use super::first::{NewAdmin, insert_admin};
use crate::crypto::{random_token, token_hash};
use crate::db::{Db, Exec};
use crate::error::{ApiError, FieldError};
use crate::i18n::{Arg, message_key};
use crate::on_exec;
use crate::state::AppState;
use crate::web::{Pages, Web, form};

/// How long a setup link works.
pub const LINK_LIFETIME: Duration = Duration::hours(1);

pub const TEMPLATES: &[(&str, &str)] =
    &[("setup.html", include_str!("../../templates/web/setup.html"))];

const TITLE: &str = message_key("setup-title");

pub fn router() -> Router<Web> {
    Router::new().route("/setup", get(setup_form).post(create_first_admin))
}

async fn has_admin(ex: impl Into<Exec<'_>>) -> Result<bool, sqlx::Error> {
    let found: Option<i32> = on_exec!(ex, c => sqlx::query_scalar(
        "SELECT 1 FROM users WHERE role = 'admin' LIMIT 1")
        .fetch_optional(c)
        .await)?;
    Ok(found.is_some())
}

/// A new one-time setup link while the database has no administrator (`None` once it
/// has one). Expired tokens are forgotten on the way.
pub async fn offer_link(state: &AppState) -> Result<Option<String>, sqlx::Error> {
    if has_admin(&state.db).await? {
        return Ok(None);
    }
    let now = state.clock.now();
    let token = random_token();
    let mut tx = state.db.begin().await?;
    on_exec!(&mut tx, c => sqlx::query("DELETE FROM setup_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    on_exec!(&mut tx, c => sqlx::query(
        "INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash(&token))
        .bind(now)
        .bind(now + LINK_LIFETIME)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(Some(format!(
        "{}/setup?token={token}",
        state.config.http.public_url
    )))
}

/// Whether `token` is a live setup token.
async fn is_live(db: &Db, token: &str, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let found: Option<i32> = on_exec!(db, c => sqlx::query_scalar(
        "SELECT 1 FROM setup_tokens WHERE token_hash = $1 AND expires_at > $2")
        .bind(token_hash(token))
        .bind(now)
        .fetch_optional(c)
        .await)?;
    Ok(found.is_some())
}

fn link_token(query: Option<&str>) -> String {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
        .filter(|token| token.len() <= 256)
        .unwrap_or_default()
}

fn dead_link(pages: &Pages) -> Response {
    pages.message(
        StatusCode::BAD_REQUEST,
        &pages.tr(TITLE),
        "error",
        &pages.tr("setup-dead"),
        Some(&pages.tr("setup-dead-next")),
    )
}

/// What the form shows again after a refusal.
#[derive(Default)]
struct Shown<'a> {
    username: &'a str,
    email: &'a str,
    errors: Vec<String>,
}

fn render(
    pages: &Pages,
    headers: &HeaderMap,
    token: &str,
    status: StatusCode,
    shown: Shown<'_>,
) -> Response {
    let csrf = pages.form_token(headers);
    let mut page = pages.page(
        status,
        "setup.html",
        context! {
            title => pages.tr(TITLE),
            token => token,
            csrf_token => &csrf.value,
            username => shown.username,
            email => shown.email,
            errors => shown.errors,
        },
    );
    if let Some(cookie) = csrf.set_cookie {
        page.headers_mut().append(header::SET_COOKIE, cookie);
    }
    page
}

/// `GET /setup?token=`: the form, while the link is live.
async fn setup_form(
    State(web): State<Web>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let token = link_token(query.as_deref());
    match is_live(&web.app.db, &token, web.app.clock.now()).await {
        Ok(true) => render(
            &web.pages,
            &headers,
            &token,
            StatusCode::OK,
            Shown::default(),
        ),
        Ok(false) => dead_link(&web.pages),
        Err(e) => axum::response::IntoResponse::into_response(ApiError::from(e)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

/// `POST /setup`: creates the first administrator and spends every setup link.
async fn create_first_admin(State(web): State<Web>, headers: HeaderMap, body: Bytes) -> Response {
    let pages = &*web.pages;
    let Some(submitted) = form::<SetupForm>(&headers, &body) else {
        return pages.message(
            StatusCode::BAD_REQUEST,
            &pages.tr(TITLE),
            "error",
            &pages.tr("page-form-unreadable"),
            Some(&pages.tr("setup-open-again")),
        );
    };
    if !pages.form_is_genuine(&headers, &submitted.csrf_token) {
        return pages.message(
            StatusCode::FORBIDDEN,
            &pages.tr(TITLE),
            "error",
            &pages.tr("setup-forged"),
            Some(&pages.tr("setup-open-again")),
        );
    }
    let again = |status, errors: Vec<String>| {
        let shown = Shown {
            username: &submitted.username,
            email: &submitted.email,
            errors,
        };
        render(pages, &headers, &submitted.token, status, shown)
    };
    if submitted.password != submitted.confirm_password {
        let errors = vec![pages.tr("setup-mismatch")];
        return again(StatusCode::UNPROCESSABLE_ENTITY, errors);
    }
    match create(&web, &submitted).await {
        Ok(true) => pages.message(
            StatusCode::CREATED,
            &pages.tr("setup-done-title"),
            "success",
            &pages.tr_with(
                "setup-done",
                &[("username", Arg::from(submitted.username.as_str()))],
            ),
            Some(&pages.tr("setup-done-next")),
        ),
        Ok(false) => dead_link(pages),
        Err(ApiError::Validation(errors)) => {
            let errors = errors.iter().map(|e| said(pages, e)).collect();
            again(StatusCode::UNPROCESSABLE_ENTITY, errors)
        }
        Err(ApiError::Conflict { why, field }) => {
            let error = why.at(field.unwrap_or_default());
            again(StatusCode::CONFLICT, vec![said(pages, &error)])
        }
        Err(other) => axum::response::IntoResponse::into_response(other),
    }
}

/// A refused field as the page says it: in the page's language where the rule has words
/// (the password's name the password; the others are named by their label), else in the
/// API's words.
fn said(pages: &Pages, e: &FieldError) -> String {
    let label = match e.field.as_str() {
        "username" => Some(message_key("setup-username")),
        "email" => Some(message_key("setup-email")),
        _ => None,
    };
    match (pages.field_words(e), label) {
        (Some(said), Some(label)) => format!("{}: {said}", pages.tr(label)),
        (Some(said), None) => said,
        (None, _) => format!("{}: {}", e.field, e.message),
    }
}

/// In one transaction: spends every live setup token (false, and nothing changed, when
/// `submitted.token` is not among them or an administrator exists already), then creates
/// the administrator. Deleting every token first makes a concurrent second post wait on
/// the same rows and then find its own token gone.
async fn create(web: &Web, submitted: &SetupForm) -> Result<bool, ApiError> {
    let state = &web.app;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let spent: Vec<Vec<u8>> = on_exec!(&mut tx, c => sqlx::query_scalar(
        "DELETE FROM setup_tokens WHERE expires_at > $1 RETURNING token_hash")
        .bind(now)
        .fetch_all(c)
        .await)?;
    let ours = token_hash(&submitted.token);
    if !spent.iter().any(|hash| hash.as_slice() == ours.as_slice()) || has_admin(&mut tx).await? {
        return Ok(false);
    }
    let admin = NewAdmin {
        username: &submitted.username,
        email: &submitted.email,
        password: &submitted.password,
        via: "setup-link",
    };
    insert_admin(&mut tx, (&state.config, &state.hasher), &admin, now).await?;
    tx.commit().await?;
    Ok(true)
}
