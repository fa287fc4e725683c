//! `/account/security`: the password and the second factors, in the browser; each form
//! calls what the JSON endpoint it mirrors calls (`/api/v1/auth/change-password`,
//! `/mfa/...`, `/reauthenticate`).
//!
//! - this file: the page itself (`GET /account/security`), drawn with what
//!   `GET /api/v1/auth/mfa` reports, and the "recent" rule of second-factor changes for a
//!   browser session (its stored `auth_time` within `REAUTH_MAX_AGE_MINUTES`).
//! - [`password`]: changing the password.
//! - [`reauth`]: proving who one is again, which renews the browser session's
//!   authentication as `POST /reauthenticate` does.
//! - [`factors`]: TOTP set-up, confirmation and removal, recovery codes, passkey removal.
//! - [`identities`]: the accounts at other providers that sign the user in; linking one
//!   more (after a recent sign-in) and removing one.
//! - [`passkey`]: adding a passkey, with the page's script
//!   (`/assets/passkey-register.js`), the one part that needs JavaScript.
//! - [`problems`]: a refused form as the console pages show it.
//!
//! The page is served with this origin's scripts allowed (the passkey ceremonies); every
//! other policy of the console's pages stays.

mod factors;
mod identities;
mod passkey;
mod password;
pub(super) mod problems;
mod reauth;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use minijinja::Value;
use minijinja::value::Serde;

use crate::auth::mfa::totp::TotpEnrolment;
use crate::auth::mfa::{self, passkey_list, rules};
use crate::console::frame::{AccountPage, ReturnTo};
use crate::error::ApiError;
use crate::oidc::browser::BrowserSession;
use crate::web::{Pages, Web};
use problems::Refusal;

pub const TEMPLATES: &[(&str, &str)] = &[(
    "console/account/security.html",
    include_str!("../../../templates/web/console/account/security.html"),
)];

const PATH: &str = "/account/security";

pub fn router() -> Router<Web> {
    Router::new()
        .route(PATH, get(show))
        .route("/account/security/password", post(password::change))
        .route(
            "/account/security/reauthenticate",
            post(reauth::reauthenticate),
        )
        .route("/account/security/totp", post(factors::start_totp))
        .route(
            "/account/security/totp/confirm",
            post(factors::confirm_totp),
        )
        .route("/account/security/totp/remove", post(factors::remove_totp))
        .route(
            "/account/security/recovery-codes",
            post(factors::regenerate_codes),
        )
        .route(
            "/account/security/passkeys/{passkey_id}/remove",
            post(factors::remove_passkey),
        )
        .route("/account/security/passkey-options", post(passkey::options))
        .route("/account/security/passkeys", post(passkey::register))
        .route("/account/security/identities/link", post(identities::link))
        .route(
            "/account/security/identities/{identity_id}/remove",
            post(identities::remove),
        )
        .route_layer(Extension(ReturnTo(PATH)))
}

/// Whether the browser's session proved its user recently enough for a change of the
/// second factors (the rule the API applies to a token's `auth_time`).
fn is_recent(web: &Web, session: &BrowserSession) -> bool {
    rules::is_recent(&web.app, Some(session.authentication.time.timestamp()))
}

/// What one answer of the page shows besides the account's factors.
#[derive(Default)]
struct Shown {
    /// The form a refusal belongs to: `password`, `reauthenticate`, `totp`, `recovery`,
    /// `passkey`, `identities`; empty when nothing was refused.
    form: &'static str,
    refusal: Refusal,
    /// A TOTP set-up waiting for its first code.
    enrolment: Option<TotpEnrolment>,
    /// Recovery codes just made, shown this once.
    recovery_codes: Option<Vec<String>>,
    /// The passkey name typed, kept after a refusal.
    passkey_name: String,
}

impl Shown {
    fn refused(form: &'static str, refusal: Refusal) -> Shown {
        Shown {
            form,
            refusal,
            ..Shown::default()
        }
    }

    /// The answer of a second-factor change asked for by a session that is not recent:
    /// the page with the re-authentication form, nothing changed.
    fn not_recent(pages: &Pages) -> Shown {
        Shown::refused(
            "reauthenticate",
            Refusal::alert(StatusCode::FORBIDDEN, pages.tr("security-not-recent")),
        )
    }
}

/// The QR code of an `otpauth://` URI as inline SVG markup (no `data:` image, which the
/// pages' policy refuses), labelled `label` for assistive technology; `None` if it cannot
/// be drawn.
fn qr_code(uri: &str, label: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    let start = svg.find("<svg")?;
    Some(svg[start..].replacen(
        "<svg ",
        &format!(
            "<svg role=\"img\" aria-label=\"{}\" class=\"qr-code\" ",
            crate::i18n::functions::escape_html(label)
        ),
        1,
    ))
}

/// `GET /account/security`.
async fn show(page: AccountPage) -> Response {
    render(&page, page.query.as_deref(), Shown::default()).await
}

/// The page, with `shown`, under the status of its refusal (200 without one).
async fn render(page: &AccountPage, query: Option<&str>, shown: Shown) -> Response {
    let AccountPage { web, session, .. } = page;
    let user_id = session.user.id;
    let factors = match mfa::factors(&web.app.db, user_id).await {
        Ok(factors) => factors,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let passkeys = match passkey_list::list(&web.app.db, user_id).await {
        Ok(passkeys) => passkeys,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (identities, linkable) = match identities::linked(page).await {
        Ok(linked) => linked,
        Err(e) => return e.into_response(),
    };
    let reauth_minutes = web.app.config.mfa.reauth_max_age.as_secs() / 60;
    let enrolment = shown.enrolment.as_ref().map(|e| {
        minijinja::context! {
            secret => e.secret.clone(),
            otpauth_uri => e.otpauth_uri.clone(),
            qr_svg => qr_code(&e.otpauth_uri, &web.pages.tr("security-qr-label"))
                .map(Value::from_safe_string),
        }
    });
    let status = if shown.form.is_empty() {
        StatusCode::OK
    } else {
        shown.refusal.status
    };
    let ctx = minijinja::context! {
        title => web.pages.tr("security-title"),
        recent => is_recent(web, session),
        reauth_minutes => reauth_minutes,
        totp => factors.totp,
        has_factor => factors.any(),
        recovery_codes_left => factors.recovery_codes_left,
        passkeys => Value::from(Serde(&passkeys)),
        identities => Value::from(Serde(&identities)),
        linkable => Value::from(Serde(&linkable)),
        form => shown.form,
        errors => Value::from(Serde(&shown.refusal.errors)),
        alert => shown.refusal.alert.clone(),
        enrolment => enrolment,
        recovery_codes => shown.recovery_codes.clone(),
        passkey_name => shown.passkey_name.clone(),
    };
    let response = page.frame().render(
        status,
        "console/account/security.html",
        "security",
        query,
        ctx,
    );
    shown.refusal.finish(response)
}
