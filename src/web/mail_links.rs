//! The pages the links in Roster's mails open:
//!
//! - `GET /verify-email?token=`: verifies the address and says so;
//! - `GET /reset-password?token=`: a form for the new password, posted to
//!   `POST /reset-password` (the policy and history apply; mistakes are shown on the form);
//! - `GET /confirm-email-change?token=`: confirms the new address and says so;
//! - `GET /cancel-email-change?token=`: a one-button form, posted to
//!   `POST /cancel-email-change`. Cancelling takes a click rather than the link alone,
//!   because mail scanners open links by themselves and must not undo a change.
//!
//! Each calls the same function as its JSON endpoint (`/api/v1/auth/verify-email`,
//! `password-reset-confirm`, `email-change-confirm`, `email-change-cancel`). The
//! new-password form ([`PasswordPage`]) serves the invitation page too.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::context;
use serde::Deserialize;

use super::{Pages, Web, form};
use crate::coherence::CacheChanged;
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::i18n::{Arg, message_key};
use crate::users::email_change::{self, Cancelled};

pub fn router() -> Router<Web> {
    Router::new()
        .route("/verify-email", get(verify_email))
        .route("/reset-password", get(reset_form).post(reset_password))
        .route("/confirm-email-change", get(confirm_email_change))
        .route(
            "/cancel-email-change",
            get(cancel_form).post(cancel_email_change),
        )
}

/// The `token` of a link's query string.
pub(super) fn link_token(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
        .filter(|token| !token.is_empty() && token.len() <= 256)
}

/// A page a link opens: its title, what to do when the link no longer works, and the
/// page where that is done with the words of the link to it (keys of `pages.ftl`).
pub(super) struct Link {
    pub(super) title: &'static str,
    pub(super) dead: &'static str,
    pub(super) renew: (&'static str, &'static str),
}

/// Where a new verification mail, or a new address, is asked for.
const PROFILE: &str = "/account/profile";
/// Where a new password-reset mail is asked for.
const FORGOT_PASSWORD: &str = "/account/forgot-password";

const VERIFY: Link = Link {
    title: message_key("verify-title"),
    dead: message_key("verify-dead"),
    renew: (PROFILE, message_key("verify-renew")),
};
const RESET: Link = Link {
    title: message_key("reset-title"),
    dead: message_key("reset-dead"),
    renew: (FORGOT_PASSWORD, message_key("reset-renew")),
};
const CONFIRM: Link = Link {
    title: message_key("confirm-change-title"),
    dead: message_key("confirm-change-dead"),
    renew: (PROFILE, message_key("confirm-change-renew")),
};
const CANCEL: Link = Link {
    title: message_key("cancel-change-title"),
    dead: message_key("cancel-change-dead"),
    renew: (FORGOT_PASSWORD, message_key("cancel-change-renew")),
};

/// The page of a dead link: what happened, and a link to where a new one is sent.
pub(super) fn dead_link(pages: &Pages, link: &Link) -> Response {
    let (href, words) = link.renew;
    pages.message_leading(
        StatusCode::BAD_REQUEST,
        &pages.tr(link.title),
        "error",
        &format!("{} {}", pages.tr("link-dead"), pages.tr(link.dead)),
        None,
        Some((href, &pages.tr(words))),
    )
}

/// A page that says the link did its work, with the way to the account.
fn done_page(pages: &Pages, title: &str, message: &str) -> Response {
    pages.message_leading(
        StatusCode::OK,
        title,
        "success",
        message,
        None,
        Some(("/account", &pages.tr("link-to-account"))),
    )
}

pub(super) fn forged_form(pages: &Pages) -> Response {
    pages.message(
        StatusCode::FORBIDDEN,
        &pages.tr("link-form-forged-title"),
        "error",
        &pages.tr("link-form-forged"),
        None,
    )
}

