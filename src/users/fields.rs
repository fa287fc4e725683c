//! Validated account fields. Handlers parse raw strings into these types, collecting
//! every failure as a `FieldError`, so the rest of the code never sees raw input.

use crate::error::FieldError;

pub const MAX_EMAIL: usize = 254;
pub const MAX_FULL_NAME: usize = 100;

/// 3 to 32 characters of `A-Z a-z 0-9 _ . -`.
pub fn parse_username(raw: &str, field: &str) -> Result<String, FieldError> {
    let length = raw.chars().count();
    if !(3..=32).contains(&length) {
        return Err(FieldError::new(field, "must be 3 to 32 characters"));
    }
    if !raw
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(FieldError::new(
            field,
            "may contain only letters, digits, '_', '.' and '-'",
        ));
    }
    Ok(raw.to_owned())
}

/// An address (no display name, no IP literal), returned lower-cased.
pub fn parse_email(raw: &str, field: &str) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_EMAIL {
        return Err(FieldError::new(
            field,
            format!("must be an email address of at most {MAX_EMAIL} characters"),
        ));
    }
    let options = email_address::Options::default()
        .without_display_text()
        .without_domain_literal();
    match email_address::EmailAddress::parse_with_options(trimmed, options) {
        Ok(_)
            if trimmed
                .rsplit('@')
                .next()
                .is_some_and(|domain| domain.contains('.')) =>
        {
            Ok(trimmed.to_lowercase())
        }
        _ => Err(FieldError::new(field, "must be a valid email address")),
    }
}

/// A display name: trimmed, at most 100 characters, no control characters; empty is none.
pub fn parse_full_name(raw: &str, field: &str) -> Result<Option<String>, FieldError> {
    let trimmed = raw.trim();
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    if trimmed.chars().count() > MAX_FULL_NAME {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_FULL_NAME} characters"),
        ));
    }
    Ok(Some(trimmed.to_owned()).filter(|n| !n.is_empty()))
}

/// Collects the outcome of one field check into `errors`, returning the value if valid.
pub fn collect<T>(result: Result<T, FieldError>, errors: &mut Vec<FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_contract() {
        for ok in ["abc", "a.b-c_9", &"x".repeat(32)] {
            assert!(parse_username(ok, "username").is_ok(), "{ok}");
        }
        for bad in ["ab", &"x".repeat(33), "has space", "émile", "a@b", ""] {
            assert!(parse_username(bad, "username").is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_are_validated_and_lower_cased() {
        assert_eq!(
            parse_email(" Ann@Example.COM ", "email").unwrap(),
            "ann@example.com"
        );
        for bad in [
            "",
            "plain",
            "a@b",
            "Ann <ann@example.com>",
            "a@[127.0.0.1]",
            &format!("{}@example.com", "x".repeat(250)),
        ] {
            assert!(parse_email(bad, "email").is_err(), "{bad}");
        }
    }
}
