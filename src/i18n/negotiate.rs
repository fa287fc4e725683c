//! The language a browser asks for: its `Accept-Language` entries ordered by their
//! q-values (the accept-language crate; `q=0` means "not this one"), then matched to
//! the supported languages by fluent-langneg (`de-AT` is German, `en-GB` English).

use fluent_langneg::{NegotiationStrategy, negotiate_languages};
use fluent_templates::LanguageIdentifier;

use super::Language;

/// The supported language `accept_language` prefers, if it names any.
pub fn from_accept_language(accept_language: &str) -> Option<Language> {
    let requested: Vec<LanguageIdentifier> = accept_language::parse_with_quality(accept_language)
        .into_iter()
        .filter(|(_, quality)| *quality > 0.0)
        .filter_map(|(tag, _)| tag.parse().ok())
        .collect();
    let available: Vec<LanguageIdentifier> = Language::ALL
        .into_iter()
        .filter_map(|language| language.tag().parse().ok())
        .collect();
    let chosen = negotiate_languages(&requested, &available, None, NegotiationStrategy::Lookup);
    chosen
        .first()
        .and_then(|id| Language::from_tag(&id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_wanted_supported_language_wins() {
        for (header, expected) in [
            ("de", Some(Language::De)),
            ("de-AT,de;q=0.9,en;q=0.8", Some(Language::De)),
            ("en-GB,en;q=0.9,de;q=0.8", Some(Language::En)),
            ("fr-FR,fr;q=0.9,de;q=0.7,en;q=0.5", Some(Language::De)),
            ("en;q=0.5, de;q=0.9", Some(Language::De)),
            ("de;q=0, en", Some(Language::En)),
            ("fr, es", None),
            ("*", None),
            ("", None),
            ("de-CH", Some(Language::De)),
        ] {
            assert_eq!(from_accept_language(header), expected, "{header}");
        }
    }
}
