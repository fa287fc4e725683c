//! Password login: `POST /login` (JSON) and the OAuth2 token endpoint `POST /token`
//! (form body, password and refresh_token grants, RFC 6749 §5.1/§5.2 responses).
//!
//! An unknown user, a wrong password and a deactivated account fail the same way, with
//! the same body and the same Argon2 work. Locked identifiers get 429 before any
//! password is checked.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::guard::{self, LoginRefused};
use super::mfa;
use super::refresh;
use super::sessions::{self, Device, TokenPair, token_pair};
use crate::accounts::model::User;
use crate::audit::{self, AuditEntry, event};
use crate::coherence::CacheUnaffected;
use crate::error::{
    ApiError, ApiResult, AuthProblem, FieldError, MfaRequiredProblem, Problem, Why,
};
use crate::http::{ApiJson, ClientInfo, no_store};
use crate::i18n::message_key;
use crate::on_exec;
use crate::state::AppState;
use crate::text::{Lines, refusal};
use crate::tokens::access::Authentication;

const MAX_IDENTIFIER: usize = 254;
const MAX_PASSWORD_INPUT: usize = 4096;
const MAX_DEVICE_NAME: usize = 100;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The username (or an email address); give exactly one of username, email and login.
    pub username: Option<String>,
    pub email: Option<String>,
    /// A username or an email address.
    pub login: Option<String>,
    pub password: String,
    /// A name for this device, shown in the session list.
    pub device_name: Option<String>,
}

/// What a right password leads to.
pub enum LoginOutcome {
    /// A session, started.
    Session(User, sessions::IssuedRefresh),
    /// The account has a second factor: the challenge to answer at `/mfa/verify`.
    SecondFactor(Box<MfaRequiredProblem>),
}

/// Checks a password login (see [`super::guard::check_login`]) and, on success, starts a
/// session, or for an account with a second factor answers the challenge to complete.
pub async fn password_login(
    state: &AppState,
    identifier: &str,
    password: &str,
    device: &Device,
) -> Result<LoginOutcome, LoginRefused> {
    let checked = guard::check_login(state, identifier, password, &device.client).await?;
    let now = state.clock.now();
    let mut user = checked.user.clone();
    let factors = mfa::factors(&state.db, user.id).await?;
    let mut tx = state.db.begin().await?;
    if !factors.any() {
        guard::settle_login(&mut tx, &checked).await?;
    }
    if let Some(hash) = &checked.rehashed {
        on_exec!(&mut tx, c => sqlx::query("UPDATE credentials SET password_hash = $2 WHERE user_id = $1 AND is_current")
            .bind(user.id)
            .bind(hash)
            .execute(c)
            .await.map(|r| r.rows_affected()))?;
        audit::record(
            &mut tx,
            now,
            AuditEntry::by_owner(event::PASSWORD_REHASH, user.id, &device.client),
        )
        .await?;
    }
    if factors.any() {
        tx.commit().await?;
        guard::defer_login(state, &checked).await?;
        let challenge = mfa::challenge::start(
            state,
            user.id,
            "pwd",
            checked.identifier_key(),
            device,
            &factors,
        )
        .await?;
        metrics::counter!("roster_logins_total", "result" => "mfa_required").increment(1);
        return Ok(LoginOutcome::SecondFactor(Box::new(challenge)));
    }
    let authentication = Authentication::password(now);
    let issued =
        sessions::start_session(state, &mut tx, user.id, device, authentication, now).await?;
    crate::accounts::model::record_login(&mut tx, user.id, now).await?;
    let entry = AuditEntry::by_owner(event::LOGIN_SUCCESS, user.id, &device.client)
        .with_detail(serde_json::json!({"session_id": issued.session_id}));
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    metrics::counter!("roster_logins_total", "result" => "success").increment(1);
    user.last_login_at = Some(now);
    Ok(LoginOutcome::Session(user, issued))
}

