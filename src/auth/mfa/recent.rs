//! The "recent" rule and re-authentication. An endpoint marked recent needs an access
//! token whose `auth_time` lies within `REAUTH_MAX_AGE_MINUTES`; otherwise it answers
//! 403 `urn:roster:problem:reauthentication-required`, and the client proves the user
//! again with `POST /reauthenticate` (the password, plus a second factor when the
//! account has one), which renews the session's `auth_time` and `amr` and answers a
//! fresh token pair for the same session.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::proof::{Proof, check_second_factor, with_password};
use super::rules::Ceremony;
use crate::accounts::model::User;
use crate::audit::{self, AuditEntry, event};
use crate::auth::guard::{self, PasswordSettles};
use crate::auth::sessions::{self, IssuedRefresh, TokenPair, token_pair};
use crate::error::{ApiError, ApiResult, Problem, Why};
use crate::http::{ApiJson, AuthUser, ClientInfo, no_store};
use crate::i18n::message_key;
use crate::state::AppState;
use crate::tokens::access::Authentication;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReauthenticateRequest {
    pub password: String,
    /// A TOTP code, when the account has a second factor; or give `recovery_code`, or
    /// `challenge_id` (from `POST /mfa/passkey-challenge` with this bearer token) with
    /// `credential`.
    pub code: Option<String>,
    pub recovery_code: Option<String>,
    pub challenge_id: Option<Uuid>,
    /// WebAuthn `AuthenticationResponseJSON`.
    #[schema(value_type = Option<Object>)]
    pub credential: Option<Value>,
}

/// Prove the user again, for the endpoints that need a recent authentication
///
/// Checks the password (counted toward the lockout like a login) and, when the account
/// has one, a second factor; then renews the session's `auth_time` and `amr` and
/// answers a fresh token pair for the same session (the refresh token before it counts
/// as used).
#[utoipa::path(post, path = "/reauthenticate", operation_id = "reauthenticate", tag = "mfa", security(("bearer" = [])), request_body = ReauthenticateRequest,
    responses(
        (status = 200, description = "Re-authenticated", body = TokenPair, headers(("Cache-Control" = String, description = "no-store"))),
        (status = 400, description = "Wrong password or second factor (field named)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session's refresh token was rotated meanwhile; retry", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Password missing, or a second factor missing or given twice", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The account is locked or the client rate limited; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reauthenticate(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<ReauthenticateRequest>,
) -> ApiResult<Response> {
    let proof = Proof::from_fields(
        body.code,
        body.recovery_code,
        body.challenge_id,
        body.credential,
    )?;
    let issued = reauthenticate_session(
        &state,
        &caller.user,
        caller.session_id,
        &body.password,
        proof,
        &client,
    )
    .await?;
    let now = state.clock.now();
    let pair = token_pair(&state, caller.user, issued, now)?;
    Ok(no_store(Json(pair).into_response()))
}

/// Proves `user` again for their session `session_id` (what `POST /reauthenticate` and
/// the console's security page do): the password, counted toward the lockout like a
/// login (field `password`), and `proof` when the account has a second factor (422
/// naming `code` when missing); then the session's `auth_time` and `amr` are renewed
/// with a new refresh token (the one before counts as used). Audited.
pub async fn reauthenticate_session(
    state: &AppState,
    user: &User,
    session_id: Uuid,
    password: &str,
    proof: Option<Proof>,
    client: &ClientInfo,
) -> ApiResult<IssuedRefresh> {
    let user_id = user.id;
    let factors = super::factors(&state.db, user_id).await?;
    if factors.any() && proof.is_none() {
        return Err(ApiError::validation(
            "code",
            "is required: this account has a second factor (or give recovery_code, or challenge_id with credential)",
        ));
    }
    // A right password must not forget the account's failures while its second factor
    // is unproven: otherwise every wrong code would start from a clean count.
    let settles = if factors.any() {
        PasswordSettles::OnlyItsAttempt
    } else {
        PasswordSettles::Account
    };
    guard::confirm_password_settling(
        state,
        user,
        (password, "password"),
        "reauthenticate",
        settles,
        client,
    )
    .await?;
    let keys = guard::second_factor_keys(None, user_id);
    let methods = match proof.filter(|_| factors.any()) {
        None => "pwd".to_owned(),
        Some(proof) => {
            let ceremony = Ceremony::Reauthenticate;
            match check_second_factor(state, &keys, user_id, &proof, ceremony, client).await? {
                Some(factor) => with_password(factor),
                None => return Err(proof.refused()),
            }
        }
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let authentication = Authentication { time: now, methods };
    let issued = sessions::renew_session(state, &mut tx, session_id, authentication, now)
        .await?
        .ok_or_else(|| {
            ApiError::conflict_without_field(Why::new(
                "the session's refresh token was rotated meanwhile; retry",
                message_key("conflict-session-rotated"),
            ))
        })?;
    if factors.any() {
        guard::settle_second_factor(&mut tx, &keys).await?;
    }
    let entry = AuditEntry::by_owner(event::REAUTHENTICATED, user_id, client).with_detail(
        serde_json::json!({"session_id": session_id, "amr": issued.authentication.amr()}),
    );
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(issued)
}
