//! The rate-limit middleware: every request to one of [`RATE_LIMITED_ROUTES`], and every
//! form post to one of [`RATE_LIMITED_FORM_POSTS`] (matched
//! by route template, so an endpoint counts as soon as it is routed) spends from its
//! client's authentication budget (`crate::ratelimit`; the client address as
//! [`super::client`] resolves it). Beyond it: 429 problem+json with `Retry-After`.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::client::ClientAddr;
use crate::ratelimit::{AuthRateLimiter, Decision, too_many_requests};

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

/// Middleware: answers 429 when the client has spent its authentication budget.
pub async fn limit_auth_requests(
    State(limiter): State<Arc<AuthRateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let limited = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|path| {
            RATE_LIMITED_ROUTES.contains(&path.as_str())
                || (request.method() == Method::POST
                    && RATE_LIMITED_FORM_POSTS.contains(&path.as_str()))
        });
    if !limited {
        return next.run(request).await;
    }
    // Without a known peer (never over a socket) all such requests share one budget.
    let ip = request
        .extensions()
        .get::<ClientAddr>()
        .map(|ClientAddr(ip)| *ip)
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    match limiter.check(ip).await {
        Decision::Allowed => next.run(request).await,
        Decision::Limited { retry_after } => too_many_requests(retry_after).into_response(),
    }
}
