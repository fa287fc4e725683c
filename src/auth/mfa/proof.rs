//! A second factor as a request gives it (a TOTP code, a recovery code, or a passkey
//! assertion answering a challenge), and its check. A check consumes what it accepts at
//! once (the code's time step, the recovery code, the passkey challenge), so that a
//! proof is good for one request however the rest of that request ends.

use serde_json::Value;
use uuid::Uuid;

use super::passkeys;
use super::rules::Ceremony;
use super::{count_verification, recovery, totp};
use crate::auth::guard;
use crate::error::{ApiError, ApiResult, Why};
use crate::http::ClientInfo;
use crate::i18n::message_key;
use crate::state::AppState;

/// A second factor sent in a request body.
pub enum Proof {
    Totp(String),
    RecoveryCode(String),
    Passkey {
        challenge_id: Uuid,
        credential: Value,
    },
}

impl Proof {
    /// The one proof among the optional fields of a body (`code`, `recovery_code`,
    /// `challenge_id` with `credential`); `None` when none is given, 422 for more than
    /// one, or for half a passkey answer.
    pub fn from_fields(
        code: Option<String>,
        recovery_code: Option<String>,
        challenge_id: Option<Uuid>,
        credential: Option<Value>,
    ) -> ApiResult<Option<Proof>> {
        let passkey = match (challenge_id, credential) {
            (None, None) => None,
            (Some(challenge_id), Some(credential)) => Some(Proof::Passkey {
                challenge_id,
                credential,
            }),
            (None, Some(_)) => {
                return Err(ApiError::validation(
                    "challenge_id",
                    "is required with credential",
                ));
            }
            (Some(_), None) => {
                return Err(ApiError::validation(
                    "credential",
                    "is required with challenge_id",
                ));
            }
        };
        let given: Vec<Proof> = [
            code.map(Proof::Totp),
            recovery_code.map(Proof::RecoveryCode),
            passkey,
        ]
        .into_iter()
        .flatten()
        .collect();
        if given.len() > 1 {
            return Err(ApiError::validation(
                "code",
                "give one of code, recovery_code, or challenge_id with credential",
            ));
        }
        let proof = given.into_iter().next();
        match &proof {
            Some(Proof::Totp(code)) => totp::check_code_shape("code", code)?,
            Some(Proof::RecoveryCode(code)) if code.trim().is_empty() || code.len() > 64 => {
                return Err(ApiError::validation(
                    "recovery_code",
                    "must be one of the account's recovery codes",
                ));
            }
            _ => {}
        }
        Ok(proof)
    }

    /// As metrics and the audit trail name it.
    pub fn method(&self) -> &'static str {
        match self {
            Proof::Totp(_) => "totp",
            Proof::RecoveryCode(_) => "recovery_code",
            Proof::Passkey { .. } => "passkey",
        }
    }

    /// The field a refusal names.
    pub fn field(&self) -> &'static str {
        match self {
            Proof::Totp(_) => "code",
            Proof::RecoveryCode(_) => "recovery_code",
            Proof::Passkey { .. } => "credential",
        }
    }

    /// The 400 of this proof when it is wrong or was used already, naming its field.
    pub fn refused(&self) -> ApiError {
        let key = match self {
            Proof::Totp(_) => message_key("wrong-factor-code"),
            Proof::RecoveryCode(_) => message_key("wrong-factor-recovery-code"),
            Proof::Passkey { .. } => message_key("wrong-factor-passkey"),
        };
        let why = Why::new("is not correct, or was used already", key);
        ApiError::wrong_factor(self.field(), why)
    }

    /// Checks the proof for `user_id` in `ceremony`. The RFC 8176 method it adds to
    /// `pwd` when right (`otp`, `hwk`, `swk`), `None` when wrong. Unguarded: callers go
    /// through [`check_second_factor`].
    async fn check(
        &self,
        state: &AppState,
        user_id: Uuid,
        ceremony: Ceremony,
    ) -> ApiResult<Option<&'static str>> {
        let now = state.clock.now();
        let accepted = match self {
            Proof::Totp(code) => totp::accept_code(state, user_id, code)
                .await?
                .then_some("otp"),
            Proof::RecoveryCode(code) => recovery::consume(state.db.writer(), user_id, code, now)
                .await?
                .then_some("otp"),
            Proof::Passkey {
                challenge_id,
                credential,
            } => {
                passkeys::verify_assertion(state, user_id, *challenge_id, credential, ceremony)
                    .await?
            }
        };
        count_verification(
            self.method(),
            if accepted.is_some() {
                "success"
            } else {
                "failure"
            },
        );
        Ok(accepted)
    }
}

/// The one path every second factor is checked by (the login challenge of `/mfa/verify`
/// and the sign-in page, and re-authentication on the API and the console): the attempt
/// is counted against the lockout `keys` before `proof` is checked (429 when any is
/// locked), and a wrong proof is a failure against them, audited as `mfa_failed`.
/// Answers the factor that was proven, or `None` when the proof was wrong (already
/// counted). A right one is settled by `guard::settle_second_factor` in the transaction
/// it completes.
pub async fn check_second_factor(
    state: &AppState,
    keys: &[String],
    user_id: Uuid,
    proof: &Proof,
    ceremony: Ceremony,
    client: &ClientInfo,
) -> ApiResult<Option<&'static str>> {
    guard::begin_second_factor(state, keys).await?;
    let proven = proof.check(state, user_id, ceremony).await?;
    if proven.is_none() {
        guard::second_factor_failed(state, keys, user_id, client, proof.method()).await?;
    }
    Ok(proven)
}

/// The stored `amr` of a password followed by `factor`.
pub fn with_password(factor: &str) -> String {
    format!("pwd,{factor},mfa")
}
