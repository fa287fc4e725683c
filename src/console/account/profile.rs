//! `/account/profile`: the account's own fields and the extended profile, the membership
//! tier, and a new verification mail.
//!
//! - `GET /account/profile`: both forms, the tier, and (while the address is not
//!   verified) the button that sends a new verification mail.
//! - `POST /account/profile/account`: username, full name and email, through
//!   `PUT /api/v1/users/me`'s function (an email change needs the current password and
//!   stays pending until confirmed through the link mailed to the new address).
//! - `POST /account/profile`: the extended profile, through `PUT /me/profile`'s function;
//!   only the fields that differ from what is stored are sent, an emptied field is cleared.
//! - `POST /account/profile/upgrade`, `/downgrade`: as `POST /me/upgrade`, `/me/downgrade`.
//! - `POST /account/verify-email-request`: as `POST /api/v1/auth/verify-email-request`.
//!
//! Mistakes are shown next to their fields (422, 409 for a taken username or address,
//! 400 for a wrong password), with what was typed kept. The helpers that turn an
//! [`ApiError`] into those answers are shared with the other account forms.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use minijinja::context;

use crate::accounts::model::Tier;
use crate::auth::verify::request_verification_email;
use crate::config::Features;
use crate::console::frame::{AccountPage, ConsoleForm, ReturnTo, SignedIn, done};
use crate::error::{ApiError, FieldError};
use crate::http::ClientInfo;
use crate::i18n::message_key;
use crate::oidc::browser::BrowserSession;
use crate::users::account_update::update_and_commit;
use crate::users::premium::change_own_tier;
use crate::users::profile::profile_of;
use crate::users::profile_update::update_profile;
use crate::web::{Pages, Web};

pub const TEMPLATES: &[(&str, &str)] = &[(
    "console/account/profile.html",
    include_str!("../../../templates/web/console/account/profile.html"),
)];

const PATH: &str = "/account/profile";

mod forms;

use self::forms::{ACCOUNT_FIELDS, AccountForm, PROFILE_FIELDS, ProfileForm};

/// The page's routes: the extended profile's form only with the profiles module, the
/// tier's buttons only with the premium module (`FEATURES`).
pub fn router(features: &Features) -> Router<Web> {
    let page = if features.profiles {
        get(show).post(save_profile)
    } else {
        get(show)
    };
    let mut router = Router::new()
        .route(PATH, page)
        .route("/account/profile/account", post(save_account))
        .route("/account/verify-email-request", post(verification_mail));
    if features.premium {
        router = router
            .route("/account/profile/upgrade", post(upgrade))
            .route("/account/profile/downgrade", post(downgrade));
    }
    router.route_layer(Extension(ReturnTo(PATH)))
}

/// How a form's submission was refused.
pub(super) enum Refused {
    /// Mistakes to show next to their fields, with the page's status.
    Fields(StatusCode, Vec<FieldError>),
    /// A whole answer (too many attempts, an internal error).
    Page(Response),
}

/// Sorts an error of a domain function into mistakes on the form or a whole answer.
pub(super) fn refused(pages: &Pages, error: ApiError) -> Refused {
    match error {
        ApiError::Validation(errors) => Refused::Fields(StatusCode::UNPROCESSABLE_ENTITY, errors),
        ApiError::WrongPassword(field) => Refused::Fields(
            StatusCode::BAD_REQUEST,
            vec![
                FieldError::new(field, "is not correct")
                    .with_words(message_key("console-account-wrong-password"), &[]),
            ],
        ),
        ApiError::Conflict { why, field } => Refused::Fields(
            StatusCode::CONFLICT,
            vec![why.at(field.unwrap_or_else(|| "form".into()))],
        ),
        ApiError::TooManyRequests {
            retry_after_secs, ..
        } => Refused::Page(too_many_attempts(pages, retry_after_secs)),
        other => Refused::Page(other.into_response()),
    }
}

