//! Brute-force protection per login identifier and per account, shared by all instances
//! through the database and kept across restarts.
//!
//! Failures are counted per key: `login:<identifier>` (whether or not an account has it)
//! and `account:<user id>` (see [`super::guard`], which decides what counts).
//! After `LOGIN_MAX_FAILURES` consecutive failures the identifier is locked for
//! `LOGIN_LOCKOUT_SECONDS`, doubling with each further lock up to 15 minutes. An attempt
//! is counted before its password is checked ([`begin_attempt`]), so concurrent guesses
//! cannot exceed the limit (attempts beyond the failures still allowed wait, with 429
//! and `Retry-After: 1`, until those under way are settled). A success ([`clear`]) or a password reset
//! ([`clear_account`]) clears the record. Locking stops new logins only: sessions
//! already open stay valid.

use std::time::Duration;

use chrono::{DateTime, Utc};

use uuid::Uuid;

use crate::accounts::model::login_key;
use crate::config::Config;
use crate::db::Exec;
use crate::on_exec;

pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);

/// The lockout key of a login identifier (an email in its canonical form).
pub fn identifier_throttle_key(identifier: &str) -> String {
    format!("login:{}", login_key(identifier))
}

/// The lockout key of an account, shared by every spelling of it.
pub fn account_throttle_key(user_id: Uuid) -> String {
    format!("account:{user_id}")
}

/// Whether a login attempt for an identifier may check its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Allowed,
    Locked { retry_after_secs: u64 },
}

/// Counts a login attempt for `key` before its password is checked, and says whether it
/// may go ahead. Counting first (a success clears the count again) means that attempts
/// sent at the same moment cannot all slip past the limit while their passwords are
/// being hashed: while as many attempts are unsettled as failures remain allowed, more
/// are refused for a second, without locking (they may all turn out to be successes).
pub async fn begin_attempt(
    ex: impl Into<Exec<'_>>,
    config: &Config,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Attempt, sqlx::Error> {
    // A record idle for a day starts over, so old locks stop doubling.
    let stale = now - chrono::Duration::days(1);
    // Attempts counted this long ago were settled, or never will be (the process stopped
    // while checking them): a full count that old is not holding anyone back any more.
    let abandoned = now
        - chrono::Duration::from_std(config.http.request_timeout.max(Duration::from_secs(60)))
            .unwrap_or(chrono::Duration::minutes(1));
    let max = config.passwords.max_failures as i32;
    on_exec!(ex, c => {
        // One statement, so that two first attempts at the same moment both count: the
        // one whose insert conflicts with the other's row increments it instead.
        let counted = sqlx::query(
            "INSERT INTO login_throttle (identifier, failures, lock_count, locked_until, updated_at) VALUES ($1, 1, 0, NULL, $2) \
             ON CONFLICT (identifier) DO UPDATE SET \
               failures = CASE WHEN login_throttle.updated_at < $3 OR login_throttle.failures >= $5 THEN 1 \
                               ELSE login_throttle.failures + 1 END, \
               lock_count = CASE WHEN login_throttle.updated_at < $3 THEN 0 ELSE login_throttle.lock_count END, \
               locked_until = NULL, updated_at = $2 \
             WHERE (login_throttle.locked_until IS NULL OR login_throttle.locked_until <= $2) \
               AND (login_throttle.failures < $5 OR login_throttle.updated_at < $4)")
            .bind(key)
            .bind(now)
            .bind(stale)
            .bind(abandoned)
            .bind(max)
            .execute(&mut *c)
            .await?
            .rows_affected();
        if counted > 0 {
            return Ok(Attempt::Allowed);
        }
        let locked_until: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
            "SELECT locked_until FROM login_throttle WHERE identifier = $1")
            .bind(key)
            .fetch_optional(&mut *c)
            .await?;
        Ok(Attempt::Locked {
            retry_after_secs: match locked_until.flatten().filter(|until| *until > now) {
                Some(until) => seconds_until(until, now),
                // As many attempts under way as failures remain: wait for them to settle.
                None => 1,
            },
        })
    })
}

fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let millis = (until - now).num_milliseconds().max(0) as u64;
    millis.div_ceil(1000).max(1)
}

/// The lock length for the `n`-th lock (0-based): base × 2ⁿ, at most 15 minutes.
pub fn lock_duration(base: Duration, n: u32) -> Duration {
    base.saturating_mul(2u32.saturating_pow(n.min(20)))
        .min(MAX_LOCK.max(base))
}

/// Settles an attempt counted by [`begin_attempt`] as a failure; returns the lock
/// length in seconds when this failure locked `key`.
pub async fn record_failure(
    ex: impl Into<Exec<'_>>,
    config: &Config,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<u64>, sqlx::Error> {
    let max = config.passwords.max_failures as i32;
    on_exec!(ex, c => {
        let counted: Option<(i32, i32)> = sqlx::query_as(
            "SELECT failures, lock_count FROM login_throttle WHERE identifier = $1")
            .bind(key)
            .fetch_optional(&mut *c)
            .await?;
        let Some((failures, lock_count)) = counted else { return Ok(None) };
        if failures < max {
            return Ok(None);
        }
        let length = lock_duration(config.passwords.lockout, lock_count.max(0) as u32);
        let until = now + chrono::Duration::from_std(length).unwrap_or(chrono::Duration::minutes(15));
        let locked = sqlx::query(
            "UPDATE login_throttle SET failures = 0, lock_count = lock_count + 1, locked_until = $2 WHERE identifier = $1 AND failures >= $3")
            .bind(key)
            .bind(until)
            .bind(max)
            .execute(&mut *c)
            .await?
            .rows_affected();
        Ok(if locked > 0 { Some(length.as_secs()) } else { None })
    })
}

/// Takes back an attempt counted by [`begin_attempt`] that was refused for another
/// key's lock before its password was checked: it was no guess against `key`.
pub async fn release(ex: impl Into<Exec<'_>>, key: &str) -> Result<(), sqlx::Error> {
    on_exec!(ex, c => sqlx::query(
        "UPDATE login_throttle SET failures = failures - 1 WHERE identifier = $1 AND failures > 0")
        .bind(key)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forgets the failures of `key` (successful login, password reset).
pub async fn clear(ex: impl Into<Exec<'_>>, key: &str) -> Result<(), sqlx::Error> {
    on_exec!(ex, c => sqlx::query("DELETE FROM login_throttle WHERE identifier = $1").bind(key).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forgets the failures of an account and of every identifier it logs in with, its
/// username and its email address (a completed password reset calls this: whoever
/// reset the password proved they own the account, so none of its spellings should
/// stay locked).
pub async fn clear_account(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    username: &str,
    email: &str,
) -> Result<(), sqlx::Error> {
    on_exec!(ex, c => sqlx::query("DELETE FROM login_throttle WHERE identifier IN ($1, $2, $3)")
        .bind(account_throttle_key(user_id))
        .bind(identifier_throttle_key(username))
        .bind(identifier_throttle_key(email))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes records that are neither locked nor touched for a day.
pub async fn purge(ex: impl Into<Exec<'_>>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let stale = now - chrono::Duration::days(1);
    let result = on_exec!(ex, c => sqlx::query(
        "DELETE FROM login_throttle WHERE updated_at < $1 AND (locked_until IS NULL OR locked_until < $2)")
        .bind(stale)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_up_to_fifteen_minutes() {
        let base = Duration::from_secs(60);
        let lengths: Vec<u64> = (0..6).map(|n| lock_duration(base, n).as_secs()).collect();
        assert_eq!(lengths, [60, 120, 240, 480, 900, 900]);
        assert_eq!(lock_duration(base, 1000).as_secs(), 900);
    }
}
