//! Passkeys through the page's script (`/assets/passkey-register.js`):
//! `POST /account/security/passkey-options` (a form post with the page's CSRF token)
//! answers the ceremony's options as JSON, as `POST /api/v1/auth/mfa/passkeys/options`
//! does for `purpose=register` and `POST /mfa/passkey-challenge` with a bearer token
//! does for `purpose=reauthenticate`; the browser's authenticator answers, and the script
//! posts that answer with the form: to `POST /account/security/passkeys` (a new passkey,
//! checked and stored as `POST /mfa/passkeys` does) or with the re-authentication form.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::problems::Refusal;
use super::{PATH, Shown, is_recent, render};
use crate::auth::mfa::passkeys::{
    PasskeyRegistration, reauthentication_options, register_passkey, start_registration,
};
use crate::console::frame::{AccountPage, ConsoleForm, done};
use crate::error::{ApiError, Why};
use crate::http::ClientInfo;
use crate::i18n::message_key;
use crate::oidc::browser;
use crate::web::{Web, form};

const REGISTER: &str = "register";
const REAUTHENTICATE: &str = "reauthenticate";

#[derive(Deserialize)]
struct OptionsForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    purpose: String,
}

/// `POST /account/security/passkey-options`: JSON for the script (problem+json when
/// refused: 403 for a forged form, a signed-out browser or a session that is not recent
/// enough to add a passkey).
pub(super) async fn options(State(web): State<Web>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(posted) = form::<OptionsForm>(&headers, &body) else {
        return ApiError::Malformed("the body must be a form with csrf_token and purpose".into())
            .into_response();
    };
    if !web.pages.form_is_genuine(&headers, &posted.csrf_token) {
        return ApiError::Forbidden("the form had expired: reload the page".into()).into_response();
    }
    let now = web.app.clock.now();
    let session = match browser::current(&web.app.db, &web.pages, &headers, now).await {
        Ok(Some(session)) => session,
        Ok(None) => {
            return ApiError::Forbidden("this browser is signed out: reload the page".into())
                .into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let options = match posted.purpose.as_str() {
        REGISTER if !is_recent(&web, &session) => Err(ApiError::ReauthenticationRequired),
        REGISTER => start_registration(&web.app, &session.user).await,
        REAUTHENTICATE => reauthentication_options(&web.app, session.user.id).await,
        _ => Err(ApiError::validation(
            "purpose",
            "must be register or reauthenticate",
        )),
    };
    options.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize)]
pub(super) struct PasskeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    challenge_id: String,
    #[serde(default)]
    credential: String,
}

const LABELS: &[(&str, &str)] = &[
    ("name", message_key("security-label-passkey-name")),
    ("credential", message_key("security-label-passkey-answer")),
];

/// `POST /account/security/passkeys`: the authenticator's answer, with a name.
pub(super) async fn register(
    client: ClientInfo,
    page: AccountPage,
    ConsoleForm(form): ConsoleForm<PasskeyForm>,
) -> Response {
    let AccountPage { web, session, .. } = &page;
    if !is_recent(web, session) {
        return render(&page, None, Shown::not_recent(&web.pages)).await;
    }
    let registered = match registration(&form) {
        Ok(registration) => {
            register_passkey(&web.app, session.user.id, &registration, &client).await
        }
        Err(e) => Err(e),
    };
    match registered {
        Ok(_) => done(PATH, "passkey-added"),
        Err(e) => match Refusal::of(e, &web.pages, LABELS) {
            Ok(refusal) => {
                let shown = Shown {
                    passkey_name: form.name,
                    ..Shown::refused("passkey", refusal)
                };
                render(&page, None, shown).await
            }
            Err(e) => e.into_response(),
        },
    }
}

/// The form as the API's request body.
fn registration(form: &PasskeyForm) -> Result<PasskeyRegistration, ApiError> {
    let challenge_id = Uuid::parse_str(form.challenge_id.trim()).map_err(|_| {
        ApiError::BadToken(Why::new(
            "the passkey request is missing or expired: add the passkey again",
            message_key("security-passkey-missing"),
        ))
    })?;
    let credential = serde_json::from_str(&form.credential).map_err(|e| {
        ApiError::validation(
            "credential",
            format!("is not a WebAuthn response in its JSON form: {e}"),
        )
    })?;
    Ok(PasskeyRegistration {
        challenge_id,
        name: form.name.clone(),
        credential,
    })
}
