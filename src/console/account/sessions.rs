//! `/account/sessions`: where the account is signed in, as `GET /api/v1/auth/sessions`
//! lists it (this browser marked), with a sign-out for each session
//! (`POST /account/sessions/{id}/sign-out`, as `DELETE /sessions/{id}`) and for every
//! session but this browser's (`POST /account/sessions/sign-out-others`, one such
//! revocation per session, each audited as the API audits it).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use minijinja::Value;
use minijinja::value::Serde;
use uuid::Uuid;

use super::security::problems::Refusal;
use crate::auth::devices::{revoke_own_session, sessions_of};
use crate::console::frame::{AccountPage, ConsoleForm, ReturnTo, SignedIn, done};
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::i18n::message_key;
use crate::web::Web;

pub const TEMPLATES: &[(&str, &str)] = &[(
    "console/account/sessions.html",
    include_str!("../../../templates/web/console/account/sessions.html"),
)];

const PATH: &str = "/account/sessions";

pub fn router() -> Router<Web> {
    Router::new()
        .route(PATH, get(show))
        .route("/account/sessions/sign-out-others", post(sign_out_others))
        .route(
            "/account/sessions/{session_id}/sign-out",
            post(sign_out_one),
        )
        .route_layer(Extension(ReturnTo(PATH)))
}

async fn render(page: &AccountPage, query: Option<&str>, refusal: Option<Refusal>) -> Response {
    let AccountPage { web, session, .. } = page;
    let sessions = match sessions_of(&web.app, session.user.id, session.session_id).await {
        Ok(sessions) => sessions,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let status = refusal.as_ref().map_or(StatusCode::OK, |r| r.status);
    page.frame().render(
        status,
        "console/account/sessions.html",
        "sessions",
        query,
        minijinja::context! {
            title => web.pages.tr("sessions-title"),
            sessions => Value::from(Serde(&sessions)),
            alert => refusal.and_then(|r| r.alert),
        },
    )
}

/// `GET /account/sessions`.
async fn show(page: AccountPage) -> Response {
    render(&page, page.query.as_deref(), None).await
}

/// `POST /account/sessions/{session_id}/sign-out`: that session ends at once (this
/// browser's too, if it is the one named).
async fn sign_out_one(
    client: ClientInfo,
    Path(session_id): Path<String>,
    page: AccountPage,
    _: ConsoleForm,
) -> Response {
    let AccountPage { web, session, .. } = &page;
    let revoked = match Uuid::parse_str(&session_id) {
        Ok(id) => revoke_own_session(&web.app, session.user.id, id, &client).await,
        Err(_) => Err(ApiError::not_found(
            "session",
            message_key("not-found-session"),
        )),
    };
    match revoked {
        Ok(()) => done(PATH, "signed-out"),
        Err(ApiError::NotFound(_)) => {
            let ended = web.pages.tr("sessions-ended-already");
            let refusal = Refusal::alert(StatusCode::NOT_FOUND, ended);
            render(&page, None, Some(refusal)).await
        }
        Err(e) => e.into_response(),
    }
}

/// `POST /account/sessions/sign-out-others`: every session but this browser's ends.
async fn sign_out_others(
    State(web): State<Web>,
    client: ClientInfo,
    SignedIn(session): SignedIn,
    _: ConsoleForm,
) -> Response {
    let others = match sessions_of(&web.app, session.user.id, session.session_id).await {
        Ok(sessions) => sessions,
        Err(e) => return ApiError::from(e).into_response(),
    };
    for other in others.iter().filter(|s| !s.current) {
        match revoke_own_session(&web.app, session.user.id, other.id, &client).await {
            // Ended meanwhile, or with the browser session it came from: nothing to do.
            Ok(()) | Err(ApiError::NotFound(_)) => {}
            Err(e) => return e.into_response(),
        }
    }
    done(PATH, "signed-out-others")
}
