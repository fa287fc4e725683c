//! Parsing the fields of badge and goal requests. Bodies are read as JSON values and
//! each field is checked here, so a request with several bad fields (a number where
//! text belongs, an unknown status, a title too long) is answered with all of them at
//! once rather than with the first one serde stumbles on.

use axum::http::Uri;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::Value;

use crate::error::{FieldError, Why};
use crate::i18n::message_key;
pub use crate::patch::Patch;
use crate::text::{Lines, refusal};

/// Collects every failing field of one request.
#[derive(Debug, Default)]
pub struct Checks {
    pub errors: Vec<FieldError>,
}

impl Checks {
    /// Keeps the value of a passing check, records the failure of another.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|e| self.errors.push(e)).ok()
    }

    pub fn fail(&mut self, field: &str, why: Why) {
        self.errors.push(why.at(field));
    }
}

/// How a text field may look.
#[derive(Debug, Clone, Copy)]
pub struct TextRule {
    /// At most this many characters (Unicode scalar values), after trimming.
    pub max: usize,
    /// Line breaks and tabs allowed (descriptions), or no control character at all (names).
    pub multiline: bool,
}

/// Text, trimmed; `None` when nothing is left.
pub fn text(value: &Value, field: &str, rule: TextRule) -> Result<Option<String>, FieldError> {
    let Value::String(raw) = value else {
        return Err(Why::new("must be a string", message_key("field-text")).at(field));
    };
    let trimmed = raw.trim();
    let lines = if rule.multiline {
        Lines::Many
    } else {
        Lines::One
    };
    if let Some(why) = refusal(trimmed, lines) {
        return Err(why.at(field));
    }
    if trimmed.chars().count() > rule.max {
        return Err(crate::accounts::fields::too_long(field, rule.max));
    }
    Ok(Some(trimmed.to_owned()).filter(|t| !t.is_empty()))
}

/// Text that must be present and not blank.
pub fn required_text(
    value: &Patch<Value>,
    field: &str,
    rule: TextRule,
) -> Result<String, FieldError> {
    match value {
        Patch::Absent => Err(Why::required().at(field)),
        Patch::Null => Err(Why::not_null().at(field)),
        Patch::Value(value) => text(value, field, rule)?.ok_or_else(|| {
            Why::new(
                format!("must be 1 to {} characters (not blank)", rule.max),
                message_key("field-not-blank"),
            )
            .with("max", rule.max)
            .at(field)
        }),
    }
}

pub const MAX_URL: usize = 2048;

/// An absolute `http` or `https` URL with a host and no credentials in it.
pub fn web_url(value: &Value, field: &str) -> Result<Option<String>, FieldError> {
    let Some(url) = text(
        value,
        field,
        TextRule {
            max: MAX_URL,
            multiline: false,
        },
    )?
    else {
        return Ok(None);
    };
    let invalid = || {
        Why::new(
            "must be an absolute http or https URL",
            message_key("field-web-url"),
        )
        .at(field)
    };
    let uri: Uri = url.parse().map_err(|_| invalid())?;
    let scheme_ok = uri
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
    let authority = uri.authority().ok_or_else(invalid)?;
    if !scheme_ok || authority.host().is_empty() {
        return Err(invalid());
    }
    if authority.as_str().contains('@') {
        return Err(Why::new(
            "must not contain a user name or password",
            message_key("field-url-credentials"),
        )
        .at(field));
    }
    Ok(Some(url))
}

/// An RFC 3339 timestamp, in UTC and truncated to microseconds (what both engines keep).
pub fn timestamp(value: &Value, field: &str) -> Result<DateTime<Utc>, FieldError> {
    let invalid = || {
        Why::new(
            "must be an RFC 3339 timestamp such as 2026-11-22T10:00:00Z",
            message_key("field-timestamp"),
        )
        .at(field)
    };
    let Value::String(raw) = value else {
        return Err(invalid());
    };
    let parsed = DateTime::parse_from_rfc3339(raw.trim()).map_err(|_| invalid())?;
    let utc = parsed.with_timezone(&Utc);
    Ok(utc.duration_trunc(Duration::microseconds(1)).unwrap_or(utc))
}

/// A whole number in `0..=max`.
pub fn count(value: &Value, field: &str, max: i64) -> Result<i64, FieldError> {
    let out_of_range = || {
        Why::new(
            format!("must be a whole number from 0 to {max}"),
            message_key("field-count"),
        )
        .with("max", max)
        .at(field)
    };
    match value {
        Value::Number(n) => match n.as_i64() {
            Some(v) if (0..=max).contains(&v) => Ok(v),
            _ => Err(out_of_range()),
        },
        _ => Err(out_of_range()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NAME: TextRule = TextRule {
        max: 5,
        multiline: false,
    };

    #[test]
    fn text_is_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(
            text(&json!("  abc "), "f", NAME).unwrap().as_deref(),
            Some("abc")
        );
        assert_eq!(text(&json!("   "), "f", NAME).unwrap(), None);
        assert_eq!(
            text(&json!("ééééé"), "f", NAME).unwrap().as_deref(),
            Some("ééééé")
        );
        assert!(text(&json!("abcdef"), "f", NAME).is_err());
        assert!(text(&json!("a\nb"), "f", NAME).is_err());
        assert!(text(&json!(5), "f", NAME).is_err());
        let multiline = TextRule {
            max: 10,
            multiline: true,
        };
        assert!(text(&json!("a\nb\tc"), "f", multiline).is_ok());
        assert!(text(&json!("a\u{7}b"), "f", multiline).is_err());
    }

    #[test]
    fn required_text_names_absent_null_and_blank() {
        for value in [Patch::Absent, Patch::Null, Patch::Value(json!(" "))] {
            assert_eq!(
                required_text(&value, "name", NAME).unwrap_err().field,
                "name"
            );
        }
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_pass() {
        for ok in [
            "http://example.com/a.png",
            "https://cdn.example.com:8443/i/b.svg?x=1",
            "HTTPS://EXAMPLE.COM",
        ] {
            assert!(web_url(&json!(ok), "icon_url").is_ok(), "{ok}");
        }
        for bad in [
            "ftp://example.com/a.png",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "/relative/path.png",
            "example.com/a.png",
            "https://",
            "https://user:secret@example.com/a.png",
            "http://exa mple.com",
        ] {
            assert!(web_url(&json!(bad), "icon_url").is_err(), "{bad}");
        }
        assert_eq!(web_url(&json!(""), "icon_url").unwrap(), None);
    }

    #[test]
    fn timestamps_are_rfc3339_in_utc_to_the_microsecond() {
        let t = timestamp(&json!("2026-11-22T12:00:00.123456789+02:00"), "t").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-22T10:00:00.123456+00:00");
        for bad in [json!("2026-11-22"), json!("yesterday"), json!(1700000000)] {
            assert!(timestamp(&bad, "t").is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_are_whole_and_bounded() {
        assert_eq!(count(&json!(0), "c", 10).unwrap(), 0);
        assert_eq!(count(&json!(10), "c", 10).unwrap(), 10);
        for bad in [
            json!(-1),
            json!(11),
            json!(1.5),
            json!("3"),
            json!(u64::MAX),
        ] {
            assert!(count(&bad, "c", 10).is_err(), "{bad}");
        }
    }
}
