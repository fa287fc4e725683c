//! Administration under `/api/v1/admin`: accounts made with an invitation
//! (`invitations`), account role, tier and status, reset mails and session revocation
//! (`accounts`), and the audit trail (`audit_log`). Every endpoint needs an
//! administrator's token (401 without a token, 403 for other callers). Also the first
//! administrator: made by `create-admin` or the one-time setup page (`setup`), both
//! through `first`.

pub mod accounts;
pub mod audit_log;
pub mod first;
pub mod invitations;
pub mod setup;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invitations::create_user))
        .routes(routes!(accounts::patch_user))
        .routes(routes!(accounts::send_password_reset))
        .routes(routes!(accounts::revoke_sessions))
        .routes(routes!(accounts::list_sessions))
        .routes(routes!(accounts::reset_mfa))
        .routes(routes!(audit_log::list_audit_events))
}
