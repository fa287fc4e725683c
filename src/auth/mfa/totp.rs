//! A TOTP authenticator (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step of
//! drift either way): enrolment (`POST /mfa/totp`), confirmation with a first code
//! (`POST /mfa/totp/confirm`, which hands out the recovery codes) and removal
//! (`DELETE /mfa/totp`). The secret (160 random bits) is sealed with `ENCRYPTION_KEY`,
//! bound to its account. A code is accepted once: the step it matched is stored, and a
//! code of that step or an earlier one is refused afterwards.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use totp_rs::{Builder, Totp};
use utoipa::ToSchema;
use uuid::Uuid;

use super::recovery::{self, RecoveryCodes};
use super::rules::require_recent;
use crate::accounts::model::User;
use crate::audit::{self, AuditEntry, event};
use crate::db::Exec;
use crate::error::{ApiError, ApiResult, Problem, Why};
use crate::http::{ApiJson, AuthUser, ClientInfo, NoContent, no_store};
use crate::i18n::message_key;
use crate::on_exec;
use crate::state::AppState;

const SECRET_BYTES: usize = 20;

/// What an authenticator app needs: the secret, and the same as an `otpauth://` URI
/// (for a QR code).
#[derive(Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32 (RFC 4648, no padding).
    pub secret: String,
    /// `otpauth://totp/Roster:<username>?secret=...&issuer=Roster&algorithm=SHA1&digits=6&period=30`
    /// (the issuer is `BRAND_NAME`).
    pub otpauth_uri: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// The 6-digit code the authenticator shows now.
    pub code: String,
}

/// The associated data a user's TOTP secret is sealed with.
pub fn sealing_context(user_id: Uuid) -> Vec<u8> {
    let mut context = b"mfa_totp:".to_vec();
    context.extend_from_slice(user_id.as_bytes());
    context
}

/// The authenticator of `secret` for `account`, named `issuer` (`BRAND_NAME`, which
/// cannot contain `:`) in an authenticator app.
fn authenticator(secret: Vec<u8>, account: &str, issuer: &str) -> ApiResult<Totp> {
    Builder::new()
        .with_secret(secret)
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some(issuer.replace(':', "_")))
        .build()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("TOTP parameters refused: {e:?}")))
}

/// The time step a code matches now (one step of drift either way), if any.
fn matching_step(secret: Vec<u8>, code: &str, now: DateTime<Utc>) -> ApiResult<Option<i64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let totp = authenticator(secret, "check", "check")?;
    let time = now.timestamp().max(0) as u64;
    Ok(totp.check(&code, time).map(|step| step as i64))
}

#[derive(sqlx::FromRow)]
struct Stored {
    secret: Vec<u8>,
    last_step: Option<i64>,
}

async fn stored(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    confirmed: bool,
) -> Result<Option<Stored>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, Stored>(
        "SELECT secret, last_step FROM mfa_totp WHERE user_id = $1 AND (confirmed_at IS NOT NULL) = $2")
        .bind(user_id)
        .bind(confirmed)
        .fetch_optional(c)
        .await)
}

fn open_secret(state: &AppState, user_id: Uuid, sealed: &[u8]) -> ApiResult<Vec<u8>> {
    state
        .cipher
        .open(sealed, &sealing_context(user_id))
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("cannot open a TOTP secret")))
}

