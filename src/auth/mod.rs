//! Authentication: registration, login (JSON and OAuth2 form), refresh-token rotation,
//! logout, sessions, password change and reset, email verification, and the signing
//! keys behind access tokens.

pub mod cache;
pub mod credentials;
pub mod email_tokens;
pub mod guard;
pub mod keys;
pub mod lockout;
pub mod login;
pub mod password;
pub mod register;
pub mod reset;
pub mod rotation;
pub mod sessions;
pub mod tokens;
pub mod verify;

use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::Problem;
use crate::http::AuthUser;
use crate::users::model::User;

/// Routes under `/api/v1/auth`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register::register))
        .routes(routes!(login::login))
        .routes(routes!(login::token))
        .routes(routes!(sessions::refresh))
        .routes(routes!(sessions::logout))
        .routes(routes!(sessions::logout_all))
        .routes(routes!(me))
        .routes(routes!(sessions::list_sessions))
        .routes(routes!(sessions::delete_session))
        .routes(routes!(credentials::change_password))
        .routes(routes!(reset::password_reset_request))
        .routes(routes!(reset::password_reset_confirm))
        .routes(routes!(verify::verify_email_request))
        .routes(routes!(verify::verify_email))
}

/// The authenticated caller's account
#[utoipa::path(get, path = "/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = User),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn me(caller: AuthUser) -> Json<User> {
    Json(caller.user)
}
