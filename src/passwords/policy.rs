//! The password policy: length, mixed case and digits, not containing the username or
//! email, and not too guessable (zxcvbn score).

use crate::config::PasswordPolicy;
use crate::error::{ApiError, FieldError};
use crate::i18n::message_key;

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
        errors.push(
            FieldError::new(
                field,
                format!("must be at least {} characters", policy.min_length),
            )
            .with_words(
                message_key("password-too-short"),
                &[("min", policy.min_length.to_string())],
            ),
        );
    }
    if length > policy.max_length {
        errors.push(
            FieldError::new(
                field,
                format!("must be at most {} characters", policy.max_length),
            )
            .with_words(
                message_key("password-too-long"),
                &[("max", policy.max_length.to_string())],
            ),
        );
        return errors;
    }
    if policy.require_mixed {
        if !password.chars().any(char::is_uppercase) {
            errors.push(
                FieldError::new(field, "must contain an upper-case letter")
                    .with_words(message_key("password-needs-upper"), &[]),
            );
        }
        if !password.chars().any(char::is_lowercase) {
            errors.push(
                FieldError::new(field, "must contain a lower-case letter")
                    .with_words(message_key("password-needs-lower"), &[]),
            );
        }
        if !password.chars().any(|c| c.is_ascii_digit()) {
            errors.push(
                FieldError::new(field, "must contain a digit")
                    .with_words(message_key("password-needs-digit"), &[]),
            );
        }
    }
    let lowered = password.to_lowercase();
    for item in personal.iter().filter(|p| p.chars().count() >= 3) {
        let local = item.split('@').next().unwrap_or(item).to_lowercase();
        if local.chars().count() >= 3 && lowered.contains(&local) {
            errors.push(
                FieldError::new(field, "must not contain the username or email")
                    .with_words(message_key("password-personal"), &[]),
            );
            break;
        }
    }
    if length > 0 && policy.min_score > 0 {
        let score: u8 = zxcvbn::zxcvbn(password, personal).score().into();
        if score < policy.min_score {
            errors.push(
                FieldError::new(
                    field,
                    "is too easy to guess; use a longer or less common password",
                )
                .with_words(message_key("password-guessable"), &[]),
            );
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
}
