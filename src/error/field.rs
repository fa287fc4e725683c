//! The failing fields of a request (`FieldError`), and why a value or a request is
//! refused before it is pinned to a field (`Why`, also the reason of a 409, 404, 429 or
//! of a refused token or second factor): the API's English words, and the key of the same
//! words in `locales/` that the pages show in the reader's language. [`url_problem_key`] gives the URL parser's reasons words too.

use serde::Serialize;
use utoipa::ToSchema;

/// One failing field of a request, named by its dotted path (`shipping_address.country`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// The same as a message of `locales/` (`fields.ftl`, `pages.ftl`, ...) and its
    /// variables, for the pages that show it in the reader's language; not part of the
    /// answer.
    #[serde(skip)]
    pub words: Option<(&'static str, Vec<(&'static str, String)>)>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
            words: None,
        }
    }

    /// The same error, which pages show as the message `key` of `locales/` with `args`.
    pub fn with_words(mut self, key: &'static str, args: &[(&'static str, String)]) -> FieldError {
        self.words = Some((key, args.to_vec()));
        self
    }
}

/// Why a value is refused, before it is pinned to a field, or why a request is refused
/// (`ApiError::Conflict`, `WrongFactor`, `BadToken`, `NotFound`, `TooManyRequests`): the
/// API's English words and the key of the same words in `locales/*/fields.ftl`,
/// `conflicts.ftl` or `refusals.ftl` (mark it with `crate::i18n::message_key`), with the
/// message's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Why {
    pub message: String,
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Why {
    pub fn new(message: impl Into<String>, key: &'static str) -> Why {
        Why {
            message: message.into(),
            key,
            args: Vec::new(),
        }
    }

    /// `is required`: the field is missing (or blank on a form).
    pub fn required() -> Why {
        Why::new("is required", crate::i18n::message_key("field-required"))
    }

    /// `must not be null`.
    pub fn not_null() -> Why {
        Why::new(
            "must not be null",
            crate::i18n::message_key("field-not-null"),
        )
    }

    /// The same, with the message's variable `name` set to `value`.
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Why {
        self.args.push((name, value.to_string()));
        self
    }

    /// The error of `field` this makes.
    pub fn at(self, field: impl Into<String>) -> FieldError {
        FieldError::new(field, self.message).with_words(self.key, &self.args)
    }
}

/// The message of `locales/*/fields.ftl` that says `problem`, the reason the URL parser
/// gives (the `Display` of a `url::ParseError`, which a message's `problem` variable
/// carries, e.g. `field-webhook-url`'s), for the pages to say it in the reader's
/// language; `None` for any other text (the API's words stay English).
pub fn url_problem_key(problem: &str) -> Option<&'static str> {
    use crate::i18n::message_key;
    use url::ParseError as P;
    let words = [
        (P::EmptyHost, message_key("url-problem-empty-host")),
        (P::IdnaError, message_key("url-problem-idna")),
        (P::InvalidPort, message_key("url-problem-port")),
        (P::InvalidIpv4Address, message_key("url-problem-ipv4")),
        (P::InvalidIpv6Address, message_key("url-problem-ipv6")),
        (
            P::InvalidDomainCharacter,
            message_key("url-problem-domain-character"),
        ),
        (
            P::RelativeUrlWithoutBase,
            message_key("url-problem-relative"),
        ),
        (
            P::RelativeUrlWithCannotBeABaseBase,
            message_key("url-problem-cannot-be-a-base"),
        ),
        (
            P::SetHostOnCannotBeABaseUrl,
            message_key("url-problem-no-host-to-set"),
        ),
        (P::Overflow, message_key("url-problem-overflow")),
    ];
    words
        .into_iter()
        .find(|(error, _)| error.to_string() == problem)
        .map(|(_, key)| key)
}

#[cfg(test)]
mod tests {
    use super::url_problem_key;

    #[test]
    fn the_url_parsers_reasons_have_words_and_nothing_else_has() {
        let reason = |text: &str| url::Url::parse(text).unwrap_err().to_string();
        assert_eq!(
            url_problem_key(&reason("https://example.com:99999/")),
            Some("url-problem-port")
        );
        assert_eq!(
            url_problem_key(&reason("no url")),
            Some("url-problem-relative")
        );
        assert_eq!(url_problem_key("example.com"), None);
    }
}