/// The 429 page, with `Retry-After`.
pub(super) fn too_many_attempts(pages: &Pages, retry_after_secs: u64) -> Response {
    let mut response = pages.message(
        StatusCode::TOO_MANY_REQUESTS,
        &pages.tr("console-account-too-many-attempts-title"),
        "error",
        &pages.tr("console-account-too-many-attempts"),
        Some(&pages.tr("console-account-too-many-attempts-next")),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

/// The mistakes of a form by field name (every name in `fields` present, empty when the
/// field is fine), and those of no field, for the templates: in the request's language
/// when the rule broken has words (`FieldError::words`), else as the API says them.
pub(super) fn mistakes(
    pages: &Pages,
    fields: &[&str],
    errors: &[FieldError],
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut by_field: BTreeMap<String, String> = fields
        .iter()
        .map(|f| ((*f).to_owned(), String::new()))
        .collect();
    let mut general = Vec::new();
    for error in errors {
        let message = pages
            .field_words(error)
            .unwrap_or_else(|| sentence(&error.message));
        match by_field.get_mut(&error.field) {
            Some(text) if text.is_empty() => *text = message,
            Some(text) => {
                text.push(' ');
                text.push_str(&message);
            }
            None => general.push(message),
        }
    }
    (by_field, general)
}

/// `must be 3 to 32 characters` -> `Must be 3 to 32 characters.`
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut text: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

/// What the page shows: the two forms (with what was typed and its mistakes).
struct Shown {
    status: StatusCode,
    account: AccountForm,
    account_errors: Vec<FieldError>,
    profile: ProfileForm,
    profile_errors: Vec<FieldError>,
}

fn render(page: &AccountPage, query: Option<&str>, shown: Shown) -> Response {
    let AccountPage { web, session, .. } = page;
    let (account_errors, account_general) =
        mistakes(&web.pages, ACCOUNT_FIELDS, &shown.account_errors);
    let (profile_errors, profile_general) =
        mistakes(&web.pages, PROFILE_FIELDS, &shown.profile_errors);
    page.frame().render(
        shown.status,
        "console/account/profile.html",
        "profile",
        query,
        context! {
            title => web.pages.tr("profile-title"),
            account => minijinja::Value::from(minijinja::value::Serde(&shown.account)),
            account_errors => account_errors,
            account_general => account_general,
            profile => minijinja::Value::from(minijinja::value::Serde(&shown.profile)),
            profile_errors => profile_errors,
            profile_general => profile_general,
            premium => session.user.tier == Tier::Premium,
        },
    )
}

async fn stored_profile(web: &Web, session: &BrowserSession) -> Result<ProfileForm, Response> {
    profile_of(&web.app, session.user.id)
        .await
        .map(|profile| ProfileForm::of(&profile))
        .map_err(IntoResponse::into_response)
}

/// `GET /account/profile`.
async fn show(page: AccountPage) -> Response {
    let AccountPage { web, session, .. } = &page;
    let profile = match stored_profile(web, session).await {
        Ok(profile) => profile,
        Err(response) => return response,
    };
    let shown = Shown {
        status: StatusCode::OK,
        account: AccountForm::of(&session.user),
        account_errors: Vec::new(),
        profile,
        profile_errors: Vec::new(),
    };
    render(&page, page.query.as_deref(), shown)
}

/// `POST /account/profile/account`: username, full name, email.
async fn save_account(
    client: ClientInfo,
    page: AccountPage,
    ConsoleForm(form): ConsoleForm<AccountForm>,
) -> Response {
    let AccountPage { web, session, .. } = &page;
    let user = &session.user;
    let update = form.update_for(user);
    match update_and_commit(&web.app, user, user.id, &client, &update).await {
        Ok(updated) => {
            let key =
                if updated.pending_email.is_some() && updated.pending_email != user.pending_email {
                    "email-pending"
                } else if user.pending_email.is_some() && updated.pending_email.is_none() {
                    "email-kept"
                } else {
                    "account-saved"
                };
            done(PATH, key)
        }
        Err(error) => match refused(&web.pages, error) {
            Refused::Fields(status, errors) => {
                let profile = match stored_profile(web, session).await {
                    Ok(profile) => profile,
                    Err(response) => return response,
                };
                let shown = Shown {
                    status,
                    account: form,
                    account_errors: errors,
                    profile,
                    profile_errors: Vec::new(),
                };
                render(&page, None, shown)
            }
            Refused::Page(response) => response,
        },
    }
}

/// `POST /account/profile`: the extended profile.
async fn save_profile(
    client: ClientInfo,
    page: AccountPage,
    ConsoleForm(form): ConsoleForm<ProfileForm>,
) -> Response {
    let AccountPage { web, session, .. } = &page;
    let stored = match stored_profile(web, session).await {
        Ok(profile) => profile,
        Err(response) => return response,
    };
    let update = form.update_from(&stored);
    match update_profile(&web.app, session.user.id, &client, &update).await {
        Ok(_) => done(PATH, "profile-saved"),
        Err(error) => match refused(&web.pages, error) {
            Refused::Fields(status, errors) => {
                let shown = Shown {
                    status,
                    account: AccountForm::of(&session.user),
                    account_errors: Vec::new(),
                    profile: form,
                    profile_errors: errors,
                };
                render(&page, None, shown)
            }
            Refused::Page(response) => response,
        },
    }
}

/// Changes the account's tier to `tier` (the upgrade and downgrade buttons).
async fn change_tier(
    web: &Web,
    client: &ClientInfo,
    session: &BrowserSession,
    tier: Tier,
) -> Response {
    match change_own_tier(&web.app, session.user.id, client, tier).await {
        Ok(_) if tier == Tier::Premium => done(PATH, "tier-premium"),
        Ok(_) => done(PATH, "tier-basic"),
        Err(error) => error.into_response(),
    }
}

/// `POST /account/profile/upgrade`.
async fn upgrade(
    State(web): State<Web>,
    client: ClientInfo,
    SignedIn(session): SignedIn,
    _: ConsoleForm,
) -> Response {
    change_tier(&web, &client, &session, Tier::Premium).await
}

/// `POST /account/profile/downgrade`.
async fn downgrade(
    State(web): State<Web>,
    client: ClientInfo,
    SignedIn(session): SignedIn,
    _: ConsoleForm,
) -> Response {
    change_tier(&web, &client, &session, Tier::Basic).await
}

/// `POST /account/verify-email-request`: a new verification mail.
async fn verification_mail(
    State(web): State<Web>,
    client: ClientInfo,
    SignedIn(session): SignedIn,
    _: ConsoleForm,
) -> Response {
    match request_verification_email(&web.app, &session.user, &client).await {
        Ok(()) => done(PATH, "verification-sent"),
        Err(ApiError::Conflict { .. }) => done(PATH, "already-verified"),
        Err(ApiError::TooManyRequests {
            retry_after_secs, ..
        }) => too_many_attempts(&web.pages, retry_after_secs),
        Err(error) => error.into_response(),
    }
}