fn check_login_request(body: &LoginRequest) -> Result<&str, ApiError> {
    let mut errors = Vec::new();
    let given: Vec<(&str, &String)> = [
        ("login", &body.login),
        ("username", &body.username),
        ("email", &body.email),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.as_ref().map(|v| (name, v)))
    .collect();
    let identifier = match given.as_slice() {
        [] => {
            errors.push(FieldError::new(
                "login",
                "give one of login, username or email",
            ));
            None
        }
        [(name, value)] => {
            if value.trim().is_empty() || value.chars().count() > MAX_IDENTIFIER {
                errors.push(FieldError::new(
                    *name,
                    format!("must be 1 to {MAX_IDENTIFIER} characters"),
                ));
            }
            Some(value.as_str())
        }
        _ => {
            for (name, _) in &given {
                errors.push(FieldError::new(
                    *name,
                    "give only one of login, username or email",
                ));
            }
            None
        }
    };
    if body.password.is_empty() || body.password.len() > MAX_PASSWORD_INPUT {
        errors.push(FieldError::new("password", "is required"));
    }
    if let Some(device_name) = &body.device_name {
        if device_name.chars().count() > MAX_DEVICE_NAME {
            errors.push(crate::accounts::fields::too_long(
                "device_name",
                MAX_DEVICE_NAME,
            ));
        } else if let Some(why) = refusal(device_name, Lines::One) {
            errors.push(why.at("device_name"));
        }
    }
    match identifier {
        Some(identifier) if errors.is_empty() => Ok(identifier),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// The 401 body of a login: plain problem details (`invalid-credentials`), or, when the
/// password was right and a second factor must follow, the `mfa-required` problem with its
/// challenge. Documented as `anyOf` because the second carries every field of the first.
pub struct LoginRefusal;

impl utoipa::PartialSchema for LoginRefusal {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, Ref};
        AnyOfBuilder::new()
            .item(Ref::from_schema_name(<Problem as ToSchema>::name()))
            .item(Ref::from_schema_name(
                <MfaRequiredProblem as ToSchema>::name(),
            ))
            .into()
    }
}

impl ToSchema for LoginRefusal {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push((<Problem as ToSchema>::name().into(), Problem::schema()));
        <Problem as ToSchema>::schemas(schemas);
        schemas.push((
            <MfaRequiredProblem as ToSchema>::name().into(),
            MfaRequiredProblem::schema(),
        ));
        <MfaRequiredProblem as ToSchema>::schemas(schemas);
    }
}

/// Log in with a username or email and a password
///
/// Starts a session (one per device) and answers an access token and a refresh token.
/// Failures for an unknown user, a wrong password and a deactivated account are
/// indistinguishable. After `LOGIN_MAX_FAILURES` consecutive failures for one
/// identifier it is locked (429 with `Retry-After`), doubling up to 15 minutes.
#[utoipa::path(post, path = "/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPair, headers(("Cache-Control" = String, description = "no-store"))),
        (status = 401, description = "Invalid credentials (`invalid-credentials`), or the password is right and the account has a second factor (`mfa-required`, with the `mfa_token` to answer at /mfa/verify)", body = LoginRefusal, content_type = "application/problem+json"),
        (status = 429, description = "Identifier locked or rate limited; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let identifier = check_login_request(&body)?;
    let device = Device {
        name: body.device_name.clone().filter(|d| !d.trim().is_empty()),
        client,
    };
    match password_login(&state, identifier, &body.password, &device).await {
        Ok(LoginOutcome::Session(user, issued)) => {
            let pair = token_pair(&state, user, issued, state.clock.now())?;
            Ok(no_store(Json(pair).into_response()))
        }
        Ok(LoginOutcome::SecondFactor(challenge)) => Err(ApiError::MfaRequired(challenge)),
        Err(LoginRefused::Invalid) => Err(ApiError::Unauthorized(AuthProblem::InvalidCredentials)),
        Err(LoginRefused::Locked { retry_after_secs }) => Err(ApiError::TooManyRequests {
            retry_after_secs,
            why: Why::new(
                "too many failed logins for this account; try again later",
                message_key("too-many-logins"),
            ),
        }),
        Err(LoginRefused::Error(e)) => Err(e),
    }
}

/// An RFC 6749 §5.2 error.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_grant`, `unsupported_grant_type` or `invalid_client`.
    pub error: &'static str,
    pub error_description: String,
}

/// The password grant's answer for an account with a second factor (401).
#[derive(Serialize, ToSchema)]
pub struct OAuthMfaRequired {
    /// `mfa_required`
    pub error: &'static str,
    pub error_description: String,
    /// Single-use, lives `expires_in` seconds; answer it at `/api/v1/auth/mfa/verify`.
    pub mfa_token: String,
    pub methods: Vec<String>,
    pub expires_in: i64,
}

/// An RFC 6749 §5.1 success (with Roster's session id and refresh expiry added).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_expires_in: i64,
    pub session_id: uuid::Uuid,
}

impl From<TokenPair> for OAuthToken {
    fn from(pair: TokenPair) -> OAuthToken {
        OAuthToken {
            access_token: pair.access_token,
            token_type: pair.token_type,
            expires_in: pair.expires_in,
            refresh_token: pair.refresh_token,
            refresh_expires_in: pair.refresh_expires_in,
            session_id: pair.session_id,
        }
    }
}

