//! Brute-force protection per login identifier, shared by all instances through the
//! database and kept across restarts.
//!
//! Failures are counted per lower-cased identifier, whether or not an account has it.
//! After `LOGIN_MAX_FAILURES` consecutive failures the identifier is locked for
//! `LOGIN_LOCKOUT_SECONDS`, doubling with each further lock up to 15 minutes. A success
//! (or a password reset) clears the record.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::db::Exec;
use crate::on_exec;

pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);

/// The stored form of an identifier: trimmed and lower-cased, like account lookups.
pub fn identifier_key(identifier: &str) -> String {
    identifier.trim().to_lowercase()
}

/// Seconds until `key` may try again, if it is locked now.
pub async fn locked_for(
    ex: impl Into<Exec<'_>>,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<u64>, sqlx::Error> {
    let until: Option<Option<DateTime<Utc>>> = on_exec!(ex, c => sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE identifier = $1")
        .bind(key)
        .fetch_optional(c)
        .await)?;
    Ok(until
        .flatten()
        .filter(|until| *until > now)
        .map(|until| seconds_until(until, now)))
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

/// Counts a failure; returns the lock length in seconds when this failure locked `key`.
pub async fn record_failure(
    ex: impl Into<Exec<'_>>,
    config: &Config,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<u64>, sqlx::Error> {
    // A record idle for a day starts over, so old locks stop doubling.
    let stale = now - chrono::Duration::days(1);
    on_exec!(ex, c => {
        let (failures, lock_count): (i32, i32) = sqlx::query_as(
            "INSERT INTO login_throttle (identifier, failures, lock_count, locked_until, updated_at) VALUES ($1, 1, 0, NULL, $2) \
             ON CONFLICT (identifier) DO UPDATE SET \
               failures = CASE WHEN login_throttle.updated_at < $3 THEN 1 ELSE login_throttle.failures + 1 END, \
               lock_count = CASE WHEN login_throttle.updated_at < $3 THEN 0 ELSE login_throttle.lock_count END, \
               updated_at = $2 \
             RETURNING failures, lock_count")
            .bind(key)
            .bind(now)
            .bind(stale)
            .fetch_one(&mut *c)
            .await?;
        if failures < config.login_max_failures as i32 {
            return Ok(None);
        }
        let length = lock_duration(config.login_lockout, lock_count.max(0) as u32);
        let until = now + chrono::Duration::from_std(length).unwrap_or(chrono::Duration::minutes(15));
        let locked = sqlx::query(
            "UPDATE login_throttle SET failures = 0, lock_count = lock_count + 1, locked_until = $2 WHERE identifier = $1 AND failures >= $3")
            .bind(key)
            .bind(until)
            .bind(config.login_max_failures as i32)
            .execute(&mut *c)
            .await?
            .rows_affected();
        Ok(if locked > 0 { Some(length.as_secs()) } else { None })
    })
}

/// Forgets the failures of `key` (successful login, password reset).
pub async fn clear(ex: impl Into<Exec<'_>>, key: &str) -> Result<(), sqlx::Error> {
    on_exec!(ex, c => sqlx::query("DELETE FROM login_throttle WHERE identifier = $1").bind(key).execute(c).await.map(|r| r.rows_affected()))?;
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
