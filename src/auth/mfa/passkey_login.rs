//! A passkey as a whole login (`POST /passkey-login/options`, then `/passkey-login`): a
//! discoverable credential with user verification, no account named beforehand; the
//! authenticator's user handle says whose account it is, and it must be the
//! credential's own.

use super::passkeys::{
    CeremonyOptions, LOGIN, begin, check_assertion, invalid_challenge, parse_assertion, take,
};
use crate::accounts::model::{User, find_user};
use crate::audit::{self, AuditEntry, event};
use crate::auth::sessions::{self, Device, IssuedRefresh, TokenPair, token_pair};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ClientInfo, no_store};
use crate::state::AppState;
use crate::text::{Lines, refusal};
use crate::tokens::access::Authentication;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

const MAX_NAME: usize = 100;

/// Start a passkey login
///
/// Answers the options for `navigator.credentials.get()` with no account named: the
/// authenticator offers its discoverable credentials for this relying party, with user
/// verification.
#[utoipa::path(post, path = "/passkey-login/options", operation_id = "passkey_login_options", tag = "mfa",
    responses(
        (status = 200, description = "The ceremony's id and request options", body = CeremonyOptions),
        (status = 429, description = "Rate limited", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login_options(State(state): State<AppState>) -> ApiResult<Response> {
    let ceremony = state.webauthn.login_options()?;
    begin(&state, LOGIN, None, None, ceremony).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyLogin {
    /// From `POST /passkey-login/options`.
    pub challenge_id: Uuid,
    /// WebAuthn `AuthenticationResponseJSON` (with `userHandle`).
    #[schema(value_type = Object)]
    pub credential: Value,
    /// A name for this device, shown in the session list.
    pub device_name: Option<String>,
}

/// Log in with a passkey
///
/// A passkey with user verification is a whole login: answers the same token pair as
/// `/login` (`amr` `hwk` or `swk`, and `mfa`). A deactivated account, an unknown or
/// refused credential all fail alike (401).
#[utoipa::path(post, path = "/passkey-login", operation_id = "passkey_login", tag = "mfa", request_body = PasskeyLogin,
    responses(
        (status = 200, description = "Logged in", body = TokenPair, headers(("Cache-Control" = String, description = "no-store"))),
        (status = 400, description = "Unknown, expired or used challenge_id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The passkey was not accepted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (named field)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<PasskeyLogin>,
) -> ApiResult<Response> {
    let device_name = body
        .device_name
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    if let Some(name) = &device_name {
        if name.chars().count() > MAX_NAME {
            let error = crate::accounts::fields::too_long("device_name", MAX_NAME);
            return Err(ApiError::Validation(vec![error]));
        }
        if let Some(why) = refusal(name, Lines::One) {
            return Err(ApiError::Validation(vec![why.at("device_name")]));
        }
    }
    let device = Device {
        name: device_name,
        client,
    };
    let (user, issued) = sign_in(&state, body.challenge_id, &body.credential, &device).await?;
    let now = state.clock.now();
    let pair: TokenPair = token_pair(&state, user, issued, now)?;
    Ok(no_store(Json(pair).into_response()))
}

/// Checks the answer `credential` to the passkey-login ceremony `challenge_id` and starts
/// the session it proves (what `/passkey-login` and the sign-in page both do).
pub async fn sign_in(
    state: &AppState,
    challenge_id: Uuid,
    credential: &Value,
    device: &Device,
) -> ApiResult<(User, IssuedRefresh)> {
    let response = parse_assertion(credential, true)?;
    let server_side = take(state, challenge_id, LOGIN, None, None)
        .await?
        .ok_or_else(invalid_challenge)?;
    let now = state.clock.now();
    let refused = || {
        super::count_verification("passkey_login", "failure");
        ApiError::Unauthorized(crate::error::AuthProblem::InvalidCredentials)
    };
    // The user handle the authenticator returns names the account; it must be the
    // credential's own account.
    let handle = response.user_handle().ok_or_else(refused)?;
    let Some((user_id, kind)) =
        check_assertion(state, handle, &server_side, &response, now).await?
    else {
        return Err(refused());
    };
    let mut tx = state.db.begin().await?;
    let user = match find_user(&mut tx, user_id).await? {
        Some(user) if user.is_active => user,
        _ => return Err(refused()),
    };
    let authentication = Authentication {
        time: now,
        methods: format!("{kind},mfa"),
    };
    let issued =
        sessions::start_session(state, &mut tx, user.id, device, authentication, now).await?;
    crate::accounts::model::record_login(&mut tx, user.id, now).await?;
    let entry = AuditEntry::by_owner(event::LOGIN_SUCCESS, user.id, &device.client)
        .with_detail(serde_json::json!({"session_id": issued.session_id, "method": "passkey"}));
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    super::count_verification("passkey_login", "success");
    metrics::counter!("roster_logins_total", "result" => "success").increment(1);
    let mut user = user;
    user.last_login_at = Some(now);
    Ok((user, issued))
}
