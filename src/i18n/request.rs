//! The language of the request being answered: the signed-in account's `locale` when it
//! has one, else what the browser's `Accept-Language` asks for, else English.
//!
//! [`remember_accept_language`] is a middleware around every route: it keeps the
//! request's `Accept-Language` for the length of the request (a Tokio task-local, so
//! the page renderer needs no request in hand). Code that learns who is signed in (the
//! browser session, a sign-in in progress) tells it with [`use_account_locale`]. Outside
//! a request (mail, background work) the language is always given explicitly.

use std::cell::RefCell;

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use super::Language;
use super::negotiate::from_accept_language;

#[derive(Debug, Default)]
struct Choice {
    /// The browser's `Accept-Language`, negotiated when first needed.
    accept_language: Option<String>,
    /// The signed-in account's `locale`, once known.
    account: Option<Language>,
}

tokio::task_local! {
    static REQUEST: RefCell<Choice>;
}

/// Keeps the request's `Accept-Language` while it is answered.
pub async fn remember_accept_language(request: Request, next: Next) -> Response {
    let accept_language = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let choice = Choice {
        accept_language,
        account: None,
    };
    REQUEST.scope(RefCell::new(choice), next.run(request)).await
}

/// The account answered for has this `locale` (a supported tag, or none: then the
/// browser's language stays).
pub fn use_account_locale(locale: Option<&str>) {
    let Some(language) = Language::of_locale(locale) else {
        return;
    };
    let _ = REQUEST.try_with(|choice| choice.borrow_mut().account = Some(language));
}

/// The language to answer the current request in (English outside a request).
pub fn current() -> Language {
    REQUEST
        .try_with(|choice| {
            let choice = choice.borrow();
            choice.account.or_else(|| {
                choice
                    .accept_language
                    .as_deref()
                    .and_then(from_accept_language)
            })
        })
        .ok()
        .flatten()
        .unwrap_or(Language::FALLBACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_account_locale_beats_the_browser_and_english_is_the_default() {
        assert_eq!(current(), Language::En);
        let choice = Choice {
            accept_language: Some("de-DE,de;q=0.9".into()),
            account: None,
        };
        REQUEST
            .scope(RefCell::new(choice), async {
                assert_eq!(current(), Language::De);
                use_account_locale(None);
                assert_eq!(current(), Language::De);
                use_account_locale(Some("en"));
                assert_eq!(current(), Language::En);
            })
            .await;
    }
}
