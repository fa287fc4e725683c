//! Every password check goes through here: logins (`/login`, the token endpoint's
//! password grant) by [`check_login`], and confirmations behind a bearer token
//! (`change-password`, `DELETE /me`, an email change) by [`confirm_password`].
//!
//! Both count failures against the account (its username and email share one count,
//! `account:<id>`), logins also against the identifier as sent (`login:<identifier>`,
//! whether or not an account has it, so unknown identifiers are throttled too), and
//! refuse a locked one with 429 before any password is hashed. A locked identifier and
//! a locked account answer alike. Confirmations also spend the per-client budget of the
//! authentication endpoints (`RATE_LIMIT_AUTH_PER_MINUTE`), which the rate-limit
//! middleware spends for the login endpoints. Passwords are compared by Argon2's
//! constant-time verification, against a dummy hash of the same cost when there is no
//! account, so an unknown account costs what a wrong password does.

use std::net::IpAddr;

use uuid::Uuid;

use super::lockout::{self, Attempt, account_throttle_key, identifier_throttle_key};
use crate::accounts::model::{User, find_login_candidate};
use crate::audit::{self, AuditEntry, event};
use crate::db::Tx;
use crate::error::{ApiError, ApiResult, Why};
use crate::http::ClientInfo;
use crate::i18n::message_key;
use crate::passwords::Verification;
use crate::ratelimit::{Decision, too_many_requests};
use crate::state::AppState;

/// Why a login's password check did not let it in.
pub enum LoginRefused {
    /// Unknown account, wrong password or deactivated account, indistinguishably.
    Invalid,
    /// The identifier or the account is locked (the same answer for either).
    Locked {
        retry_after_secs: u64,
    },
    Error(ApiError),
}

impl<E: Into<ApiError>> From<E> for LoginRefused {
    fn from(error: E) -> LoginRefused {
        LoginRefused::Error(error.into())
    }
}

/// A login whose password was right: the account, the new hash when the stored one
/// should be replaced, and the lockout records to clear (see [`settle_login`]).
pub struct LoginChecked {
    pub user: User,
    pub rehashed: Option<String>,
    keys: [String; 2],
}

/// Checks `password` for the account `identifier` names (a username or an email).
pub async fn check_login(
    state: &AppState,
    identifier: &str,
    password: &str,
    client: &ClientInfo,
) -> Result<LoginChecked, LoginRefused> {
    let login = identifier_throttle_key(identifier);
    let candidate = find_login_candidate(&state.db, identifier).await?;
    let account = candidate.as_ref().map(|c| account_throttle_key(c.user.id));
    let keys: Vec<&str> = [Some(login.as_str()), account.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if let Attempt::Locked { retry_after_secs } =
        lockout::begin_attempts(state.db.writer(), &state.config, &keys, state.clock.now()).await?
    {
        return Err(locked(retry_after_secs));
    }
    let stored = candidate.as_ref().and_then(|c| c.password_hash.as_deref());
    let verification = state.hasher.verify(password, stored).await?;
    match (candidate, verification) {
        (Some(candidate), Verification::Valid { needs_rehash }) if candidate.user.is_active => {
            let rehashed = if needs_rehash {
                Some(state.hasher.hash(password).await?)
            } else {
                None
            };
            let account = account.unwrap_or_else(|| account_throttle_key(candidate.user.id));
            Ok(LoginChecked {
                user: candidate.user,
                rehashed,
                keys: [login, account],
            })
        }
        (candidate, verification) => {
            let reason = match (&candidate, verification.is_valid()) {
                (None, _) => "unknown_account",
                (Some(_), true) => "inactive_account",
                (Some(_), false) => "wrong_password",
            };
            let user_id = candidate.map(|c| c.user.id);
            let failure = Failure {
                event: event::LOGIN_FAILURE,
                actor_id: None,
                user_id,
                reason,
            };
            record_failures(state, &keys, client, failure).await?;
            metrics::counter!("roster_logins_total", "result" => "failure").increment(1);
            Err(LoginRefused::Invalid)
        }
    }
}

fn locked(retry_after_secs: u64) -> LoginRefused {
    metrics::counter!("roster_logins_total", "result" => "locked").increment(1);
    LoginRefused::Locked { retry_after_secs }
}

impl LoginChecked {
    /// The lockout key of the identifier the login named, which a second-factor
    /// challenge keeps so that wrong codes count against it too.
    pub fn identifier_key(&self) -> &str {
        &self.keys[0]
    }
}

/// A right password that still needs a second factor: its attempt is taken back (it
/// was no failure), but failures before it stay counted until the second factor
/// succeeds, so a known password gives no fresh round of code guesses.
pub async fn defer_login(state: &AppState, checked: &LoginChecked) -> Result<(), sqlx::Error> {
    lockout::release(
        state.db.writer(),
        &checked.keys.each_ref().map(String::as_str),
    )
    .await
}

/// The lockout keys a second factor counts against: the account, and the identifier of
/// the login it completes (none for a re-authentication).
pub fn second_factor_keys(identifier_key: Option<&str>, user_id: Uuid) -> Vec<String> {
    let mut keys = vec![account_throttle_key(user_id)];
    keys.extend(identifier_key.map(str::to_owned));
    keys
}

/// Counts a second-factor attempt against `keys` before it is checked, like a login
/// attempt: 429 when any of them is locked. Only [`crate::auth::mfa::proof::check_second_factor`]
/// calls it, the one path every second factor goes through.
pub async fn begin_second_factor(state: &AppState, keys: &[String]) -> ApiResult<()> {
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    if let Attempt::Locked { retry_after_secs } =
        lockout::begin_attempts(state.db.writer(), &state.config, &keys, state.clock.now()).await?
    {
        return Err(account_locked(retry_after_secs));
    }
    Ok(())
}

/// Settles a second-factor attempt that failed: a failure against `keys`, audited as
/// `mfa_failed` with the method that was tried.
pub async fn second_factor_failed(
    state: &AppState,
    keys: &[String],
    user_id: Uuid,
    client: &ClientInfo,
    method: &str,
) -> ApiResult<()> {
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let failure = Failure {
        event: event::MFA_FAILED,
        actor_id: None,
        user_id: Some(user_id),
        reason: method,
    };
    record_failures(state, &keys, client, failure).await
}

/// Settles a second-factor attempt that succeeded, in the transaction it completes.
pub async fn settle_second_factor(tx: &mut Tx, keys: &[String]) -> Result<(), sqlx::Error> {
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    lockout::clear(&mut *tx, &keys).await
}

/// Clears the failures of a successful login's identifier and account, in the
/// transaction that starts its session.
pub async fn settle_login(tx: &mut Tx, checked: &LoginChecked) -> Result<(), sqlx::Error> {
    lockout::clear(&mut *tx, &checked.keys.each_ref().map(String::as_str)).await
}

/// What a failed check is audited as.
struct Failure<'a> {
    event: &'static str,
    /// The caller, when a bearer token says who it is.
    actor_id: Option<Uuid>,
    user_id: Option<Uuid>,
    reason: &'a str,
}

