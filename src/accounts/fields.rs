//! Validated account fields. Handlers parse raw strings into these types, collecting
//! every failure as a `FieldError`, so the rest of the code never sees raw input.

use crate::error::{FieldError, Why};
use crate::i18n::message_key;
pub use crate::patch::Patch;
use crate::text::{Lines, refusal};

pub use super::email::MAX_EMAIL;
pub const MAX_FULL_NAME: usize = 100;

/// 3 to 32 characters of `A-Z a-z 0-9 _ . -`.
pub fn parse_username(raw: &str, field: &str) -> Result<String, FieldError> {
    let length = raw.chars().count();
    if !(3..=32).contains(&length) {
        return Err(Why::new(
            "must be 3 to 32 characters",
            message_key("field-username-length"),
        )
        .with("min", 3)
        .with("max", 32)
        .at(field));
    }
    if !raw
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(Why::new(
            "may contain only letters, digits, '_', '.' and '-'",
            message_key("field-username-characters"),
        )
        .at(field));
    }
    Ok(raw.to_owned())
}

/// An address (no display name, no IP literal), returned in its canonical form
/// ([`super::email::canonical_email`]: NFC, ASCII domain, unneeded quotes removed,
/// lower-cased).
pub fn parse_email(raw: &str, field: &str) -> Result<String, FieldError> {
    super::email::canonical_email(raw).ok_or_else(|| {
        Why::new(
            format!("must be a valid email address of at most {MAX_EMAIL} characters"),
            message_key("field-email"),
        )
        .with("max", MAX_EMAIL)
        .at(field)
    })
}

/// A display name: trimmed, at most 100 characters, no control or bidirectional
/// formatting characters; empty is none.
pub fn parse_full_name(raw: &str, field: &str) -> Result<Option<String>, FieldError> {
    let trimmed = raw.trim();
    if let Some(why) = refusal(trimmed, Lines::One) {
        return Err(why.at(field));
    }
    if trimmed.chars().count() > MAX_FULL_NAME {
        return Err(too_long(field, MAX_FULL_NAME));
    }
    Ok(Some(trimmed.to_owned()).filter(|n| !n.is_empty()))
}

/// An account's `locale`: the tag of a supported language, exactly (`en`, `de`).
pub fn parse_locale(raw: &str, field: &str) -> Result<String, FieldError> {
    match crate::i18n::Language::from_tag(raw) {
        Some(language) => Ok(language.tag().to_owned()),
        None => {
            let tags = crate::i18n::Language::tags().join(", ");
            Err(Why::new(
                format!("must be one of the supported languages: {tags}"),
                message_key("field-locale"),
            )
            .with("languages", tags)
            .at(field))
        }
    }
}

pub const MAX_PROFILE_TEXT: usize = 100;
pub const MAX_BIO: usize = 1000;
pub const MAX_URL: usize = 2048;
pub const MAX_ADDRESS_LINE: usize = 200;
pub const MAX_POSTAL_CODE: usize = 20;
pub const MIN_AGE: i32 = 13;
pub const MAX_AGE: i32 = 120;

/// Free text of at most `max` characters on one line: trimmed, no control or
/// bidirectional formatting characters; empty means none.
pub fn parse_line(raw: &str, field: &str, max: usize) -> Result<Option<String>, FieldError> {
    let trimmed = raw.trim();
    if let Some(why) = refusal(trimmed, Lines::One) {
        return Err(why.at(field));
    }
    if trimmed.chars().count() > max {
        return Err(too_long(field, max));
    }
    Ok(Some(trimmed.to_owned()).filter(|t| !t.is_empty()))
}

/// Free text of at most `max` characters that may span lines (tabs and line breaks
/// allowed, other control characters not); empty means none.
pub fn parse_text(raw: &str, field: &str, max: usize) -> Result<Option<String>, FieldError> {
    let trimmed = raw.trim();
    if let Some(why) = refusal(trimmed, Lines::Many) {
        return Err(why.at(field));
    }
    if trimmed.chars().count() > max {
        return Err(too_long(field, max));
    }
    Ok(Some(trimmed.to_owned()).filter(|t| !t.is_empty()))
}

/// An E.164 telephone number: `+`, then 2 to 15 digits, the first not 0.
pub fn parse_phone(raw: &str, field: &str) -> Result<String, FieldError> {
    let digits = raw.strip_prefix('+').unwrap_or("");
    let valid = (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(Why::new(
            "must be an E.164 number: '+' and 2 to 15 digits, e.g. +12125551234",
            message_key("field-phone"),
        )
        .at(field))
    }
}

/// An absolute `http` or `https` URL with a host, at most 2048 characters.
pub fn parse_http_url(raw: &str, field: &str) -> Result<String, FieldError> {
    let invalid = || {
        Why::new(
            format!("must be an http:// or https:// URL of at most {MAX_URL} characters"),
            message_key("field-http-url"),
        )
        .with("max", MAX_URL)
        .at(field)
    };
    let trimmed = raw.trim();
    if trimmed.len() > MAX_URL || trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid());
    }
    match url::Url::parse(trimmed) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some_and(|h| !h.is_empty())
                && url.username().is_empty()
                && url.password().is_none() =>
        {
            Ok(trimmed.to_owned())
        }
        _ => Err(invalid()),
    }
}

