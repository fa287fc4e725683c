//! Password hashing and the password policy.
//!
//! Hashes are Argon2id with the configured cost, computed on Tokio's blocking threads
//! with at most one hash per core at a time: a flood of logins waits on a semaphore
//! (a few bytes each) instead of allocating 19 MiB per request. Unknown users are
//! verified against a dummy hash of the same cost so that both cost the same. bcrypt
//! hashes (imported accounts) verify and are flagged for re-hashing.

use std::sync::Arc;
use std::time::Instant;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
};
use tokio::sync::{OnceCell, Semaphore};

use crate::config::{HashCost, PasswordPolicy};
use crate::error::{ApiError, FieldError};

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Invalid,
    /// Valid; `needs_rehash` when the hash is bcrypt or uses other parameters than configured.
    Valid {
        needs_rehash: bool,
    },
}

impl Verification {
    pub fn is_valid(self) -> bool {
        matches!(self, Verification::Valid { .. })
    }
}

pub struct PasswordHasher {
    argon2: Argon2<'static>,
    cost: HashCost,
    permits: Arc<Semaphore>,
    dummy: OnceCell<String>,
}

impl PasswordHasher {
    /// `max_concurrent` hashes run at once (the number of cores in production).
    pub fn new(cost: HashCost, max_concurrent: usize) -> anyhow::Result<PasswordHasher> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| anyhow::anyhow!("invalid Argon2 parameters: {e}"))?;
        Ok(PasswordHasher {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            cost,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            dummy: OnceCell::new(),
        })
    }

    /// Runs `work` on a blocking thread once one of the hashing permits is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2<'static>) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let waiting = Instant::now();
        let _permit = self.permits.acquire().await?;
        metrics::histogram!("roster_password_hash_wait_seconds")
            .record(waiting.elapsed().as_secs_f64());
        let argon2 = self.argon2.clone();
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || work(&argon2)).await?;
        metrics::histogram!("roster_password_hash_seconds").record(started.elapsed().as_secs_f64());
        Ok(result)
    }

    /// A new Argon2id PHC string for `password`.
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let password = password.to_owned();
        self.run(move |argon2| {
            argon2
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
        })
        .await?
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    }

    /// Checks `password` against `stored`; with no stored hash (unknown user, no
    /// password) it spends the same effort on a dummy hash and answers `Invalid`.
    pub async fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> anyhow::Result<Verification> {
        let dummy = match stored {
            Some(_) => None,
            None => Some(self.dummy_hash().await?.clone()),
        };
        let stored = stored.map(str::to_owned);
        let password = password.to_owned();
        let cost = self.cost;
        self.run(move |argon2| match (stored, dummy) {
            (Some(stored), _) => verify_stored(argon2, cost, &password, &stored),
            (None, Some(dummy)) => {
                let _ = verify_stored(argon2, cost, &password, &dummy);
                Verification::Invalid
            }
            (None, None) => Verification::Invalid,
        })
        .await
    }

    /// A hash of a random password with the configured cost, made once.
    async fn dummy_hash(&self) -> anyhow::Result<&String> {
        self.dummy
            .get_or_try_init(|| async {
                let random = crate::crypto::random_token();
                self.hash(&random).await
            })
            .await
    }

    /// Computes the dummy hash ahead of the first login for an unknown user.
    pub async fn warm_up(&self) {
        if let Err(e) = self.dummy_hash().await {
            tracing::error!(error = %e, "could not prepare the dummy password hash");
        }
    }
}

fn verify_stored(
    argon2: &Argon2<'static>,
    cost: HashCost,
    password: &str,
    stored: &str,
) -> Verification {
    if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$") {
        return match bcrypt::verify(password, stored) {
            Ok(true) => Verification::Valid { needs_rehash: true },
            _ => Verification::Invalid,
        };
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verification::Invalid;
    };
    if argon2
        .verify_password(password.as_bytes(), &parsed)
        .is_err()
    {
        return Verification::Invalid;
    }
    let current = parsed.algorithm.as_str() == "argon2id"
        && Params::try_from(&parsed).is_ok_and(|p| {
            p.m_cost() == cost.memory_kib
                && p.t_cost() == cost.iterations
                && p.p_cost() == cost.parallelism
        });
    Verification::Valid {
        needs_rehash: !current,
    }
}

/// True for the stored-hash formats Roster can verify: Argon2 PHC strings and bcrypt.
pub fn is_supported_hash(hash: &str) -> bool {
    if hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$") {
        return hash.len() == 60;
    }
    PasswordHash::new(hash).is_ok_and(|h| {
        matches!(h.algorithm.as_str(), "argon2id" | "argon2i" | "argon2d")
            && Params::try_from(&h).is_ok()
            && h.hash.is_some()
    })
}

