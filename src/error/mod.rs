//! `ApiError`, the one error type handlers return, rendered as RFC 9457 problem details
//! (`application/problem+json`). Internal errors are logged with their cause chain and
//! reach the client only as a generic 500 carrying the request id.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// RFC 9457 problem details, as every error response carries them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A stable URI per kind of problem, e.g. `urn:roster:problem:validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Present for validation failures: every failing field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// Present on 500 responses, to quote when reporting the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Why a request was not authenticated; decides the `WWW-Authenticate` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthProblem {
    /// No bearer token was sent.
    MissingToken,
    /// A token was sent but is malformed, expired, wrongly signed or revoked.
    InvalidToken,
    /// Login with wrong credentials (or an unknown or deactivated account).
    InvalidCredentials,
}

/// The body of a login whose password was right but which needs a second factor:
/// RFC 9457 problem details with the challenge to answer at `/api/v1/auth/mfa/verify`.
#[derive(Clone, Serialize, ToSchema)]
pub struct MfaRequiredProblem {
    /// `urn:roster:problem:mfa-required`
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// 401
    pub status: u16,
    pub detail: String,
    /// Single-use, lives `expires_in` seconds, dies after 5 wrong codes.
    pub mfa_token: String,
    /// Of `totp`, `recovery_code`, `passkey`: only those the account has.
    pub methods: Vec<String>,
    pub expires_in: i64,
}