/// Whole years from `date_of_birth` to `today`.
pub fn age_on(date_of_birth: chrono::NaiveDate, today: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    let mut age = today.year() - date_of_birth.year();
    if (today.month(), today.day()) < (date_of_birth.month(), date_of_birth.day()) {
        age -= 1;
    }
    age
}

/// A date of birth `YYYY-MM-DD` in the past, giving an age from 13 to 120 years today.
pub fn parse_date_of_birth(
    raw: &str,
    field: &str,
    today: chrono::NaiveDate,
) -> Result<chrono::NaiveDate, FieldError> {
    let date = chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .filter(|_| raw.trim().len() == 10)
        .ok_or_else(|| {
            Why::new("must be a date YYYY-MM-DD", message_key("field-date")).at(field)
        })?;
    if date >= today {
        return Err(Why::new("must be in the past", message_key("field-date-past")).at(field));
    }
    let age = age_on(date, today);
    if !(MIN_AGE..=MAX_AGE).contains(&age) {
        return Err(Why::new(
            format!("must give an age from {MIN_AGE} to {MAX_AGE} years"),
            message_key("field-date-of-birth-age"),
        )
        .with("min", MIN_AGE)
        .with("max", MAX_AGE)
        .at(field));
    }
    Ok(date)
}

/// An ISO 3166-1 alpha-2 code, returned upper-cased.
pub fn parse_country(raw: &str, field: &str) -> Result<String, FieldError> {
    let code = raw.trim().to_ascii_uppercase();
    if super::countries::is_country_code(&code) {
        Ok(code)
    } else {
        Err(Why::new(
            "must be an ISO 3166-1 alpha-2 country code, e.g. US",
            message_key("field-country"),
        )
        .at(field))
    }
}

/// `must be at most {max} characters`, the refusal of text too long.
pub fn too_long(field: &str, max: usize) -> FieldError {
    Why::new(
        format!("must be at most {max} characters"),
        message_key("field-too-long"),
    )
    .with("max", max)
    .at(field)
}

/// Collects the outcome of one field check into `errors`, returning the value if valid.
pub fn collect<T>(result: Result<T, FieldError>, errors: &mut Vec<FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

/// The username, address and optional full name of a new account (registration,
/// invitation, import), each failing field collected into `errors`.
pub fn parse_new_account(
    username: &str,
    email: &str,
    full_name: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> (Option<String>, Option<String>, Option<String>) {
    let username = collect(parse_username(username, "username"), errors);
    let email = collect(parse_email(email, "email"), errors);
    let full_name = match full_name {
        Some(raw) => collect(parse_full_name(raw, "full_name"), errors).flatten(),
        None => None,
    };
    (username, email, full_name)
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
    #[test]
    fn phones_must_be_e164() {
        for ok in ["+12125551234", "+442071838750", "+49"] {
            assert!(parse_phone(ok, "phone").is_ok(), "{ok}");
        }
        for bad in [
            "12125551234",
            "+0123",
            "+1 212 555",
            "+1234567890123456",
            "+",
            "+1a",
            "tel:+1",
        ] {
            assert!(parse_phone(bad, "phone").is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_must_be_http_or_https() {
        for ok in [
            "https://example.com/a.png",
            "http://cdn.example.org:8080/x?y=1",
        ] {
            assert!(parse_http_url(ok, "avatar_url").is_ok(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "ftp://example.com/a",
            "data:image/png;base64,AAAA",
            "https://",
            "example.com",
            "https://u:p@example.com/",
            "https://exa mple.com",
        ] {
            assert!(parse_http_url(bad, "avatar_url").is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_of_birth_are_past_and_plausible() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert!(parse_date_of_birth("1990-05-17", "date_of_birth", today).is_ok());
        assert!(parse_date_of_birth("2013-11-22", "date_of_birth", today).is_ok());
        for bad in [
            "2013-11-23",
            "2030-01-01",
            "2026-11-22",
            "1890-01-01",
            "1990-02-30",
            "17/05/1990",
            "1990-5-7",
            "",
        ] {
            assert!(
                parse_date_of_birth(bad, "date_of_birth", today).is_err(),
                "{bad}"
            );
        }
        let birthday = chrono::NaiveDate::from_ymd_opt(2000, 11, 23).unwrap();
        assert_eq!(age_on(birthday, today), 25);
        assert_eq!(age_on(birthday, today.succ_opt().unwrap()), 26);
    }

    #[test]
    fn countries_are_iso_codes() {
        assert_eq!(parse_country(" us ", "c").unwrap(), "US");
        assert!(parse_country("XX", "c").is_err());
        assert!(parse_country("USA", "c").is_err());
    }
}
