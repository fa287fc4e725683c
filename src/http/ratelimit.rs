//! The rate-limit middleware: every request to one of [`RATE_LIMITED_ROUTES`], and every
//! form post to one of [`RATE_LIMITED_FORM_POSTS`], and every visit to one of
//! [`RATE_LIMITED_PAGES`] (matched
//! by route template, so an endpoint counts as soon as it is routed) spends from its
//! client's authentication budget (`crate::ratelimit`; the client address as
//! [`super::client`] resolves it). Beyond it: 429 problem+json with `Retry-After`, or,
//! for a form post or a limited page from a browser (one that accepts `text/html`), the page that
//! [`RateLimits::refused_page`] draws, also 429 with `Retry-After`.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::client::ClientAddr;
use crate::ratelimit::{AuthRateLimiter, Decision, too_many_requests, whole_seconds};

/// The route templates that share the per-client authentication budget.
pub const RATE_LIMITED_ROUTES: &[&str] = &[
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/api/v1/auth/token",
    "/api/v1/auth/refresh",
    "/api/v1/auth/password-reset-request",
    "/api/v1/auth/verify-email-request",
    "/api/v1/auth/mfa/verify",
    "/api/v1/auth/mfa/passkey-challenge",
    "/api/v1/auth/passkey-login/options",
    "/api/v1/auth/passkey-login",
    "/oauth2/token",
];

/// The pages whose form posts (only the posts: showing the page is free) spend from the
/// same budget: the sign-in page is a login like `/api/v1/auth/login`, the console's
/// sign-up, forgot-password and verification-mail forms are those endpoints' pages.
pub const RATE_LIMITED_FORM_POSTS: &[&str] = &[
    "/login",
    "/login/passkey-options",
    "/account/signup",
    "/account/forgot-password",
    "/account/verify-email-request",
];

/// Draws the page that refuses a browser's form post over the budget (given the seconds
/// to wait; the middleware adds `Retry-After`).
pub type RefusedPage = Arc<dyn Fn(u64) -> Response + Send + Sync>;

/// What [`limit_auth_requests`] works with: the budgets, and the page for browsers
/// (drawn by the layer that has the templates).
#[derive(Clone)]
pub struct RateLimits {
    pub limiter: Arc<AuthRateLimiter>,
    pub refused_page: RefusedPage,
}

/// The pages whose every visit spends from the budget: leaving for an identity provider
/// stores a pending sign-in, and coming back from one talks to the provider.
pub const RATE_LIMITED_PAGES: &[&str] = &["/login/{slug}", "/login/{slug}/callback"];

/// Middleware: answers 429 when the client has spent its authentication budget.
pub async fn limit_auth_requests(
    State(limits): State<RateLimits>,
    request: Request,
    next: Next,
) -> Response {
    let route = request.extensions().get::<MatchedPath>();
    let form_post = request.method() == Method::POST
        && route.is_some_and(|path| RATE_LIMITED_FORM_POSTS.contains(&path.as_str()));
    let page = form_post || route.is_some_and(|path| RATE_LIMITED_PAGES.contains(&path.as_str()));
    let limited = page || route.is_some_and(|path| RATE_LIMITED_ROUTES.contains(&path.as_str()));
    if !limited {
        return next.run(request).await;
    }
    // Without a known peer (never over a socket) all such requests share one budget.
    let ip = request
        .extensions()
        .get::<ClientAddr>()
        .map(|ClientAddr(ip)| *ip)
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    match limits.limiter.check(ip).await {
        Decision::Allowed => next.run(request).await,
        Decision::Limited { retry_after } if page && accepts_html(&request) => {
            let seconds = whole_seconds(retry_after);
            let mut page = (limits.refused_page)(seconds);
            page.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            page
        }
        Decision::Limited { retry_after } => too_many_requests(retry_after).into_response(),
    }
}

/// Whether the request comes from a page (a browser's form navigation asks for
/// `text/html`; the pages' scripts and API clients do not).
fn accepts_html(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value: &HeaderValue| value.to_str().ok())
        .any(|value| value.contains("text/html"))
}
