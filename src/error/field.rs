//! The failing fields of a request (`FieldError`), and why a value is refused before it
//! is pinned to a field (`Why`): the API's English words, and the key of the same words
//! in `locales/` that the pages show in the reader's language.

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

/// Why a value is refused, before it is pinned to a field: the API's English words and
/// the key of the same words in `locales/*/fields.ftl` (mark it with
/// `crate::i18n::message_key`), with the message's variables.
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
