//! Discovery (OpenID Connect Discovery 1.0 §3, RFC 8414 §2): the provider's metadata,
//! built once at start-up and served as the same bytes at
//! `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::scope;
use crate::config::Config;

/// The metadata document of this provider.
pub fn document(config: &Config) -> bytes::Bytes {
    let base = &config.http.public_url;
    let endpoint = |path: &str| format!("{base}{path}");
    let client_auth = ["client_secret_basic", "client_secret_post", "none"];
    let metadata = json!({
        "issuer": config.tokens.issuer,
        "authorization_endpoint": endpoint("/oauth2/authorize"),
        "token_endpoint": endpoint("/oauth2/token"),
        "userinfo_endpoint": endpoint("/oauth2/userinfo"),
        "jwks_uri": endpoint("/oauth2/jwks"),
        "end_session_endpoint": endpoint("/oauth2/logout"),
        "revocation_endpoint": endpoint("/oauth2/revoke"),
        "introspection_endpoint": endpoint("/oauth2/introspect"),
        "scopes_supported": scope::STANDARD,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "EdDSA"],
        "token_endpoint_auth_methods_supported": client_auth,
        "revocation_endpoint_auth_methods_supported": client_auth,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "at_hash", "sid",
            "name", "preferred_username", "picture", "updated_at", "email", "email_verified"
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "ui_locales_supported": ["en"],
    });
    serde_json::to_vec(&metadata)
        .map(bytes::Bytes::from)
        .unwrap_or_default()
}

/// The response for a discovery request.
pub fn response(document: bytes::Bytes) -> Response {
    let mut response = document.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// The keys that verify Roster's ID tokens (the metadata's `jwks_uri`). With an HS256
/// secret for access tokens `/.well-known/jwks.json` is empty; this never is.
pub async fn jwks(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
) -> Response {
    crate::http::jwk_set(state.tokens.key_set().id_jwks.clone())
}
