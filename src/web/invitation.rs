//! The page the invitation link opens: `GET /accept-invitation?token=` shows a form for
//! the account's first password, posted to `POST /accept-invitation` (the policy
//! applies; mistakes are shown on the form), which calls the same function as
//! `POST /api/v1/auth/accept-invitation` and then sends the owner to sign in. A used or
//! expired link shows a page that says so.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::context;

use crate::i18n::message_key;

use super::mail_links::{Link, PasswordForm, PasswordPage, dead_link, forged_form, link_token};
use super::{Web, form};
use crate::auth::invitation::{accept_invitation, invitation_user};
use crate::http::ClientInfo;

pub fn router() -> Router<Web> {
    Router::new().route("/accept-invitation", get(invitation_form).post(accept))
}

const INVITATION: Link = Link {
    title: message_key("invitation-title"),
    dead: message_key("invitation-dead"),
    renew: ("/account/forgot-password", message_key("invitation-renew")),
};
const TEMPLATE: &str = "accept_invitation.html";

async fn invitation_form(
    State(web): State<Web>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (state, pages) = (&web.app, &*web.pages);
    let Some(token) = link_token(query.as_deref()) else {
        return dead_link(pages, &INVITATION);
    };
    match invitation_user(state, &token).await {
        Ok(Some(user)) => PasswordPage::new(&INVITATION, TEMPLATE, &token, &user.username).render(
            pages,
            &headers,
            &[],
            StatusCode::OK,
        ),
        Ok(None) => dead_link(pages, &INVITATION),
        Err(other) => other.into_response(),
    }
}

async fn accept(
    State(web): State<Web>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (state, pages) = (&web.app, &*web.pages);
    let Some(submitted) = form::<PasswordForm>(&headers, &body) else {
        return dead_link(pages, &INVITATION);
    };
    if !pages.form_is_genuine(&headers, &submitted.csrf_token) {
        return forged_form(pages);
    }
    let user = match invitation_user(state, &submitted.token).await {
        Ok(Some(user)) => user,
        Ok(None) => return dead_link(pages, &INVITATION),
        Err(other) => return other.into_response(),
    };
    let form = PasswordPage::new(&INVITATION, TEMPLATE, &submitted.token, &user.username);
    if submitted.new_password != submitted.confirm_password {
        return form.mismatch(pages, &headers);
    }
    match accept_invitation(state, &submitted.token, &submitted.new_password, &client).await {
        Ok(user) => pages.page(
            StatusCode::OK,
            "invitation_accepted.html",
            context! { title => pages.tr("invitation-done-title"), username => &user.username },
        ),
        Err(error) => form.refused(pages, &headers, error),
    }
}
