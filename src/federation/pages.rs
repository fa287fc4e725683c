//! What the browser sees of federation besides redirects: the error page (every failure
//! says what to do next, and never sets a session cookie) and the flow's cookies, each
//! HttpOnly, SameSite=Lax, and `__Host-` prefixed and Secure over https.

use crate::i18n::Arg;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use crate::web::Pages;

/// The cookie binding a sign-in at a provider to the browser that left for it.
pub const DEPARTURE_COOKIE: &str = "roster-federation";
/// The cookie binding a link offer to the browser it was made to.
pub const LINK_COOKIE: &str = "roster-link";

/// The cookie's name as sent: `__Host-` prefixed over https.
pub fn cookie_name(pages: &Pages, base: &str) -> String {
    if pages.secure() {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// `Set-Cookie` for `base` with `value` (empty with `max_age` 0 forgets it).
pub fn cookie(pages: &Pages, base: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if pages.secure() { "; Secure" } else { "" };
    let text = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        cookie_name(pages, base)
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The page of a sign-in through a provider that did not succeed: why (`key`, a message
/// of `pages.ftl` that may name the `provider`), and what to do.
pub fn refused(pages: &Pages, status: StatusCode, key: &str, provider: Option<&str>) -> Response {
    let message = match provider {
        Some(name) => pages.tr_with(key, &[("provider", Arg::from(name))]),
        None => pages.tr(key),
    };
    pages.message(
        status,
        &pages.tr("federation-refused-title"),
        "error",
        &message,
        Some(&pages.tr("federation-refused-next")),
    )
}
