//! Scopes (RFC 6749 §3.3): what a client may ask for and what a user granted. The
//! OpenID scopes (`openid`, `profile`, `email`, `offline_access`) have a meaning here;
//! any other scope a client is registered with is an API scope an administrator defined,
//! which Roster only passes on in the access token's `scope` claim.

use std::collections::BTreeSet;

pub const OPENID: &str = "openid";
pub const PROFILE: &str = "profile";
pub const EMAIL: &str = "email";
pub const OFFLINE_ACCESS: &str = "offline_access";

/// The scopes Roster itself defines, as discovery lists them.
pub const STANDARD: [&str; 4] = [OPENID, PROFILE, EMAIL, OFFLINE_ACCESS];

/// A set of scope tokens, kept in order so that its text is stable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// Parses a space-separated `scope` parameter; `None` when a token has a character
    /// RFC 6749 §3.3 does not allow.
    pub fn parse(text: &str) -> Option<Scopes> {
        let mut set = BTreeSet::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            if token.len() > 100 || !token.bytes().all(is_scope_char) {
                return None;
            }
            set.insert(token.to_owned());
        }
        Some(Scopes(set))
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when every scope here is also in `other`.
    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The scopes of both.
    pub fn union(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.union(&other.0).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The space-separated form (the `scope` parameter, claim and column).
    pub fn text(&self) -> String {
        self.0.iter().cloned().collect::<Vec<_>>().join(" ")
    }
}

impl<S: AsRef<str>> FromIterator<S> for Scopes {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Scopes {
        Scopes(iter.into_iter().map(|s| s.as_ref().to_owned()).collect())
    }
}

fn is_scope_char(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)
}

/// What the consent page says a scope lets the application do.
pub fn describe(scope: &str) -> String {
    match scope {
        OPENID => "know who you are (your user id)".to_owned(),
        PROFILE => "see your name, username and picture".to_owned(),
        EMAIL => "see your email address and whether it is verified".to_owned(),
        OFFLINE_ACCESS => "stay signed in when you are not using it".to_owned(),
        other => format!("use the API permission \u{201c}{other}\u{201d}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_dedupe_and_refuse_forbidden_characters() {
        let scopes = Scopes::parse("openid  email openid").unwrap();
        assert_eq!(scopes.text(), "email openid");
        assert!(Scopes::parse("openid \"quoted\"").is_none());
        assert!(Scopes::parse("back\\slash").is_none());
        assert!(Scopes::parse("").unwrap().is_empty());
        let allowed: Scopes = ["openid", "email", "profile"].into_iter().collect();
        assert!(scopes.is_subset(&allowed));
        assert!(!Scopes::parse("admin").unwrap().is_subset(&allowed));
    }
}
