//! CSRF protection of the pages' forms: a double-submit token. A page with a form sets a
//! random token in a cookie (HttpOnly, SameSite=Strict; `__Host-` and `Secure` over
//! https) and in a hidden field; a post is accepted only when both are present and equal
//! (compared in constant time), and when the browser's `Origin` header, if it sent one,
//! is Roster's own. Another site can make a browser post a form, but can neither read
//! nor set the cookie, so it cannot know the value to put in the field.

use axum::http::{HeaderMap, HeaderValue, header};
use subtle::ConstantTimeEq;

use super::Pages;
use crate::crypto::random_token;

/// A token to put in a form, and the cookie that must come back with it.
pub struct FormToken {
    pub value: String,
    pub set_cookie: Option<HeaderValue>,
}

impl Pages {
    fn csrf_cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-roster-csrf"
        } else {
            "roster-csrf"
        }
    }

    /// The token for a form on a page answering `headers`: the browser's current one
    /// when it has one, else a new one with the cookie to set.
    pub fn form_token(&self, headers: &HeaderMap) -> FormToken {
        if let Some(value) = self.cookie(headers) {
            return FormToken {
                value,
                set_cookie: None,
            };
        }
        let value = random_token();
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Strict{secure}",
            self.csrf_cookie_name()
        );
        FormToken {
            set_cookie: HeaderValue::from_str(&cookie).ok(),
            value,
        }
    }

    /// True when a form post carries the browser's token and comes from this origin.
    pub fn form_is_genuine(&self, headers: &HeaderMap, submitted: &str) -> bool {
        let same_origin = headers
            .get(header::ORIGIN)
            .is_none_or(|origin| origin.as_bytes() == self.origin.as_bytes());
        let Some(expected) = self.cookie(headers) else {
            return false;
        };
        same_origin
            && !submitted.is_empty()
            && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
    }

    /// The CSRF cookie's value, when it has the shape Roster gives it.
    fn cookie(&self, headers: &HeaderMap) -> Option<String> {
        Pages::cookie_value(headers, self.csrf_cookie_name()).filter(|value| {
            value.len() == 43
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn a_form_is_genuine_only_with_the_cookie_and_from_this_origin() {
        let pages = Pages::new("https://id.example").unwrap();
        let issued = pages.form_token(&HeaderMap::new());
        let cookie = issued.set_cookie.unwrap();
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.starts_with("__Host-roster-csrf="), "{cookie}");
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Strict")
                && cookie.contains("Secure")
        );
        let jar = format!("other=1; __Host-roster-csrf={}", issued.value);
        assert!(pages.form_is_genuine(&headers(&[("cookie", &jar)]), &issued.value));
        assert!(pages.form_is_genuine(
            &headers(&[("cookie", &jar), ("origin", "https://id.example")]),
            &issued.value
        ));
        assert!(!pages.form_is_genuine(
            &headers(&[("cookie", &jar), ("origin", "https://evil.example")]),
            &issued.value
        ));
        assert!(!pages.form_is_genuine(&headers(&[("cookie", &jar)]), "x"));
        assert!(!pages.form_is_genuine(&HeaderMap::new(), &issued.value));
        // An existing cookie is reused rather than replaced.
        let again = pages.form_token(&headers(&[("cookie", &jar)]));
        assert_eq!(again.value, issued.value);
        assert!(again.set_cookie.is_none());
    }

    #[test]
    fn plain_http_development_cookies_have_no_host_prefix() {
        let pages = Pages::new("http://127.0.0.1:8001").unwrap();
        let cookie = pages.form_token(&HeaderMap::new()).set_cookie.unwrap();
        let cookie = cookie.to_str().unwrap();
        assert!(
            cookie.starts_with("roster-csrf=") && !cookie.contains("Secure"),
            "{cookie}"
        );
    }
}
