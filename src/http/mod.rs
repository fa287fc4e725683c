//! What every handler shares at the HTTP edge: body and query extractors that answer
//! problem+json naming the failing field, the authenticated-caller extractors, client
//! information for sessions and audit, keyset pagination, and the middleware stack.

mod auth;
mod client;
mod extract;
pub mod middleware;
pub mod openapi;
mod pagination;
pub mod ratelimit;

pub use crate::audit::ClientInfo;
pub use auth::{AdminUser, AuthUser, MaybeAuthUser, bearer_token};
pub use client::{ClientAddr, client_ip};
pub use extract::{
    ApiJson, ApiPath, ApiQuery, Created, NoContent, created_user, no_store, parse_json,
};
pub use pagination::{Cursor, Page, PageQuery};

/// A JWK set document (`/.well-known/jwks.json`, `/oauth2/jwks`): JSON, cacheable for a
/// minute, so that a rotation reaches verifiers soon after instances pick it up.
pub fn jwk_set(document: bytes::Bytes) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let mut response = document.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}
