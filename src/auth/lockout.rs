//! Brute-force protection per login identifier and per account, shared by all instances
//! through the database and kept across restarts.
//!
//! Failures are counted per key: `login:<identifier>` (whether or not an account has it)
//! and `account:<user id>` (see [`super::guard`], which decides what counts).
//! After `LOGIN_MAX_FAILURES` consecutive failures the identifier is locked for
//! `LOGIN_LOCKOUT_SECONDS`, doubling with each further lock up to 15 minutes. An attempt
//! is counted before its password is checked ([`begin_attempts`]), so concurrent guesses
//! cannot exceed the limit (attempts beyond the failures still allowed wait, with 429
//! and `Retry-After: 1`, until those under way are settled). A success ([`clear`]) or a password reset
//! ([`clear_account`]) clears the record. Locking stops new logins only: sessions
//! already open stay valid.

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};

use uuid::Uuid;

use crate::accounts::model::login_key;
use crate::config::Config;
use crate::db::{Exec, placeholders};
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

/// The most keys one statement counts, clears or releases; longer lists go in chunks.
const MAX_KEYS: usize = 4;

/// The statements that take 1 to [`MAX_KEYS`] keys, written once.
struct KeyStatements {
    /// Counts an attempt per key (`$1` now, `$2` stale, `$3` abandoned, `$4` the
    /// failures allowed, keys from `$5`), answering the keys it counted.
    begin: Vec<String>,
    release: Vec<String>,
    clear: Vec<String>,
}

static STATEMENTS: LazyLock<KeyStatements> = LazyLock::new(|| {
    let counts = 1..=MAX_KEYS;
    KeyStatements {
        begin: counts
            .clone()
            .map(|n| {
                let rows: Vec<String> = (5..5 + n).map(|k| format!("(${k}, 1, 0, NULL, $1)")).collect();
                format!(
                    "INSERT INTO login_throttle (identifier, failures, lock_count, locked_until, updated_at) VALUES {} \
                     ON CONFLICT (identifier) DO UPDATE SET \
                       failures = CASE WHEN login_throttle.updated_at < $2 OR login_throttle.failures >= $4 THEN 1 \
                                       ELSE login_throttle.failures + 1 END, \
                       lock_count = CASE WHEN login_throttle.updated_at < $2 THEN 0 ELSE login_throttle.lock_count END, \
                       locked_until = NULL, updated_at = $1 \
                     WHERE (login_throttle.locked_until IS NULL OR login_throttle.locked_until <= $1) \
                       AND (login_throttle.failures < $4 OR login_throttle.updated_at < $3) \
                     RETURNING identifier",
                    rows.join(", ")
                )
            })
            .collect(),
        release: counts
            .clone()
            .map(|n| format!(
                "UPDATE login_throttle SET failures = failures - 1 WHERE identifier IN ({}) AND failures > 0",
                placeholders(1, n)
            ))
            .collect(),
        clear: counts
            .map(|n| format!("DELETE FROM login_throttle WHERE identifier IN ({})", placeholders(1, n)))
            .collect(),
    }
});

/// Counts an attempt against every one of `keys` (an identifier and its account, say)
/// before the password is checked, in one statement, and says whether it may go ahead.
/// Counting first (a success clears the count again) means that attempts sent at the
/// same moment cannot all slip past the limit while their passwords are being hashed:
/// while as many attempts are unsettled as failures remain allowed, more are refused for
/// a second, without locking (they may all turn out to be successes). When any key is
/// locked, the attempt is taken back from the others (it was no guess against them) and
/// the answer is the longest wait.
pub async fn begin_attempts(
    ex: impl Into<Exec<'_>>,
    config: &Config,
    keys: &[&str],
    now: DateTime<Utc>,
) -> Result<Attempt, sqlx::Error> {
    assert!(
        keys.len() <= MAX_KEYS,
        "at most {MAX_KEYS} lockout keys per attempt"
    );
    if keys.is_empty() {
        return Ok(Attempt::Allowed);
    }
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
        let mut counting = sqlx::query_scalar::<_, String>(STATEMENTS.begin[keys.len() - 1].as_str())
            .bind(now)
            .bind(stale)
            .bind(abandoned)
            .bind(max);
        for key in keys {
            counting = counting.bind(*key);
        }
        let counted: Vec<String> = counting.fetch_all(&mut *c).await?;
        if counted.len() == keys.len() {
            return Ok(Attempt::Allowed);
        }
        let mut retry_after_secs = 1;
        for key in keys.iter().filter(|key| !counted.iter().any(|c| c == *key)) {
            let locked_until: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
                "SELECT locked_until FROM login_throttle WHERE identifier = $1")
                .bind(*key)
                .fetch_optional(&mut *c)
                .await?;
            // Without a lock in force, as many attempts are under way as failures
            // remain: wait a second for them to settle.
            if let Some(until) = locked_until.flatten().filter(|until| *until > now) {
                retry_after_secs = retry_after_secs.max(seconds_until(until, now));
            }
        }
        if !counted.is_empty() {
            let mut release = sqlx::query(STATEMENTS.release[counted.len() - 1].as_str());
            for key in &counted {
                release = release.bind(key);
            }
            release.execute(&mut *c).await?;
        }
        Ok(Attempt::Locked { retry_after_secs })
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

/// Settles an attempt counted by [`begin_attempts`] as a failure; returns the lock
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

/// Takes back an attempt counted by [`begin_attempts`] that turned out to be no guess
/// against `keys` (a right password that a second factor must still complete).
pub async fn release(ex: impl Into<Exec<'_>>, keys: &[&str]) -> Result<(), sqlx::Error> {
    for_each_chunk(ex, &STATEMENTS.release, keys).await
}

/// Forgets the failures of `keys` (successful login, password reset).
pub async fn clear(ex: impl Into<Exec<'_>>, keys: &[&str]) -> Result<(), sqlx::Error> {
    for_each_chunk(ex, &STATEMENTS.clear, keys).await
}

/// Runs the statement of `statements` that takes as many keys as each chunk of `keys`.
async fn for_each_chunk(
    ex: impl Into<Exec<'_>>,
    statements: &'static [String],
    keys: &[&str],
) -> Result<(), sqlx::Error> {
    on_exec!(ex, c => {
        for chunk in keys.chunks(MAX_KEYS) {
            let mut statement = sqlx::query(statements[chunk.len() - 1].as_str());
            for key in chunk {
                statement = statement.bind(*key);
            }
            statement.execute(&mut *c).await?;
        }
        Ok(())
    })
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
    let keys = [
        account_throttle_key(user_id),
        identifier_throttle_key(username),
        identifier_throttle_key(email),
    ];
    clear(ex, &keys.each_ref().map(String::as_str)).await
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