/// Checks `password` against the policy; every broken rule is reported under `field`.
/// `personal` holds the username (and email) the password must not contain.
pub fn check_policy(
    policy: &PasswordPolicy,
    password: &str,
    personal: &[&str],
    field: &str,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let length = password.chars().count();
    if length < policy.min_length {
        errors.push(FieldError::new(
            field,
            format!("must be at least {} characters", policy.min_length),
        ));
    }
    if length > policy.max_length {
        errors.push(FieldError::new(
            field,
            format!("must be at most {} characters", policy.max_length),
        ));
        return errors;
    }
    if policy.require_mixed {
        if !password.chars().any(char::is_uppercase) {
            errors.push(FieldError::new(field, "must contain an upper-case letter"));
        }
        if !password.chars().any(char::is_lowercase) {
            errors.push(FieldError::new(field, "must contain a lower-case letter"));
        }
        if !password.chars().any(|c| c.is_ascii_digit()) {
            errors.push(FieldError::new(field, "must contain a digit"));
        }
    }
    let lowered = password.to_lowercase();
    for item in personal.iter().filter(|p| p.chars().count() >= 3) {
        let local = item.split('@').next().unwrap_or(item).to_lowercase();
        if local.chars().count() >= 3 && lowered.contains(&local) {
            errors.push(FieldError::new(
                field,
                "must not contain the username or email",
            ));
            break;
        }
    }
    if length > 0 && policy.min_score > 0 {
        let score: u8 = zxcvbn::zxcvbn(password, personal).score().into();
        if score < policy.min_score {
            errors.push(FieldError::new(
                field,
                "is too easy to guess; use a longer or less common password",
            ));
        }
    }
    errors
}

/// [`check_policy`] on a blocking thread (zxcvbn can take milliseconds on long input).
pub async fn check_policy_off_thread(
    policy: &PasswordPolicy,
    password: &str,
    personal: Vec<String>,
    field: &'static str,
) -> Result<Vec<FieldError>, ApiError> {
    let (policy, password) = (policy.clone(), password.to_owned());
    tokio::task::spawn_blocking(move || {
        let personal: Vec<&str> = personal.iter().map(String::as_str).collect();
        check_policy(&policy, &password, &personal, field)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(password: &str) -> Vec<String> {
        check_policy(&PasswordPolicy::default(), password, &["alice"], "password")
            .into_iter()
            .map(|e| e.message)
            .collect()
    }

    #[test]
    fn the_default_policy_matches_the_contract() {
        assert!(messages("Correct-Horse-Battery-9").is_empty());
        assert!(messages("Sh0rt").iter().any(|m| m.contains("at least 8")));
        assert!(
            messages("alllowercase-words-1")
                .iter()
                .any(|m| m.contains("upper-case"))
        );
        assert!(
            messages("ALLUPPERCASE-WORDS-1")
                .iter()
                .any(|m| m.contains("lower-case"))
        );
        assert!(
            messages("No-Digits-Here-Anywhere")
                .iter()
                .any(|m| m.contains("digit"))
        );
        assert!(messages("Password1").iter().any(|m| m.contains("guess")));
        assert!(
            messages("Xq9-alice-Zr7!")
                .iter()
                .any(|m| m.contains("username"))
        );
        assert!(
            messages(&format!("Aa1{}", "x".repeat(130)))
                .iter()
                .any(|m| m.contains("at most 128"))
        );
    }

    #[tokio::test]
    async fn hashes_verify_and_bcrypt_is_flagged_for_rehash() {
        let cost = HashCost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let hasher = PasswordHasher::new(cost, 2).unwrap();
        let hash = hasher.hash("S3cure-pass").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(
            hasher.verify("S3cure-pass", Some(&hash)).await.unwrap(),
            Verification::Valid {
                needs_rehash: false
            }
        );
        assert_eq!(
            hasher.verify("wrong", Some(&hash)).await.unwrap(),
            Verification::Invalid
        );
        assert_eq!(
            hasher.verify("anything", None).await.unwrap(),
            Verification::Invalid
        );
        let bcrypt_hash = bcrypt::hash("S3cure-pass", 4).unwrap();
        assert_eq!(
            hasher
                .verify("S3cure-pass", Some(&bcrypt_hash))
                .await
                .unwrap(),
            Verification::Valid { needs_rehash: true }
        );
        let stronger = PasswordHasher::new(
            HashCost {
                memory_kib: 128,
                ..cost
            },
            1,
        )
        .unwrap();
        assert_eq!(
            stronger.verify("S3cure-pass", Some(&hash)).await.unwrap(),
            Verification::Valid { needs_rehash: true }
        );
        assert!(is_supported_hash(&hash) && is_supported_hash(&bcrypt_hash));
        assert!(!is_supported_hash("plaintext") && !is_supported_hash("$1$md5$crypt"));
    }
}
