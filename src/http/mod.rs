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
pub use extract::{ApiJson, ApiPath, ApiQuery, Created, NoContent, no_store, parse_json};
pub use pagination::{Cursor, Page, PageQuery};