/// Counts a failed check against `keys` and audits it (with a lock, when it caused one).
async fn record_failures(
    state: &AppState,
    keys: &[&str],
    client: &ClientInfo,
    failure: Failure<'_>,
) -> ApiResult<()> {
    let user_id = failure.user_id;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let mut lock_seconds = None;
    for key in keys {
        if let Some(seconds) = lockout::record_failure(&mut tx, &state.config, key, now).await? {
            lock_seconds = Some(lock_seconds.unwrap_or(0).max(seconds));
        }
    }
    let detail = if failure.event == event::MFA_FAILED {
        serde_json::json!({"method": failure.reason})
    } else {
        serde_json::json!({"reason": failure.reason})
    };
    let entry = AuditEntry {
        event: failure.event,
        actor_id: failure.actor_id,
        user_id,
        client: Some(client),
        detail,
    };
    audit::record(&mut tx, now, entry).await?;
    if let Some(seconds) = lock_seconds {
        let entry = AuditEntry {
            event: event::LOGIN_LOCKED,
            actor_id: None,
            user_id,
            client: Some(client),
            detail: serde_json::json!({"lock_seconds": seconds}),
        };
        audit::record(&mut tx, now, entry).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// What a right password settles: everything (the change needs nothing else), or only
/// its own attempt, while a second factor is still to be proven (failures before it stay
/// counted, so a known password gives no fresh round of code guesses; the second
/// factor's success clears them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSettles {
    Account,
    OnlyItsAttempt,
}

/// Confirms that the caller knows the current password of `user` before a sensitive
/// change (`purpose`, as audited: `change_password`, `delete_account`, `email_change`).
///
/// Empty: 422 naming `field`. Over the client's budget, or the account locked: 429 with
/// `Retry-After`. Wrong: 400 naming `field`, counted toward the account's lockout
/// exactly like a failed login. Right: the account's failures are forgotten, unless
/// `settles` says a second factor is still to come.
pub async fn confirm_password(
    state: &AppState,
    user: &User,
    password: &str,
    field: &'static str,
    purpose: &'static str,
    client: &ClientInfo,
) -> ApiResult<()> {
    confirm_password_settling(
        state,
        user,
        (password, field),
        purpose,
        PasswordSettles::Account,
        client,
    )
    .await
}

/// [`confirm_password`], saying what a right password settles.
pub async fn confirm_password_settling(
    state: &AppState,
    user: &User,
    (password, field): (&str, &'static str),
    purpose: &'static str,
    settles: PasswordSettles,
    client: &ClientInfo,
) -> ApiResult<()> {
    if password.is_empty() {
        return Err(ApiError::validation(field, "is required"));
    }
    let ip = client.ip.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if let Decision::Limited { retry_after } = state.rate_limiter.check(ip).await {
        return Err(too_many_requests(retry_after));
    }
    let account = account_throttle_key(user.id);
    if let Attempt::Locked { retry_after_secs } = lockout::begin_attempts(
        state.db.writer(),
        &state.config,
        &[&account],
        state.clock.now(),
    )
    .await?
    {
        return Err(account_locked(retry_after_secs));
    }
    let hashes = super::credentials::recent_hashes(&state.db, user.id, 1).await?;
    let verified = state
        .hasher
        .verify(password, hashes.first().map(String::as_str))
        .await?;
    if verified.is_valid() {
        match settles {
            PasswordSettles::Account => lockout::clear(state.db.writer(), &[&account]).await?,
            PasswordSettles::OnlyItsAttempt => {
                lockout::release(state.db.writer(), &[&account]).await?
            }
        }
        return Ok(());
    }
    let failure = Failure {
        event: event::PASSWORD_CONFIRMATION_FAILURE,
        actor_id: Some(user.id),
        user_id: Some(user.id),
        reason: purpose,
    };
    record_failures(state, &[account.as_str()], client, failure).await?;
    Err(ApiError::WrongPassword(field))
}

/// The 429 of a locked login identifier or account.
pub fn account_locked(retry_after_secs: u64) -> ApiError {
    ApiError::TooManyRequests {
        retry_after_secs,
        why: Why::new(
            "too many failed password attempts for this account; try again later",
            message_key("too-many-password-attempts"),
        ),
    }
}
