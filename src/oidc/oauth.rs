//! What the OAuth endpoints (token, revocation, introspection) share: their form bodies
//! and their RFC 6749 §5.2 error answers, and the authentication of the calling client.

use std::collections::HashMap;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::{Object, ObjectBuilder, Type};

use super::clients::{self, Client, ClientAuthError};
use crate::db::Db;
use crate::http::no_store;

/// An RFC 6749 §5.2 error answer of the token, revocation or introspection endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorBody {
    #[schema(schema_with = error_codes)]
    pub error: &'static str,
    /// What was wrong, for the client's developers.
    pub error_description: String,
}

/// Every `error` code these endpoints answer.
const ERROR_CODES: [&str; 8] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
];

fn error_codes() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ERROR_CODES))
        .description(Some("The RFC 6749 §5.2 error code"))
        .build()
}

/// An error answer of an OAuth endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// `WWW-Authenticate: Basic` (the client tried `client_secret_basic` and failed).
    pub basic_challenge: bool,
}

impl OAuthError {
    pub fn bad_request(error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            basic_challenge: false,
        }
    }

    pub fn invalid_grant(description: impl Into<String>) -> OAuthError {
        OAuthError::bad_request("invalid_grant", description)
    }

    /// 503 `temporarily_unavailable`: nothing was done; the client may retry.
    pub fn temporarily_unavailable(description: impl Into<String>) -> OAuthError {
        OAuthError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: description.into(),
            basic_challenge: false,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody {
            error: self.error,
            error_description: self.description,
        };
        let mut response = no_store((self.status, Json(body)).into_response());
        if self.basic_challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"roster\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

impl From<ClientAuthError> for OAuthError {
    fn from(error: ClientAuthError) -> OAuthError {
        match error {
            ClientAuthError::InvalidRequest(description) => {
                OAuthError::bad_request("invalid_request", description)
            }
            ClientAuthError::InvalidClient { basic } => OAuthError {
                status: StatusCode::UNAUTHORIZED,
                error: "invalid_client",
                description: "client authentication failed".into(),
                basic_challenge: basic,
            },
            ClientAuthError::Database(e) => {
                tracing::error!(error = %e, "authenticating an OpenID client");
                OAuthError::temporarily_unavailable(
                    "the client could not be looked up just now; retry",
                )
            }
        }
    }
}

/// The parameters of an `application/x-www-form-urlencoded` body, each at most once
/// (RFC 6749 §3.2); empty values count as absent (§3.1).
pub struct Form(HashMap<String, String>);

impl Form {
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Form, OAuthError> {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "send the body as application/x-www-form-urlencoded",
            ));
        }
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            if name.contains('\0') || value.contains('\0') {
                return Err(OAuthError::bad_request(
                    "invalid_request",
                    "parameters must not contain NUL characters",
                ));
            }
            if value.is_empty() {
                continue;
            }
            if params
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::bad_request(
                    "invalid_request",
                    format!("{name} is given more than once"),
                ));
            }
        }
        Ok(Form(params))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A required parameter.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::bad_request("invalid_request", format!("{name} is required"))
        })
    }

    /// The client the request authenticates as (`client_secret_basic`,
    /// `client_secret_post`, or a public client's bare `client_id`).
    pub async fn client(&self, db: &Db, headers: &HeaderMap) -> Result<Client, OAuthError> {
        Ok(clients::authenticate(
            db,
            headers,
            self.get("client_id"),
            self.get("client_secret"),
        )
        .await?)
    }
}