fn oauth_error(status: StatusCode, error: &'static str, description: &str) -> Response {
    no_store(
        (
            status,
            Json(OAuthError {
                error,
                error_description: description.to_owned(),
            }),
        )
            .into_response(),
    )
}

/// The form fields of a token request. Unknown parameters are ignored (RFC 6749 §3.2).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TokenForm {
    /// `password` or `refresh_token`.
    pub grant_type: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub refresh_token: Option<String>,
    /// Accepted and ignored: Roster's clients are public.
    pub client_id: Option<String>,
    /// Accepted and ignored.
    pub scope: Option<String>,
}

/// OAuth2 token endpoint (password and refresh_token grants)
///
/// Takes `application/x-www-form-urlencoded` (any charset). Answers RFC 6749 §5.1 JSON
/// with `Cache-Control: no-store`; errors are §5.2 JSON (`{"error": "invalid_grant"}`
/// with 400), except a locked identifier, which gets 429 with `Retry-After`.
#[utoipa::path(post, path = "/token", tag = "auth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Token issued", body = OAuthToken),
        (status = 400, description = "RFC 6749 error: invalid_request, invalid_grant, unsupported_grant_type", body = OAuthError),
        (status = 401, description = "`mfa_required`: the password is right and the account has a second factor", body = OAuthMfaRequired),
        (status = 429, description = "Identifier locked or rate limited; see Retry-After", body = OAuthError),
    ))]
pub async fn token(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as application/x-www-form-urlencoded".into(),
        ));
    }
    if form_urlencoded::parse(&body)
        .any(|(name, value)| name.contains('\0') || value.contains('\0'))
    {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "parameters must not contain NUL characters",
        ));
    }
    let Ok(form) = serde_urlencoded::from_bytes::<TokenForm>(&body) else {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the form body is malformed or repeats a parameter",
        ));
    };
    let now = state.clock.now();
    match form.grant_type.as_deref() {
        Some("password") => {
            let (Some(username), Some(password)) =
                (form.username.as_deref(), form.password.as_deref())
            else {
                return Ok(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "username and password are required",
                ));
            };
            if username.trim().is_empty()
                || username.chars().count() > MAX_IDENTIFIER
                || password.len() > MAX_PASSWORD_INPUT
            {
                return Ok(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "invalid username or password",
                ));
            }
            let device = Device { name: None, client };
            match password_login(&state, username, password, &device).await {
                Ok(LoginOutcome::Session(user, issued)) => Ok(no_store(
                    Json(OAuthToken::from(token_pair(&state, user, issued, now)?)).into_response(),
                )),
                Ok(LoginOutcome::SecondFactor(challenge)) => {
                    let body = OAuthMfaRequired {
                        error: "mfa_required",
                        error_description: "the password is right; complete the login with a second factor at /api/v1/auth/mfa/verify".into(),
                        mfa_token: challenge.mfa_token,
                        methods: challenge.methods,
                        expires_in: challenge.expires_in,
                    };
                    Ok(no_store(
                        (StatusCode::UNAUTHORIZED, Json(body)).into_response(),
                    ))
                }
                Err(LoginRefused::Invalid) => Ok(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "invalid username or password",
                )),
                Err(LoginRefused::Locked { retry_after_secs }) => {
                    let mut response = oauth_error(
                        StatusCode::TOO_MANY_REQUESTS,
                        "invalid_grant",
                        "too many failed logins; try again later",
                    );
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                    Ok(response)
                }
                Err(LoginRefused::Error(e)) => Err(e),
            }
        }
        Some("refresh_token") => {
            let Some(refresh_token) = form.refresh_token.as_deref().filter(|t| !t.is_empty())
            else {
                return Ok(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                ));
            };
            let refreshed =
                refresh::rotate_refresh_token(&state, refresh_token, &client, None).await?;
            metrics::counter!("roster_token_refreshes_total", "result" => refreshed.metric())
                .increment(1);
            match refreshed {
                refresh::Refreshed::Rotated { user, issued, .. } => {
                    let mut response = no_store(
                        Json(OAuthToken::from(token_pair(&state, user, issued, now)?))
                            .into_response(),
                    );
                    // A rotation revokes nothing and changes no account: no cache sync needed.
                    response.extensions_mut().insert(CacheUnaffected);
                    Ok(response)
                }
                // RFC 6749 §5.2: every unusable refresh token is `invalid_grant`; the
                // description says which.
                refresh::Refreshed::Refused(refusal) => Ok(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    refusal.description(),
                )),
            }
        }
        Some(_) => Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be password or refresh_token",
        )),
        None => Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required",
        )),
    }
}