/// Whether `code` is a valid, not yet used code of `user_id`'s confirmed authenticator;
/// a valid one is marked used at once (one conditional update, so two requests with
/// one code cannot both pass). False when the account has no confirmed authenticator.
pub async fn accept_code(state: &AppState, user_id: Uuid, code: &str) -> ApiResult<bool> {
    let Some(stored) = stored(&state.db, user_id, true).await? else {
        return Ok(false);
    };
    let secret = open_secret(state, user_id, &stored.secret)?;
    let Some(step) = matching_step(secret, code, state.clock.now())? else {
        return Ok(false);
    };
    if stored.last_step.is_some_and(|last| last >= step) {
        return Ok(false);
    }
    let marked = on_exec!(state.db.writer(), c => sqlx::query(
        "UPDATE mfa_totp SET last_step = $2 WHERE user_id = $1 AND confirmed_at IS NOT NULL \
           AND (last_step IS NULL OR last_step < $2)")
        .bind(user_id)
        .bind(step)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(marked == 1)
}

/// Start setting up a TOTP authenticator
///
/// Answers a new secret, pending until confirmed with a code; nothing changes for the
/// login yet. A second call replaces a pending secret. Needs a recent authentication.
#[utoipa::path(post, path = "/mfa/totp", operation_id = "totp_enrol", tag = "mfa", security(("bearer" = [])),
    responses(
        (status = 200, description = "A pending secret", body = TotpEnrolment, headers(("Cache-Control" = String, description = "no-store"))),
        (status = 403, description = "The session's authentication is not recent: reauthenticate", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A TOTP authenticator is already set up; remove it first", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn enrol(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Response> {
    require_recent(&state, &caller)?;
    let enrolment = start_enrolment(&state, &caller.user).await?;
    Ok(no_store(Json(enrolment).into_response()))
}

/// Stores a new pending secret for `user` (replacing a pending one) and answers it; 409
/// when a confirmed authenticator exists. The caller checks the "recent" rule.
pub async fn start_enrolment(state: &AppState, user: &User) -> ApiResult<TotpEnrolment> {
    let user_id = user.id;
    let now = state.clock.now();
    let secret: [u8; SECRET_BYTES] = rand::rng().random();
    let enrolment = enrolment_of(secret.to_vec(), &user.username, &state.config.brand.name)?;
    let sealed = state.cipher.seal(&secret, &sealing_context(user_id));
    let mut tx = state.db.begin().await?;
    if stored(&mut tx, user_id, true).await?.is_some() {
        let why = Why::new(
            "a TOTP authenticator is already set up; remove it first",
            message_key("conflict-totp-set-up"),
        );
        return Err(ApiError::conflict("totp", why));
    }
    on_exec!(&mut tx, c => sqlx::query(
        "INSERT INTO mfa_totp (user_id, secret, created_at, confirmed_at, last_step) VALUES ($1, $2, $3, NULL, NULL) \
         ON CONFLICT (user_id) DO UPDATE SET secret = $2, created_at = $3, last_step = NULL \
         WHERE mfa_totp.confirmed_at IS NULL")
        .bind(user_id)
        .bind(&sealed)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(enrolment)
}

/// The pending (unconfirmed) set-up of `user`, if one was started: what the console shows
/// again when a confirmation code was wrong.
pub async fn pending_enrolment(state: &AppState, user: &User) -> ApiResult<Option<TotpEnrolment>> {
    let Some(pending) = stored(&state.db, user.id, false).await? else {
        return Ok(None);
    };
    let secret = open_secret(state, user.id, &pending.secret)?;
    enrolment_of(secret, &user.username, &state.config.brand.name).map(Some)
}

fn enrolment_of(secret: Vec<u8>, username: &str, issuer: &str) -> ApiResult<TotpEnrolment> {
    let totp = authenticator(secret, username, issuer)?;
    Ok(TotpEnrolment {
        secret: totp.secret().to_base32(),
        otpauth_uri: totp
            .to_url()
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("otpauth URI: {e:?}")))?,
    })
}

/// Confirm the TOTP authenticator with a first code
///
/// From now on a login needs a second factor. Answers 10 single-use recovery codes,
/// shown this once (earlier recovery codes stop working). Needs a recent authentication.
#[utoipa::path(post, path = "/mfa/totp/confirm", operation_id = "totp_confirm", tag = "mfa", security(("bearer" = [])), request_body = TotpCode,
    responses(
        (status = 200, description = "Confirmed; the recovery codes", body = RecoveryCodes, headers(("Cache-Control" = String, description = "no-store"))),
        (status = 400, description = "Wrong or already used code (field `code`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The session's authentication is not recent: reauthenticate", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No pending TOTP set-up (start one with POST /mfa/totp)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<TotpCode>,
) -> ApiResult<Response> {
    require_recent(&state, &caller)?;
    let codes = confirm_enrolment(&state, caller.id(), &body.code, &client).await?;
    Ok(no_store(
        Json(RecoveryCodes {
            recovery_codes: codes,
        })
        .into_response(),
    ))
}

/// Confirms `user_id`'s pending set-up with `code` and answers the new recovery codes
/// (to be shown once); 422/400 naming `code`, 409 without a pending set-up. Audited.
/// The caller checks the "recent" rule.
pub async fn confirm_enrolment(
    state: &AppState,
    user_id: Uuid,
    code: &str,
    client: &ClientInfo,
) -> ApiResult<Vec<String>> {
    check_code_shape("code", code)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(pending) = stored(&mut tx, user_id, false).await? else {
        let why = Why::new(
            "no TOTP set-up is pending; start one with POST /api/v1/auth/mfa/totp",
            message_key("conflict-totp-not-pending"),
        );
        return Err(ApiError::conflict("totp", why));
    };
    let secret = open_secret(state, user_id, &pending.secret)?;
    let Some(step) = matching_step(secret, code, now)? else {
        super::count_verification("totp", "failure");
        let why = Why::new(
            "is not the authenticator's current code",
            message_key("wrong-factor-not-current-code"),
        );
        return Err(ApiError::wrong_factor("code", why));
    };
    on_exec!(&mut tx, c => sqlx::query(
        "UPDATE mfa_totp SET confirmed_at = $2, last_step = $3 WHERE user_id = $1 AND confirmed_at IS NULL")
        .bind(user_id)
        .bind(now)
        .bind(step)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let codes = recovery::replace(&mut tx, user_id, now).await?;
    audit::record(
        &mut tx,
        now,
        AuditEntry::by_owner(event::MFA_TOTP_ADDED, user_id, client),
    )
    .await?;
    tx.commit().await?;
    super::count_verification("totp", "success");
    Ok(codes)
}

/// Remove the TOTP authenticator
///
/// When no passkey remains either, the recovery codes go too and a password alone
/// logs in again. Needs a recent authentication.
#[utoipa::path(delete, path = "/mfa/totp", operation_id = "totp_remove", tag = "mfa", security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The session's authentication is not recent: reauthenticate", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No TOTP authenticator is set up", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
) -> ApiResult<NoContent> {
    require_recent(&state, &caller)?;
    remove_authenticator(&state, caller.id(), &client).await?;
    Ok(NoContent)
}

/// Removes `user_id`'s TOTP authenticator (404 without one), and the recovery codes when
/// no second factor remains. Audited. The caller checks the "recent" rule.
pub async fn remove_authenticator(
    state: &AppState,
    user_id: Uuid,
    client: &ClientInfo,
) -> ApiResult<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let removed = on_exec!(&mut tx, c => sqlx::query("DELETE FROM mfa_totp WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    if removed == 0 {
        return Err(ApiError::not_found(
            "TOTP authenticator",
            message_key("not-found-totp"),
        ));
    }
    recovery::forget_without_factor(&mut tx, user_id).await?;
    audit::record(
        &mut tx,
        now,
        AuditEntry::by_owner(event::MFA_TOTP_REMOVED, user_id, client),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// 422 unless `code` looks like a TOTP code (6 digits, spaces allowed).
pub fn check_code_shape(field: &'static str, code: &str) -> ApiResult<()> {
    let digits: Vec<char> = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != 6 || !digits.iter().all(char::is_ascii_digit) {
        return Err(ApiError::validation(
            field,
            "must be the 6 digits the authenticator shows",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_step_and_one_either_side_only() {
        // RFC 6238 Appendix B, SHA-1 seed, truncated to 6 digits.
        let secret = b"12345678901234567890".to_vec();
        let at = |t: i64| DateTime::from_timestamp(t, 0).unwrap();
        assert_eq!(
            matching_step(secret.clone(), "287082", at(59)).unwrap(),
            Some(1)
        );
        assert_eq!(
            matching_step(secret.clone(), "287082", at(89)).unwrap(),
            Some(1)
        );
        assert_eq!(
            matching_step(secret.clone(), "287082", at(95)).unwrap(),
            None
        );
        assert_eq!(
            matching_step(secret.clone(), "081804", at(1111111109)).unwrap(),
            Some(37037036)
        );
        assert_eq!(
            matching_step(secret.clone(), "081 804", at(1111111109)).unwrap(),
            Some(37037036)
        );
        assert_eq!(matching_step(secret, "000000", at(59)).unwrap(), None);
        assert!(check_code_shape("code", "12345a").is_err());
        assert!(check_code_shape("code", "123 456").is_ok());
    }
}
