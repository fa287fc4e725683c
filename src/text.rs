//! What free text users choose (names, `device_name`, titles, descriptions) may hold.
//!
//! Such text is shown back to other people: in session lists, profiles, mails and pages.
//! Control characters (other than the line breaks and tabs of multi-line text) and the
//! Unicode bidirectional formatting characters are refused, because they make text
//! display as something other than what it is: an override can turn `exe.txt` into
//! `txt.exe` on screen ("Trojan Source", CVE-2021-42574).

use crate::error::Why;
use crate::i18n::message_key;

/// One line of text, or text that may span lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    One,
    Many,
}

/// The bidirectional formatting characters: the embeddings, overrides and their pop
/// (U+202A to U+202E), the isolates (U+2066 to U+2069) and the implicit marks (U+200E,
/// U+200F, U+061C).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Why `text` may not be stored as free text, or `None` when it may.
pub fn refusal(text: &str, lines: Lines) -> Option<Why> {
    let line_break = |c: char| matches!(c, '\n' | '\r' | '\t');
    if text.chars().any(is_bidi_control) {
        return Some(Why::new(
            "must not contain bidirectional formatting characters (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C)",
            message_key("field-bidi-characters"),
        ));
    }
    match lines {
        Lines::One if text.chars().any(char::is_control) => Some(Why::new(
            "must not contain control characters or line breaks",
            message_key("field-control-characters-one-line"),
        )),
        Lines::Many if text.chars().any(|c| c.is_control() && !line_break(c)) => Some(Why::new(
            "must not contain control characters other than line breaks and tabs",
            message_key("field-control-characters"),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_refused() {
        assert_eq!(refusal("Laptop (work)", Lines::One), None);
        assert_eq!(refusal("Zoë's ☕ phone", Lines::One), None);
        assert_eq!(refusal("two\nlines", Lines::Many), None);
        assert!(refusal("two\nlines", Lines::One).is_some());
        assert!(refusal("bell\u{7}", Lines::Many).is_some());
        for bidi in [
            '\u{202E}', '\u{202A}', '\u{2066}', '\u{2069}', '\u{200F}', '\u{061C}',
        ] {
            assert!(
                refusal(&format!("cod{bidi}gpj.exe"), Lines::Many).is_some(),
                "{bidi:?}"
            );
        }
    }
}
