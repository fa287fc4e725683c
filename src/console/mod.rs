//! The web console: the pages where users manage their own account (`/account`) and
//! administrators manage users, clients and the audit log (`/admin`), served from the
//! binary as server-rendered HTML in the pages' style and hardening (`crate::web`):
//! strict CSP, CSRF on every form, the browser session of the OpenID provider's sign-in
//! (`crate::oidc::browser`). Every form calls the same domain functions as the JSON
//! API, so nothing is possible only here.
//!
//! - [`frame`]: what every console page shares: the signed-in browser (or the way to the
//!   sign-in page), the frame with its navigation, post-redirect-get with a fixed set of
//!   notices, and the CSRF check of a posted form.
//! - [`problem`]: what goes wrong is a page too: an address that names no page, a
//!   refusal, a failure.
//! - [`account`]: the self-service pages.
//! - [`admin`]: the administrators' pages.

pub mod account;
pub mod admin;
pub mod frame;
pub mod problem;

use axum::Router;
use axum::routing::any;

use crate::web::Web;

/// The console's page templates, added to the pages' own at start-up.
pub fn templates() -> Vec<(&'static str, &'static str)> {
    let mut templates = frame::TEMPLATES.to_vec();
    templates.extend_from_slice(problem::TEMPLATES);
    templates.extend(account::templates());
    templates.extend_from_slice(admin::TEMPLATES);
    templates
}

/// The console's routes; `upstream` talks to identity providers (the admin's page of
/// providers reads a new one's discovery document). An address under `/account/` or
/// `/admin/` that names no page, and every error of a page, answer a page ([`problem`]).
pub fn router(
    web: &Web,
    upstream: &crate::federation::upstream::Upstream,
    features: &crate::config::Features,
) -> Router<Web> {
    Router::new()
        .merge(account::router(features))
        .merge(admin::router(upstream))
        .route("/account/{*rest}", any(problem::not_found))
        .route("/admin/{*rest}", any(problem::not_found))
        .layer(axum::middleware::from_fn_with_state(
            web.clone(),
            problem::as_pages,
        ))
}