/// What a page shows for an error of the function behind it.
fn failure_page(pages: &Pages, link: &Link, error: ApiError) -> Response {
    let title = pages.tr(link.title);
    match error {
        ApiError::BadToken(_) => dead_link(pages, link),
        ApiError::Conflict { .. } => pages.message(
            StatusCode::CONFLICT,
            &title,
            "error",
            &pages.tr("link-taken"),
            None,
        ),
        ApiError::TooManyRequests {
            retry_after_secs, ..
        } => {
            let mut response = pages.message(
                StatusCode::TOO_MANY_REQUESTS,
                &title,
                "error",
                &pages.tr("link-too-many"),
                None,
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        other => other.into_response(),
    }
}

/// A link's `GET` page that changed the account: every instance sees the change before the
/// page is answered, as after any write.
fn changed_the_account(mut response: Response) -> Response {
    response.extensions_mut().insert(CacheChanged);
    response
}

fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

async fn verify_email(
    State(web): State<Web>,
    client: ClientInfo,
    RawQuery(query): RawQuery,
) -> Response {
    let (state, pages) = (&web.app, &*web.pages);
    let Some(token) = link_token(query.as_deref()) else {
        return dead_link(pages, &VERIFY);
    };
    match crate::auth::verify::verify_email_token(state, &token, &client).await {
        Ok(()) => changed_the_account(done_page(
            pages,
            &pages.tr("verify-done-title"),
            &pages.tr("verify-done"),
        )),
        Err(error) => failure_page(pages, &VERIFY, error),
    }
}

async fn reset_form(
    State(web): State<Web>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (state, pages) = (&web.app, &*web.pages);
    let Some(token) = link_token(query.as_deref()) else {
        return dead_link(pages, &RESET);
    };
    match crate::auth::reset::reset_token_user(state, &token).await {
        Ok(Some(user)) => {
            let form = PasswordPage::new(&RESET, "reset_password.html", &token, &user.username);
            form.render(pages, &headers, &[], StatusCode::OK)
        }
        Ok(None) => dead_link(pages, &RESET),
        Err(other) => other.into_response(),
    }
}

/// A page with a form for a new password, opened by a mailed link (reset, invitation).
pub(super) struct PasswordPage<'a> {
    link: &'a Link,
    template: &'static str,
    token: &'a str,
    username: &'a str,
}

impl<'a> PasswordPage<'a> {
    pub(super) fn new(
        link: &'a Link,
        template: &'static str,
        token: &'a str,
        username: &'a str,
    ) -> PasswordPage<'a> {
        PasswordPage {
            link,
            template,
            token,
            username,
        }
    }

    /// The form, with `errors` shown above it and a fresh CSRF token.
    pub(super) fn render(
        &self,
        pages: &Pages,
        headers: &HeaderMap,
        errors: &[String],
        status: StatusCode,
    ) -> Response {
        let csrf = pages.form_token(headers);
        let page = pages.page(
            status,
            self.template,
            context! {
                title => pages.tr(self.link.title),
                username => self.username,
                token => self.token,
                csrf_token => &csrf.value,
                errors => errors.to_vec(),
            },
        );
        with_cookie(page, csrf.set_cookie)
    }

    /// The form again (422) with the password's validation failures, or the page for
    /// another failure of the function behind it.
    pub(super) fn refused(&self, pages: &Pages, headers: &HeaderMap, error: ApiError) -> Response {
        match error {
            ApiError::Validation(errors) => {
                let messages: Vec<String> =
                    errors.iter().map(|e| password_problem(pages, e)).collect();
                self.render(pages, headers, &messages, StatusCode::UNPROCESSABLE_ENTITY)
            }
            error => failure_page(pages, self.link, error),
        }
    }

    /// The form again (422) when the two passwords differ.
    pub(super) fn mismatch(&self, pages: &Pages, headers: &HeaderMap) -> Response {
        let errors = [pages.tr("password-mismatch")];
        self.render(pages, headers, &errors, StatusCode::UNPROCESSABLE_ENTITY)
    }
}

/// A refused new password as a sentence of the page's language: the message the rule's
/// key names (`password-*` of `pages.ftl`), or the rule's own words.
pub(super) fn password_problem(pages: &Pages, error: &crate::error::FieldError) -> String {
    pages.field_words(error).unwrap_or_else(|| {
        pages.tr_with(
            "password-other",
            &[("problem", Arg::from(error.message.trim_end_matches('.')))],
        )
    })
}

