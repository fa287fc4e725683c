//! Authentication: registration, login (JSON and OAuth2 form), refresh-token rotation,
//! logout, sessions, password change and reset, invitations, email verification, and the signing
//! keys behind access tokens.

pub mod authenticate;
pub mod credentials;
pub mod devices;
pub mod email_tokens;
pub mod guard;
pub mod invitation;
pub mod lockout;
pub mod login;
pub mod mfa;
pub mod password_change;
pub mod refresh;
pub mod register;
pub mod reset;
pub mod sessions;
pub mod verify;

use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::model::User;
use crate::http::AuthUser;
use crate::state::AppState;

/// Routes under `/api/v1/auth`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register::register))
        .routes(routes!(login::login))
        .routes(routes!(login::token))
        .routes(routes!(refresh::refresh))
        .routes(routes!(devices::logout))
        .routes(routes!(devices::logout_all))
        .routes(routes!(me))
        .routes(routes!(devices::list_sessions))
        .routes(routes!(devices::delete_session))
        .routes(routes!(password_change::change_password))
        .routes(routes!(reset::password_reset_request))
        .routes(routes!(reset::password_reset_confirm))
        .routes(routes!(invitation::accept_invitation_endpoint))
        .routes(routes!(verify::verify_email_request))
        .routes(routes!(verify::verify_email))
        .merge(mfa::router())
}

/// The authenticated caller's account
#[utoipa::path(get, path = "/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = User),
    ))]
pub async fn me(caller: AuthUser) -> Json<User> {
    Json(caller.user)
}
