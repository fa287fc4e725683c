//! The second factors' forms: TOTP set-up (`POST /account/security/totp`, the secret and
//! its QR code shown on the answer), its confirmation with a first code (`.../confirm`,
//! which shows the ten recovery codes once), its removal (`.../remove`), new recovery
//! codes (`/account/security/recovery-codes`, shown once) and the removal of a passkey.
//! Each calls what its `/api/v1/auth/mfa/...` endpoint calls and, like it, needs a recent
//! authentication: otherwise the page asks for one and nothing changes.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::problems::Refusal;
use super::{PATH, Shown, is_recent, render};
use crate::auth::mfa::{passkey_list, recovery, totp};
use crate::console::frame::{AccountPage, ConsoleForm, done};
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::i18n::message_key;

#[derive(Deserialize)]
pub(super) struct CodeForm {
    #[serde(default)]
    code: String,
}

/// The page answering a refusal of the form `form`.
async fn refused(
    page: &AccountPage,
    form: &'static str,
    error: ApiError,
    labels: &[(&str, &str)],
) -> Response {
    match Refusal::of(error, &page.web.pages, labels) {
        Ok(refusal) => render(page, None, Shown::refused(form, refusal)).await,
        Err(e) => e.into_response(),
    }
}

/// `POST /account/security/totp`: a new pending secret, shown with its QR code.
pub(super) async fn start_totp(page: AccountPage, _: ConsoleForm) -> Response {
    let AccountPage { web, session, .. } = &page;
    if !is_recent(web, session) {
        return render(&page, None, Shown::not_recent(&web.pages)).await;
    }
    match totp::start_enrolment(&web.app, &session.user).await {
        Ok(enrolment) => {
            let shown = Shown {
                enrolment: Some(enrolment),
                ..Shown::default()
            };
            render(&page, None, shown).await
        }
        Err(e) => refused(&page, "totp", e, &[]).await,
    }
}

/// `POST /account/security/totp/confirm`: the first code; the recovery codes, once.
pub(super) async fn confirm_totp(
    client: ClientInfo,
    page: AccountPage,
    ConsoleForm(form): ConsoleForm<CodeForm>,
) -> Response {
    let AccountPage { web, session, .. } = &page;
    if !is_recent(web, session) {
        return render(&page, None, Shown::not_recent(&web.pages)).await;
    }
    match totp::confirm_enrolment(&web.app, session.user.id, &form.code, &client).await {
        Ok(codes) => {
            let shown = Shown {
                recovery_codes: Some(codes),
                ..Shown::default()
            };
            render(&page, Some("done=totp-added"), shown).await
        }
        Err(e) => {
            let labels = [("code", message_key("security-label-code"))];
            let refusal = match Refusal::of(e, &web.pages, &labels) {
                Ok(refusal) => refusal,
                Err(e) => return e.into_response(),
            };
            // The set-up stays pending: show its secret again beside the refusal.
            let enrolment = match totp::pending_enrolment(&web.app, &session.user).await {
                Ok(enrolment) => enrolment,
                Err(e) => return e.into_response(),
            };
            let shown = Shown {
                enrolment,
                ..Shown::refused("totp", refusal)
            };
            render(&page, None, shown).await
        }
    }
}

/// `POST /account/security/totp/remove`.
pub(super) async fn remove_totp(client: ClientInfo, page: AccountPage, _: ConsoleForm) -> Response {
    let AccountPage { web, session, .. } = &page;
    if !is_recent(web, session) {
        return render(&page, None, Shown::not_recent(&web.pages)).await;
    }
    match totp::remove_authenticator(&web.app, session.user.id, &client).await {
        Ok(()) => done(PATH, "totp-removed"),
        Err(e) => refused(&page, "totp", e, &[]).await,
    }
}

/// `POST /account/security/recovery-codes`: ten new codes, shown once.
pub(super) async fn regenerate_codes(
    client: ClientInfo,
    page: AccountPage,
    _: ConsoleForm,
) -> Response {
    let AccountPage { web, session, .. } = &page;
    if !is_recent(web, session) {
        return render(&page, None, Shown::not_recent(&web.pages)).await;
    }
    match recovery::regenerate_codes(&web.app, session.user.id, &client).await {
        Ok(codes) => {
            let shown = Shown {
                recovery_codes: Some(codes),
                ..Shown::default()
            };
            render(&page, Some("done=recovery-codes"), shown).await
        }
        Err(e) => refused(&page, "recovery", e, &[]).await,
    }
}

/// `POST /account/security/passkeys/{passkey_id}/remove`.
pub(super) async fn remove_passkey(
    client: ClientInfo,
    Path(passkey_id): Path<String>,
    page: AccountPage,
    _: ConsoleForm,
) -> Response {
    let AccountPage { web, session, .. } = &page;
    if !is_recent(web, session) {
        return render(&page, None, Shown::not_recent(&web.pages)).await;
    }
    let removed = match Uuid::parse_str(&passkey_id) {
        Ok(id) => passkey_list::remove_passkey(&web.app, session.user.id, id, &client).await,
        Err(_) => Err(ApiError::not_found(
            "passkey",
            message_key("not-found-passkey"),
        )),
    };
    match removed {
        Ok(()) => done(PATH, "passkey-removed"),
        Err(ApiError::NotFound(_)) => {
            let refusal = Refusal::alert(
                StatusCode::NOT_FOUND,
                web.pages.tr("security-passkey-not-yours"),
            );
            render(&page, None, Shown::refused("passkey", refusal)).await
        }
        Err(e) => refused(&page, "passkey", e, &[]).await,
    }
}
