//! Sign in with other identity providers: Roster as an OpenID Connect *client* of
//! Google, GitLab, Microsoft or any OpenID provider (and an OAuth 2 client of GitHub,
//! `github`), the mirror of `oidc/` (where Roster
//! is the provider).
//!
//! - the registry of providers (`providers`, with its admin API and input checks);
//! - the browser flow: leaving for the provider (`departure`, with the pending sign-in
//!   in `pending`), coming back (`arrival`; Apple's form post first passes `apple`), the back channel to the provider
//!   (`upstream`: discovery, code exchange, ID token validation);
//! - what an identity leads to (`rules`), and acting on it: signing its account in
//!   (`session`), a new account (`signup`), linking after the account's own sign-in
//!   (`linking`);
//! - the identities themselves and the owner's API over them (`identities`);
//! - the error page and cookies of the flow (`pages`).
//!
//! It builds on `oidc` (the sign-in page and its second step, the browser session),
//! `auth` (sessions, second factors) and `accounts`.

pub mod apple;
pub mod arrival;
pub mod departure;
pub mod github;
pub mod identities;
pub mod linking;
pub mod pages;
pub mod pending;
pub mod providers;
pub mod rules;
pub mod session;
pub mod signup;
pub mod upstream;

use std::sync::Arc;

use axum::routing::get;
use axum::{Extension, Router};
use futures::future::BoxFuture;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::upstream::Upstream;
use crate::db::Db;
use crate::oidc::sign_in::{OtherSignIns, ProviderButton};
use crate::state::AppState;
use crate::web::Web;

/// The provider registry under `/api/v1/admin`.
pub fn admin_router(upstream: &Upstream) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            providers::api::add_provider,
            providers::api::list_providers
        ))
        .routes(routes!(
            providers::api::get_provider,
            providers::api::change_provider,
            providers::api::remove_provider
        ))
        .layer(Extension(upstream.clone()))
}

/// The owner's identities under `/api/v1/users`.
pub fn identities_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(identities::list_identities))
        .routes(routes!(identities::remove_identity))
}

/// The browser pages of the flow.
pub fn pages_router(upstream: &Upstream) -> Router<Web> {
    Router::new()
        .route("/login/link", get(linking::finish))
        .route("/login/{slug}", get(departure::depart))
        .route(
            "/login/{slug}/callback",
            get(arrival::arrive).post(apple::form_posted),
        )
        .layer(Extension(upstream.clone()))
}

/// The sign-in page's buttons: one per enabled provider.
struct EnabledProviders;

impl OtherSignIns for EnabledProviders {
    fn buttons<'a>(&'a self, db: &'a Db) -> BoxFuture<'a, Vec<ProviderButton>> {
        Box::pin(async move {
            match providers::enabled(db).await {
                Ok(enabled) => enabled
                    .into_iter()
                    .map(|provider| ProviderButton {
                        slug: provider.slug,
                        display_name: provider.display_name,
                    })
                    .collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "the identity providers could not be read for the sign-in page");
                    Vec::new()
                }
            }
        })
    }
}

/// What `app.rs` plugs into the sign-in page.
pub fn sign_in_buttons() -> Arc<dyn OtherSignIns> {
    Arc::new(EnabledProviders)
}
