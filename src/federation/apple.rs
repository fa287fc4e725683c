//! Sign in with Apple's way back (kind `apple`; its key and per-exchange client secret
//! are in [`super::providers::apple_key`]). Asked for the address or the name, Apple
//! answers with `response_mode=form_post`: the browser POSTs `code` and `state` (and
//! `user`, the name, the first time only) from Apple's site to the callback. A cross-site
//! POST carries no SameSite=Lax cookie, so neither the cookie binding the sign-in to this
//! browser nor a signed-in session (for a link from the account) would be seen there.
//! `POST /login/{slug}/callback` therefore only answers `303` to the same callback as a
//! GET, a top-level navigation that carries them, where the return is checked like any
//! provider's ([`super::arrival`]); it changes nothing itself.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::departure::callback_uri;
use super::pages::refused;
use super::providers::{self, kinds::ProviderKind};
use crate::i18n::message_key;
use crate::web::Web;

/// The name Apple sends once, as a parameter of the GET it becomes.
pub const NAME_PARAMETER: &str = "name";
/// A name longer than this is not taken (the account's full name has its own rules).
const MAX_NAME: usize = 200;

/// `POST /login/{slug}/callback`: Apple's form post, passed on as a GET.
pub async fn form_posted(
    State(web): State<Web>,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    match providers::find_by_slug(&web.app.db, &slug).await {
        Ok(Some(stored)) if stored.provider.kind == ProviderKind::Apple => {}
        Ok(_) => {
            return refused(
                &web.pages,
                StatusCode::NOT_FOUND,
                message_key("federation-no-such-provider"),
                None,
            );
        }
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    }
    // Passed on as they came (a repeated one makes the GET refuse the answer as
    // unreadable); `id_token` is not: the one the code redeems for is the one believed.
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(&body) {
        match name.as_ref() {
            "code" | "state" | "error" => {
                query.append_pair(&name, &value);
            }
            "user" => {
                if let Some(full_name) = name_of(&value) {
                    query.append_pair(NAME_PARAMETER, &full_name);
                }
            }
            _ => {}
        }
    }
    let location = format!(
        "{}?{}",
        callback_uri(&web.app.config.http.public_url, &slug),
        query.finish()
    );
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

/// The full name in Apple's `user` field (`{"name": {"firstName", "lastName"}, "email"}`),
/// when it holds one.
fn name_of(user: &str) -> Option<String> {
    let user: serde_json::Value = serde_json::from_str(user).ok()?;
    let part = |key: &str| {
        user["name"][key]
            .as_str()
            .map(str::trim)
            .filter(|part| !part.is_empty())
    };
    let name = [part("firstName"), part("lastName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let usable =
        !name.is_empty() && name.chars().count() <= MAX_NAME && !name.chars().any(char::is_control);
    usable.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_read_from_apples_user_field_and_nothing_else() {
        let user = r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"x@privaterelay.appleid.com"}"#;
        assert_eq!(name_of(user).as_deref(), Some("Ada Lovelace"));
        assert_eq!(
            name_of(r#"{"name":{"firstName":"Ada"}}"#).as_deref(),
            Some("Ada")
        );
        assert_eq!(name_of(r#"{"email":"x@example.com"}"#), None);
        assert_eq!(name_of("not json"), None);
        assert_eq!(name_of(r#"{"name":{"firstName":"A\u0007"}}"#), None);
    }
}
