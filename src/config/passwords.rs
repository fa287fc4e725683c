//! Passwords: the policy new passwords must meet, the Argon2id cost, the history, and
//! the brute-force lockout of logins.

use std::time::Duration;

use super::vars::{ConfigError, Vars, invalid};

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashCost {
    /// OWASP's recommended Argon2id setting: m = 19456 KiB, t = 2, p = 1.
    fn default() -> HashCost {
        HashCost {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// The password rules applied at registration, change and reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    /// Require an upper-case letter, a lower-case letter and a digit.
    pub require_mixed: bool,
    /// Minimum zxcvbn score (0 to 4).
    pub min_score: u8,
}

impl Default for PasswordPolicy {
    fn default() -> PasswordPolicy {
        PasswordPolicy {
            min_length: 8,
            max_length: 128,
            require_mixed: true,
            min_score: 2,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PasswordConfig {
    pub policy: PasswordPolicy,
    pub cost: HashCost,
    /// `PASSWORD_HISTORY`: the current password and this many minus one before it may
    /// not be chosen again.
    pub history: u32,
    /// `LOGIN_MAX_FAILURES` consecutive failures lock an identifier or account ...
    pub max_failures: u32,
    /// ... for `LOGIN_LOCKOUT_SECONDS`, doubling with each further lock up to 15 minutes.
    pub lockout: Duration,
}

impl PasswordConfig {
    pub(super) fn parse(vars: &Vars) -> Result<PasswordConfig, ConfigError> {
        let min_length = vars.number("PASSWORD_MIN_LENGTH", 8, 1, 128)? as usize;
        let max_length = vars.number("PASSWORD_MAX_LENGTH", 128, 8, 1024)? as usize;
        if min_length > max_length {
            return Err(invalid(
                "PASSWORD_MIN_LENGTH",
                "must not exceed PASSWORD_MAX_LENGTH",
            ));
        }
        let policy = PasswordPolicy {
            min_length,
            max_length,
            require_mixed: vars.flag("PASSWORD_REQUIRE_MIXED", true)?,
            min_score: vars.number("PASSWORD_MIN_SCORE", 2, 0, 4)? as u8,
        };
        let defaults = HashCost::default();
        let cost = HashCost {
            memory_kib: vars.number(
                "ARGON2_MEMORY_KIB",
                defaults.memory_kib.into(),
                8,
                4 * 1024 * 1024,
            )? as u32,
            iterations: vars.number("ARGON2_ITERATIONS", defaults.iterations.into(), 1, 100)?
                as u32,
            parallelism: vars.number("ARGON2_PARALLELISM", defaults.parallelism.into(), 1, 64)?
                as u32,
        };
        if cost.memory_kib < 8 * cost.parallelism {
            return Err(invalid(
                "ARGON2_MEMORY_KIB",
                "must be at least 8 × ARGON2_PARALLELISM",
            ));
        }
        Ok(PasswordConfig {
            policy,
            cost,
            history: vars.number("PASSWORD_HISTORY", 5, 1, 100)? as u32,
            max_failures: vars.number("LOGIN_MAX_FAILURES", 5, 1, 1000)? as u32,
            lockout: vars.duration(
                "LOGIN_LOCKOUT_SECONDS",
                Duration::from_secs(1),
                60,
                1,
                86_400,
            )?,
        })
    }
}
