//! Passkeys on the sign-in page: as the second factor of a password sign-in, or as a
//! whole sign-in on their own. The page's script (`/assets/passkey.js`) asks
//! `POST /login/passkey-options` for the ceremony (a form post with the page's CSRF
//! token; the second factor's challenge is read from the HttpOnly mfa cookie, never from
//! the page), lets the browser's authenticator answer, and posts the answer to
//! `POST /login` as `passkey`, `challenge_id` and `credential`. The checks are the JSON
//! API's own (`/mfa/passkey-challenge` with `/mfa/verify`, `/passkey-login/options` with
//! `/passkey-login`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{
    DEVICE_NAME, Shown, SignInForm, login_page, mfa_cookie_name, second_factor, signed_in,
    start_again,
};
use crate::auth::mfa::passkey_login;
use crate::auth::mfa::passkeys::options_for_mfa_token;
use crate::auth::mfa::proof::Proof;
use crate::auth::sessions::Device;
use crate::error::{ApiError, Why};
use crate::http::ClientInfo;
use crate::i18n::message_key;
use crate::web::{Pages, Web, form};

const SECOND_FACTOR: &str = "second_factor";
const LOGIN: &str = "login";

#[derive(Debug, Deserialize)]
struct OptionsForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    purpose: String,
}

/// `POST /login/passkey-options`: the ceremony's id and request options (JSON), for the
/// second factor of the sign-in in progress (`purpose=second_factor`) or for a passkey
/// sign-in (`purpose=login`).
pub async fn passkey_options(State(web): State<Web>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(posted) = form::<OptionsForm>(&headers, &body) else {
        return ApiError::Malformed("the body must be a form with csrf_token and purpose".into())
            .into_response();
    };
    if !web.pages.form_is_genuine(&headers, &posted.csrf_token) {
        return ApiError::Forbidden("the form had expired: reload the page".into()).into_response();
    }
    let options = match posted.purpose.as_str() {
        SECOND_FACTOR => match Pages::cookie_value(&headers, mfa_cookie_name(&web.pages)) {
            Some(token) => options_for_mfa_token(&web.app, &token).await,
            None => Err(ApiError::BadToken(Why::new(
                "the sign-in took too long: start again",
                message_key("bad-token-sign-in-too-long"),
            ))),
        },
        LOGIN => passkey_login::login_options(State(web.app.clone())).await,
        _ => Err(ApiError::validation(
            "purpose",
            "must be second_factor or login",
        )),
    };
    options.unwrap_or_else(IntoResponse::into_response)
}

/// The passkey answer posted to `/login` for `purpose`.
pub(super) async fn answer(
    web: &Web,
    headers: &HeaderMap,
    client: ClientInfo,
    posted: &SignInForm,
    purpose: &str,
    mut shown: Shown<'_>,
) -> Result<Response, ApiError> {
    let challenge_id = posted
        .challenge_id
        .as_deref()
        .and_then(|id| Uuid::parse_str(id).ok());
    let credential = posted
        .credential
        .as_deref()
        .filter(|text| text.len() <= 64 * 1024)
        .and_then(|text| serde_json::from_str::<Value>(text).ok());
    let (Some(challenge_id), Some(credential)) = (challenge_id, credential) else {
        shown.error = Some(message_key("login-passkey-unreadable"));
        return Ok(login_page(
            web,
            headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            &shown,
        ));
    };
    match purpose {
        SECOND_FACTOR => {
            let proof = Proof::Passkey {
                challenge_id,
                credential,
            };
            second_factor(web, headers, client, proof, shown).await
        }
        LOGIN => {
            let device = Device {
                name: Some(DEVICE_NAME.to_owned()),
                client,
            };
            match passkey_login::sign_in(&web.app, challenge_id, &credential, &device).await {
                Ok((_, issued)) => signed_in(web, &issued, shown.return_to).await,
                Err(ApiError::BadToken(_)) => Ok(start_again(web, headers, shown)),
                Err(ApiError::Unauthorized(_) | ApiError::Validation(_)) => {
                    shown.error = Some(message_key("login-passkey-refused"));
                    Ok(login_page(web, headers, StatusCode::UNAUTHORIZED, &shown))
                }
                Err(e) => Err(e),
            }
        }
        _ => {
            shown.error = Some(message_key("login-form-unreadable-again"));
            Ok(login_page(
                web,
                headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                &shown,
            ))
        }
    }
}
