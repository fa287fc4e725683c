//! The OpenID Connect provider and OAuth 2.0 authorization server: "Sign in with Roster"
//! for other applications.
//!
//! - the registry of the clients that sign their users in here (`clients`) and its admin
//!   API (`clients_api`);
//! - the browser flow: the authorization endpoint (`authorize` checks a request, `flow`
//!   decides), the sign-in page (`sign_in`, with the second-factor step), consent
//!   (`flow`), the browser session cookie (`browser`), RP-initiated logout (`logout`);
//! - the back channel: the token endpoint (`token`, with `codes`, `id_token`), userinfo
//!   (`userinfo`, with `claims`), revocation and introspection (`revocation`), discovery
//!   (`discovery`);
//! - what users granted (`grants`), listed and withdrawn by the users themselves.
//!
//! It builds on `auth` (logins, second factors, sessions, refresh rotation) and `tokens`
//! (keys, access tokens), and renders its pages with `web`'s templates and hardening.

pub mod authorize;
pub mod browser;
pub mod claims;
pub mod clients;
pub mod clients_api;
pub mod codes;
pub mod discovery;
pub mod flow;
pub mod grants;
pub mod id_token;
pub mod logout;
pub mod oauth;
pub mod revocation;
pub mod scope;
pub mod sign_in;
pub mod token;
pub mod userinfo;

use axum::Router;
use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;
use crate::web::Web;

/// The client registry under `/api/v1/admin`.
pub fn admin_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            clients_api::create_client,
            clients_api::list_clients
        ))
        .routes(routes!(
            clients_api::get_client,
            clients_api::update_client,
            clients_api::delete_client
        ))
        .routes(routes!(clients_api::rotate_client_secret))
}

/// The grants routes under `/api/v1/users`.
pub fn grants_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(grants::list_grants))
        .routes(routes!(grants::revoke_grant))
}

/// The OAuth back-channel endpoints and discovery (outside `/api`).
pub fn protocol_router(state: &AppState) -> Router<AppState> {
    let document = discovery::document(&state.config);
    let metadata = {
        let document = document.clone();
        move || std::future::ready(discovery::response(document.clone()))
    };
    Router::new()
        .route("/.well-known/openid-configuration", get(metadata.clone()))
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/oauth2/jwks", get(discovery::jwks))
        .route("/oauth2/token", post(token::token))
        .route(
            "/oauth2/userinfo",
            get(userinfo::userinfo_get).post(userinfo::userinfo_post),
        )
        .route("/oauth2/revoke", post(revocation::revoke))
        .route("/oauth2/introspect", post(revocation::introspect))
}

/// The browser pages of the flow.
pub fn pages_router() -> Router<Web> {
    Router::new()
        .route(
            "/oauth2/authorize",
            get(flow::authorize_get).post(flow::authorize_post),
        )
        .route("/login", get(sign_in::show).post(sign_in::submit))
        .route(
            "/consent",
            get(flow::consent_page).post(flow::consent_decision),
        )
        .route(
            "/oauth2/logout",
            get(logout::logout_get).post(logout::logout_post),
        )
}
