//! `POST /account/security/reauthenticate`: the password, and a second factor when the
//! account has one (a TOTP code, a recovery code, or a passkey through the page's
//! script), checked exactly as `POST /api/v1/auth/reauthenticate` checks them; the
//! browser's session gets a fresh `auth_time`, and the page's second-factor changes are
//! open again.

use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::problems::Refusal;
use super::{PATH, Shown, render};
use crate::auth::mfa::proof::Proof;
use crate::auth::mfa::recent::reauthenticate_session;
use crate::console::frame::{AccountPage, ConsoleForm, done};
use crate::error::{ApiError, Why};
use crate::http::ClientInfo;
use crate::i18n::message_key;

const LABELS: &[(&str, &str)] = &[
    ("password", message_key("security-label-your-password")),
    ("code", message_key("security-label-code")),
    ("recovery_code", message_key("security-label-recovery-code")),
    ("credential", message_key("security-label-passkey")),
];

#[derive(Deserialize)]
pub(super) struct ReauthForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    recovery_code: String,
    #[serde(default)]
    challenge_id: String,
    #[serde(default)]
    credential: String,
}

fn given(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The second factor the form gives, as the API reads its fields.
fn proof(form: &ReauthForm) -> Result<Option<Proof>, ApiError> {
    let challenge_id = match given(&form.challenge_id) {
        None => None,
        Some(text) => Some(Uuid::parse_str(&text).map_err(|_| {
            ApiError::BadToken(Why::new(
                "the passkey request expired; try the passkey again",
                message_key("security-passkey-expired"),
            ))
        })?),
    };
    let credential = match given(&form.credential) {
        None => None,
        Some(text) => Some(serde_json::from_str(&text).map_err(|e| {
            ApiError::validation(
                "credential",
                format!("is not a WebAuthn response in its JSON form: {e}"),
            )
        })?),
    };
    Proof::from_fields(
        given(&form.code),
        given(&form.recovery_code),
        challenge_id,
        credential,
    )
}

pub(super) async fn reauthenticate(
    client: ClientInfo,
    page: AccountPage,
    ConsoleForm(form): ConsoleForm<ReauthForm>,
) -> Response {
    let AccountPage { web, session, .. } = &page;
    let result = match proof(&form) {
        Ok(proof) => {
            reauthenticate_session(
                &web.app,
                &session.user,
                session.session_id,
                &form.password,
                proof,
                &client,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => done(PATH, "reauthenticated"),
        Err(e) => match Refusal::of(e, &web.pages, LABELS) {
            Ok(refusal) => {
                let shown = Shown::refused("reauthenticate", refusal);
                render(&page, None, shown).await
            }
            Err(e) => e.into_response(),
        },
    }
}