impl std::fmt::Debug for MfaRequiredProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaRequiredProblem")
            .field("mfa_token", &"<redacted>")
            .field("methods", &self.methods)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl MfaRequiredProblem {
    pub fn new(mfa_token: String, methods: Vec<String>, expires_in: i64) -> MfaRequiredProblem {
        MfaRequiredProblem {
            kind: problem_type("mfa-required"),
            title: "Second factor required".to_owned(),
            status: 401,
            detail: "the password is right; complete the login with a second factor at /api/v1/auth/mfa/verify".to_owned(),
            mfa_token,
            methods,
            expires_in,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("malformed request: {0}")]
    Malformed(String),
    /// A token sent in a request body (refresh, reset, verification) cannot be used:
    /// `.0.message` is the problem's English `detail`, `.0.key` the same words in
    /// `locales/*/refusals.ftl` for the pages.
    #[error("invalid token: {}", .0.message)]
    BadToken(Why),
    /// A password given for confirmation (current password, account deletion) is wrong.
    #[error("wrong password")]
    WrongPassword(&'static str),
    /// A second factor given in the body (TOTP code, recovery code, passkey response) is
    /// wrong, used already, or was not accepted (400 naming the field): `why.message` is
    /// the field's English `message` (the `detail` puts the field's name before it),
    /// `why.key` a sentence of `locales/*/refusals.ftl` for the pages.
    #[error("second factor refused")]
    WrongFactor { field: &'static str, why: Why },
    #[error("not authenticated")]
    Unauthorized(AuthProblem),
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The password was right; a second factor must follow (401 with the challenge).
    #[error("second factor required")]
    MfaRequired(Box<MfaRequiredProblem>),
    /// The session's last authentication is older than `REAUTH_MAX_AGE_MINUTES` (403).
    #[error("re-authentication required")]
    ReauthenticationRequired,
    /// What the request names is not there: `.0.message` is the problem's English
    /// `detail` (`goal not found`), `.0.key` the same words in `locales/*/refusals.ftl`.
    #[error("not found: {}", .0.message)]
    NotFound(Why),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request is at odds with what is stored (a taken username, a last
    /// administrator): `why.message` is the problem's English `detail`, `why.key` the same
    /// words in `locales/*/conflicts.ftl` for the pages; `field` names the field at fault.
    #[error("conflict: {}", .why.message)]
    Conflict { why: Why, field: Option<String> },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// Too many attempts or mails: `why.message` is the problem's English `detail`,
    /// `why.key` the same words in `locales/*/refusals.ftl` for the pages.
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64, why: Why },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Marks a 500 response so the outer layer can add the request id to its body.
#[derive(Debug, Clone, Copy)]
pub struct InternalErrorMarker;

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    /// A 400 refusing the second factor in `field`, for the reason `why`.
    pub fn wrong_factor(field: &'static str, why: Why) -> ApiError {
        ApiError::WrongFactor { field, why }
    }

    /// A 409 naming `field`, for the reason `why` (English `detail`, words for pages).
    pub fn conflict(field: &str, why: Why) -> ApiError {
        ApiError::Conflict {
            why,
            field: Some(field.to_owned()),
        }
    }

    /// A 409 for the reason `why`, naming no field.
    pub fn conflict_without_field(why: Why) -> ApiError {
        ApiError::Conflict { why, field: None }
    }

    /// A 404 saying `{what} not found`; `key` names the same words in
    /// `locales/*/refusals.ftl` (mark it with `crate::i18n::message_key`).
    pub fn not_found(what: &str, key: &'static str) -> ApiError {
        ApiError::NotFound(Why::new(format!("{what} not found"), key))
    }

    pub fn forbidden(why: impl Into<String>) -> ApiError {
        ApiError::Forbidden(why.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Malformed(_)
            | ApiError::BadToken(_)
            | ApiError::WrongPassword(_)
            | ApiError::WrongFactor { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) | ApiError::MfaRequired(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::ReauthenticationRequired => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn problem(&self) -> Problem {
        let (kind, title, detail, errors): (&str, &str, Option<String>, Option<Vec<FieldError>>) =
            match self {
                ApiError::Validation(errors) => (
                    "validation",
                    "Validation failed",
                    Some(format!("{} field(s) failed validation", errors.len())),
                    Some(errors.clone()),
                ),
                ApiError::Malformed(detail) => (
                    "malformed-request",
                    "Malformed request",
                    Some(detail.clone()),
                    None,
                ),
                ApiError::BadToken(why) => (
                    "invalid-token",
                    "Invalid token",
                    Some(why.message.clone()),
                    None,
                ),
                ApiError::WrongPassword(field) => (
                    "wrong-password",
                    "Wrong password",
                    Some("the password given for confirmation is not correct".into()),
                    Some(vec![FieldError::new(*field, "is not correct")]),
                ),
                ApiError::WrongFactor { field, why } => (
                    "invalid-second-factor",
                    "Second factor refused",
                    Some(format!("{field} {}", why.message)),
                    Some(vec![why.clone().at(*field)]),
                ),
                ApiError::Unauthorized(AuthProblem::InvalidCredentials) => (
                    "invalid-credentials",
                    "Invalid credentials",
                    Some("the login or password is not correct".into()),
                    None,
                ),
                ApiError::Unauthorized(AuthProblem::MissingToken) => (
                    "unauthorized",
                    "Not authenticated",
                    Some("a bearer access token is required".into()),
                    None,
                ),
                ApiError::Unauthorized(AuthProblem::InvalidToken) => (
                    "unauthorized",
                    "Not authenticated",
                    Some("the access token is invalid, expired or revoked".into()),
                    None,
                ),
                ApiError::Forbidden(detail) => {
                    ("forbidden", "Forbidden", Some(detail.clone()), None)
                }
                ApiError::MfaRequired(challenge) => (
                    "mfa-required",
                    "Second factor required",
                    Some(challenge.detail.clone()),
                    None,
                ),
                ApiError::ReauthenticationRequired => (
                    "reauthentication-required",
                    "Re-authentication required",
                    Some("this needs a recent authentication: POST /api/v1/auth/reauthenticate, then retry with the new access token".into()),
                    None,
                ),
                ApiError::NotFound(why) => {
                    ("not-found", "Not found", Some(why.message.clone()), None)
                }
                ApiError::MethodNotAllowed => {
                    ("method-not-allowed", "Method not allowed", None, None)
                }
                ApiError::Conflict { why, field } => (
                    "conflict",
                    "Conflict",
                    Some(why.message.clone()),
                    field.as_ref().map(|f| vec![why.clone().at(f.clone())]),
                ),
                ApiError::PayloadTooLarge => (
                    "payload-too-large",
                    "Payload too large",
                    Some("request bodies are limited to 64 KiB".into()),
                    None,
                ),
                ApiError::UnsupportedMediaType(detail) => (
                    "unsupported-media-type",
                    "Unsupported media type",
                    Some(detail.clone()),
                    None,
                ),
                ApiError::TooManyRequests { why, .. } => (
                    "rate-limited",
                    "Too many requests",
                    Some(why.message.clone()),
                    None,
                ),
                ApiError::Unavailable(detail) => (
                    "service-unavailable",
                    "Service unavailable",
                    Some(detail.clone()),
                    None,
                ),
                ApiError::Internal(_) => ("internal", "Internal server error", None, None),
            };
        Problem {
            kind: problem_type(kind),
            title: title.to_owned(),
            status: self.status().as_u16(),
            detail,
            errors,
            request_id: None,
        }
    }
}

/// The `type` URI of a problem kind.
pub fn problem_type(kind: &str) -> String {
    format!("urn:roster:problem:{kind}")
}

/// A problem+json response with the given status and body.
pub fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// The problem body for a status that no handler produced (404 route, 405, 413, ...).
pub fn generic_problem(status: StatusCode) -> Problem {
    let kind = match status {
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload-too-large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        StatusCode::TOO_MANY_REQUESTS => "rate-limited",
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => "timeout",
        StatusCode::SERVICE_UNAVAILABLE => "service-unavailable",
        StatusCode::UNPROCESSABLE_ENTITY => "validation",
        s if s.is_server_error() => "internal",
        _ => "malformed-request",
    };
    let detail = match status {
        StatusCode::NOT_FOUND => Some("no resource at this path".to_owned()),
        StatusCode::PAYLOAD_TOO_LARGE => Some("request bodies are limited to 64 KiB".to_owned()),
        _ => None,
    };
    Problem {
        kind: problem_type(kind),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        errors: None,
        request_id: None,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::MfaRequired(challenge) = &self {
            let body = serde_json::to_vec(&**challenge).unwrap_or_default();
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return response;
        }
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        if let ApiError::Unavailable(detail) = &self {
            tracing::warn!(detail = %detail, "dependency unavailable");
        }
        let mut response = problem_response(status, &self.problem());
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthorized(AuthProblem::MissingToken) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"roster\""),
                );
            }
            ApiError::Unauthorized(AuthProblem::InvalidToken) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Bearer realm=\"roster\", error=\"invalid_token\", error_description=\"the access token is invalid, expired or revoked\"",
                    ),
                );
            }
            ApiError::Unauthorized(AuthProblem::InvalidCredentials) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"roster\""),
                );
            }
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from((*retry_after_secs).max(1)),
                );
            }
            ApiError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            ApiError::Internal(_) => {
                response.extensions_mut().insert(InternalErrorMarker);
            }
            _ => {}
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    /// Connection-level failures mean the database is down (503); anything else is a bug.
    fn from(error: sqlx::Error) -> ApiError {
        match ApiError::from(&error) {
            // Owned, the error keeps its cause chain for the log.
            ApiError::Internal(_) => {
                ApiError::Internal(anyhow::Error::new(error).context("database query failed"))
            }
            unavailable => unavailable,
        }
    }
}

impl From<&sqlx::Error> for ApiError {
    /// The same split, for an error shared by several requests (a batch that failed).
    fn from(error: &sqlx::Error) -> ApiError {
        if is_unavailable(error) {
            ApiError::Unavailable("the database is unavailable".to_owned())
        } else {
            ApiError::Internal(anyhow::anyhow!("database query failed: {error}"))
        }
    }
}

/// True when the error says the database could not be reached, not that the query was wrong.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db)
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() =>
        {
            // SQLite: SQLITE_BUSY or SQLITE_LOCKED (any extended code) after the busy
            // timeout, i.e. another writer held the database for too long.
            db.code()
                .and_then(|code| code.parse::<i32>().ok())
                .is_some_and(|code| matches!(code & 0xff, 5 | 6))
        }
        sqlx::Error::Database(db) => {
            // PostgreSQL: admin shutdown, cannot connect now, too many connections.
            matches!(
                db.code().as_deref(),
                Some("57P01" | "57P02" | "57P03" | "53300")
            )
        }
        _ => false,
    }
}

mod field;
mod unique;

pub use self::field::{FieldError, Why, url_problem_key};
pub use self::unique::{ResultExt, unique_violation_target};

pub type ApiResult<T> = Result<T, ApiError>;
