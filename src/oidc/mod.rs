//! The OpenID Connect provider and OAuth 2.0 authorization server: "Sign in with Roster"
//! for other applications.
//!
//! - the registry of the clients that sign their users in here (`clients`) and its admin
//!   API (`clients_api`);
//! - the browser flow: the authorization endpoint (`authorize` checks a request, `flow`
//!   decides, `answer` sends the code or the error back), the sign-in page (`sign_in`,
//!   with the second-factor step), consent (`consent`, kept on the server behind a
//!   single-use id), the browser session cookie (`browser`), RP-initiated logout
//!   (`logout`);
//! - the back channel: the token endpoint (`token`, with `codes`, `id_token`), userinfo
//!   (`userinfo`, with `claims`), revocation and introspection (`revocation`), discovery
//!   (`discovery`);
//! - what users granted (`grants`), listed and withdrawn by the users themselves.
//!
//! It builds on `auth` (logins, second factors, sessions, refresh rotation) and `tokens`
//! (keys, access tokens), and renders its pages with `web`'s templates and hardening.

pub mod answer;
pub mod authorize;
pub mod browser;
pub mod claims;
pub mod clients;
pub mod clients_api;
pub mod codes;
pub mod consent;
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

use axum::routing::{get, post};
use axum::{Extension, Router};
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

/// The OAuth back-channel endpoints and discovery (outside `/api`), and the description
/// of the browser endpoints clients send users to (served by [`pages_router`]).
pub fn protocol_router(state: &AppState) -> OpenApiRouter<AppState> {
    let metadata = discovery::MetadataDocument(discovery::document(&state.config));
    let mut router = OpenApiRouter::new()
        .routes(routes!(discovery::openid_configuration))
        .routes(routes!(discovery::authorization_server_metadata))
        .layer(Extension(metadata))
        .routes(routes!(discovery::jwks))
        .routes(routes!(token::token))
        .routes(routes!(userinfo::userinfo_get, userinfo::userinfo_post))
        .routes(routes!(revocation::revoke))
        .routes(routes!(revocation::introspect));
    let paths = &mut router.get_openapi_mut().paths;
    for (path, method, operation) in discovery::browser_endpoints() {
        paths.add_path_operation(path, vec![method], operation);
    }
    router
}

/// The browser pages of the flow.
pub fn pages_router() -> Router<Web> {
    Router::new()
        .route(
            "/oauth2/authorize",
            get(flow::authorize_get).post(flow::authorize_post),
        )
        .route("/login", get(sign_in::show).post(sign_in::submit))
        .route("/login/passkey-options", post(sign_in::passkey_options))
        .route(
            "/consent",
            get(consent::consent_page).post(consent::consent_decision),
        )
        .route(
            "/oauth2/logout",
            get(logout::logout_get).post(logout::logout_post),
        )
}
