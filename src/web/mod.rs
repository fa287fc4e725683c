//! The HTML pages Roster serves itself. For now: the pages the links in its mails open
//! ([`mail_links`]). They are rendered on the server from templates embedded in the
//! binary (`templates/web/`), need no JavaScript, load nothing from elsewhere, and call
//! the same functions as the JSON endpoints, so they can do nothing the API cannot.
//!
//! Every page is sent with a strict Content-Security-Policy (nothing but this origin's
//! stylesheet; forms post only here; no framing), `X-Frame-Options: DENY`,
//! `Cache-Control: no-store` and `Referrer-Policy: no-referrer` (the links carry tokens
//! in their query strings, which must not leak to another site). Every form carries a
//! CSRF token checked against a cookie ([`csrf`]) and is refused when the browser says it
//! comes from another origin.

pub mod csrf;
pub mod mail_links;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::Environment;

use crate::state::AppState;

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLESHEET: &str = include_str!("../../assets/web/roster.css");

const TEMPLATES: [(&str, &str); 8] = [
    (
        "layout.html",
        include_str!("../../templates/web/layout.html"),
    ),
    (
        "message.html",
        include_str!("../../templates/web/message.html"),
    ),
    (
        "reset_password.html",
        include_str!("../../templates/web/reset_password.html"),
    ),
    (
        "cancel_email_change.html",
        include_str!("../../templates/web/cancel_email_change.html"),
    ),
    ("login.html", include_str!("../../templates/web/login.html")),
    (
        "second_factor.html",
        include_str!("../../templates/web/second_factor.html"),
    ),
    (
        "consent.html",
        include_str!("../../templates/web/consent.html"),
    ),
    (
        "sign_out.html",
        include_str!("../../templates/web/sign_out.html"),
    ),
];

/// The page templates and what the pages need to know of the deployment; built once at
/// start-up.
pub struct Pages {
    env: Environment<'static>,
    /// `Secure` cookies with the `__Host-` prefix (when `PUBLIC_URL` is https).
    secure: bool,
    /// The origin of `PUBLIC_URL`, which forms must come from.
    origin: String,
}

impl Pages {
    /// Parses the embedded templates; a broken template stops start-up.
    pub fn new(public_url: &str) -> anyhow::Result<Pages> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| anyhow::anyhow!("page template {name}: {e}"))?;
        }
        let url = url::Url::parse(public_url)
            .map_err(|e| anyhow::anyhow!("PUBLIC_URL is not a URL: {e}"))?;
        Ok(Pages {
            env,
            secure: url.scheme() == "https",
            origin: url.origin().ascii_serialization(),
        })
    }

    /// Whether cookies are `Secure` with the `__Host-` prefix (`PUBLIC_URL` is https).
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// The value of the cookie `name` the browser sent, if any.
    pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_owned())
    }

    /// Renders `template` as a page with `status`.
    pub fn page(&self, status: StatusCode, template: &str, ctx: minijinja::Value) -> Response {
        let rendered = self.env.get_template(template).and_then(|t| t.render(ctx));
        match rendered {
            Ok(body) => html(status, body),
            Err(e) => crate::error::ApiError::Internal(anyhow::anyhow!(
                "rendering the page template {template}: {e}"
            ))
            .into_response(),
        }
    }

    /// A page that only says something: `tone` is `success` or `error`.
    pub fn message(
        &self,
        status: StatusCode,
        title: &str,
        tone: &str,
        message: &str,
        next_step: Option<&str>,
    ) -> Response {
        self.page(
            status,
            "message.html",
            minijinja::context! { title, tone, message, next_step },
        )
    }
}

/// An HTML response with the pages' security headers.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// A posted form of type `T`: `application/x-www-form-urlencoded`, each field once.
pub fn form<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Option<T> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return None;
    }
    serde_urlencoded::from_bytes(body).ok()
}

/// What the pages' handlers take: the application and the page templates.
#[derive(Clone)]
pub struct Web {
    pub app: AppState,
    pub pages: Arc<Pages>,
}

/// The pages' routes (outside `/api`, not part of the OpenAPI document).
pub fn router(app: AppState, pages: Arc<Pages>) -> Router {
    Router::new()
        .route("/assets/roster.css", get(stylesheet))
        .merge(mail_links::router())
        .with_state(Web { app, pages })
}
