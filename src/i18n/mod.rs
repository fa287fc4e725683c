//! The languages Roster's pages and mails speak, and their words.
//!
//! The words are Fluent messages in `locales/<language>/<area>.ftl` (one file per area:
//! `pages.ftl` for the public pages, `mail.ftl` for the mails, `console.ftl` for the
//! console), embedded in the binary. Every message may use `{ $brand }` (`BRAND_NAME`);
//! none hard-codes the product's name.
//!
//! - [`Language`]: a supported language; English is the fallback of every message.
//! - [`negotiate`]: the language of a browser's `Accept-Language`.
//! - [`request`]: the language of the request being answered (the account's `locale`,
//!   else the browser's), which the pages render in.
//! - [`functions`]: the templates' `t("key", name=value)`, reading the language from the
//!   render context's `lang`.
//! - [`readable`]: times ("3 minutes ago") and devices ("Chrome on Linux") in words.

pub mod functions;
pub mod html;
pub mod negotiate;
pub mod readable;
pub mod request;

#[cfg(test)]
mod coverage;

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid};
use serde::Serialize;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // No Unicode isolation marks around placeables: they would end up in mail
        // subjects and in the pages' text.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language the pages and mails are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    De,
}

impl Language {
    /// Every supported language, the fallback first.
    pub const ALL: [Language; 2] = [Language::En, Language::De];

    /// The language of mails to an account without a `locale`, and of any message a
    /// language lacks.
    pub const FALLBACK: Language = Language::En;

    /// The BCP 47 tag (`en`, `de`): the `locale` of an account, `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::De => "de",
        }
    }

    /// The language whose tag is exactly `tag`.
    pub fn from_tag(tag: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.tag() == tag)
    }

    /// The language of an account's `locale` (`None`, or a tag no longer supported:
    /// none).
    pub fn of_locale(locale: Option<&str>) -> Option<Language> {
        locale.and_then(Language::from_tag)
    }

    fn id(self) -> LanguageIdentifier {
        match self {
            Language::En => langid!("en"),
            Language::De => langid!("de"),
        }
    }

    /// The tags of every supported language, for messages and documents.
    pub fn tags() -> Vec<&'static str> {
        Language::ALL.into_iter().map(Language::tag).collect()
    }
}

/// Marks `key` as the key of a message of `locales/` that is kept to be looked up later
/// (in a constant, a field): the coverage test finds every key used by this mark, by the
/// templates' `t("…")` and by `tr("…")`/`tr_with("…")`.
pub const fn message_key(key: &'static str) -> &'static str {
    key
}

/// A value of a message's variable: text, or a number (which plural rules look at).
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(String),
    Number(f64),
}

impl Arg {
    /// A variable's value kept as text (`FieldError::words`): a number when it reads as
    /// a whole number, so that plural rules see it.
    pub fn read(text: &str) -> Arg {
        text.parse::<i64>()
            .map_or_else(|_| Arg::from(text), Arg::from)
    }
}

impl From<&str> for Arg {
    fn from(text: &str) -> Arg {
        Arg::Text(text.to_owned())
    }
}

impl From<String> for Arg {
    fn from(text: String) -> Arg {
        Arg::Text(text)
    }
}

impl From<u64> for Arg {
    fn from(n: u64) -> Arg {
        Arg::Number(n as f64)
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Arg {
        Arg::Number(n as f64)
    }
}

/// Looks messages up for one deployment: it knows the brand every message may name.
#[derive(Debug, Clone)]
pub struct Words {
    brand: String,
}

impl Words {
    pub fn new(brand: &str) -> Words {
        Words {
            brand: brand.to_owned(),
        }
    }

    pub fn brand(&self) -> &str {
        &self.brand
    }

    /// Message `key` in `language` (or in English when `language` lacks it) with `args`
    /// and `$brand`; `None` when no language has it.
    pub fn lookup(&self, language: Language, key: &str, args: &[(&str, Arg)]) -> Option<String> {
        let mut fluent: HashMap<Cow<'static, str>, FluentValue> = HashMap::new();
        fluent.insert(
            Cow::Borrowed("brand"),
            FluentValue::from(self.brand.clone()),
        );
        for (name, value) in args {
            let value = match value {
                Arg::Text(text) => FluentValue::from(text.clone()),
                Arg::Number(n) => FluentValue::from(*n),
            };
            fluent.insert(Cow::Owned((*name).to_owned()), value);
        }
        LOCALES.try_lookup_with_args(&language.id(), key, &fluent)
    }

    /// [`Self::lookup`], or the key itself (logged) when no language has the message, so
    /// that a missing word never fails a request. The tests check that every key used
    /// exists in every language.
    pub fn text(&self, language: Language, key: &str, args: &[(&str, Arg)]) -> String {
        self.lookup(language, key, args).unwrap_or_else(|| {
            tracing::error!(key, "no such message in locales/");
            key.to_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_brand_and_fall_back_to_english() {
        let words = Words::new("Acme");
        let title = words.lookup(Language::De, "layout-title", &[("page", "Anmelden".into())]);
        assert_eq!(title.as_deref(), Some("Anmelden · Acme"));
        assert_eq!(words.lookup(Language::En, "no-such-message", &[]), None);
        assert_eq!(
            words.text(Language::En, "no-such-message", &[]),
            "no-such-message"
        );
        assert_eq!(Language::from_tag("de"), Some(Language::De));
        assert_eq!(Language::from_tag("de-DE"), None);
    }
}