/// What a new-password form posts.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordForm {
    #[serde(default)]
    pub(super) token: String,
    #[serde(default)]
    pub(super) csrf_token: String,
    #[serde(default)]
    pub(super) new_password: String,
    #[serde(default)]
    pub(super) confirm_password: String,
}

async fn reset_password(
    State(web): State<Web>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (state, pages) = (&web.app, &*web.pages);
    let Some(submitted) = form::<PasswordForm>(&headers, &body) else {
        return pages.message(
            StatusCode::BAD_REQUEST,
            &pages.tr(RESET.title),
            "error",
            &pages.tr("link-form-unreadable"),
            None,
        );
    };
    if !pages.form_is_genuine(&headers, &submitted.csrf_token) {
        return forged_form(pages);
    }
    let user = match crate::auth::reset::reset_token_user(state, &submitted.token).await {
        Ok(Some(user)) => user,
        Ok(None) => return dead_link(pages, &RESET),
        Err(other) => return other.into_response(),
    };
    let form = PasswordPage::new(
        &RESET,
        "reset_password.html",
        &submitted.token,
        &user.username,
    );
    if submitted.new_password != submitted.confirm_password {
        return form.mismatch(pages, &headers);
    }
    let outcome = crate::auth::reset::confirm_reset(
        state,
        &submitted.token,
        &submitted.new_password,
        &client,
    )
    .await;
    match outcome {
        Ok(()) => pages.message_leading(
            StatusCode::OK,
            &pages.tr("reset-done-title"),
            "success",
            &pages.tr("reset-done"),
            None,
            Some(("/account", &pages.tr("reset-sign-in"))),
        ),
        Err(error) => form.refused(pages, &headers, error),
    }
}

async fn confirm_email_change(
    State(web): State<Web>,
    client: ClientInfo,
    RawQuery(query): RawQuery,
) -> Response {
    let (state, pages) = (&web.app, &*web.pages);
    let Some(token) = link_token(query.as_deref()) else {
        return dead_link(pages, &CONFIRM);
    };
    match email_change::confirm(state, &token, &client).await {
        Ok(user) => changed_the_account(done_page(
            pages,
            &pages.tr("confirm-change-done-title"),
            &pages.tr_with("confirm-change-done", &[("email", Arg::from(user.email))]),
        )),
        Err(error) => failure_page(pages, &CONFIRM, error),
    }
}

async fn cancel_form(
    State(web): State<Web>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (state, pages) = (&web.app, &*web.pages);
    let Some(token) = link_token(query.as_deref()) else {
        return dead_link(pages, &CANCEL);
    };
    match email_change::cancel_token_is_live(state, &token).await {
        Ok(true) => {
            let csrf = pages.form_token(&headers);
            let page = pages.page(
                StatusCode::OK,
                "cancel_email_change.html",
                context! { title => pages.tr(CANCEL.title), token => &token, csrf_token => &csrf.value },
            );
            with_cookie(page, csrf.set_cookie)
        }
        Ok(false) => dead_link(pages, &CANCEL),
        Err(other) => other.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf_token: String,
}

async fn cancel_email_change(
    State(web): State<Web>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (state, pages) = (&web.app, &*web.pages);
    let Some(submitted) = form::<CancelForm>(&headers, &body) else {
        return dead_link(pages, &CANCEL);
    };
    if !pages.form_is_genuine(&headers, &submitted.csrf_token) {
        return forged_form(pages);
    }
    match email_change::cancel(state, &submitted.token, &client).await {
        Ok(Cancelled::Withdrawn) => pages.message(
            StatusCode::OK,
            &pages.tr("cancel-change-withdrawn-title"),
            "success",
            &pages.tr("cancel-change-withdrawn"),
            None,
        ),
        Ok(Cancelled::Undone { .. }) => pages.message_leading(
            StatusCode::OK,
            &pages.tr("cancel-change-undone-title"),
            "success",
            &pages.tr("cancel-change-undone"),
            Some(&pages.tr("cancel-change-undone-next")),
            Some((FORGOT_PASSWORD, &pages.tr("cancel-change-renew"))),
        ),
        Err(error) => failure_page(pages, &CANCEL, error),
    }
}
