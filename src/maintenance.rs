//! Periodic housekeeping: expired sessions and refresh tokens, stale login-throttle
//! records, expired second-factor challenges and passkey ceremonies, and the OpenID
//! provider's spent authorization codes and revoked client tokens past their expiry,
//! and federation's sign-ins that never came back and link offers never taken.
//! Runs every `CLEANUP_INTERVAL_SECONDS`; tests call [`purge`] directly.

use crate::state::AppState;

/// Deletes what has expired as of the application's clock; returns rows deleted.
pub async fn purge(state: &AppState) -> Result<u64, sqlx::Error> {
    let now = state.clock.now();
    let sessions = crate::auth::sessions::purge_expired(&state.db, now).await?;
    let throttles = crate::auth::lockout::purge(state.db.writer(), now).await?;
    let challenges = crate::auth::mfa::purge_expired(&state.db, now).await?;
    let codes = crate::oidc::codes::purge_expired(&state.db, now).await?;
    let revoked = crate::oidc::revocation::purge_expired(&state.db, now).await?;
    let federation = crate::federation::pending::purge(&state.db, now).await?;
    let total = sessions + throttles + challenges + codes + revoked + federation;
    if total > 0 {
        tracing::info!(
            sessions_and_tokens = sessions,
            login_throttles = throttles,
            second_factor_challenges = challenges,
            authorization_codes = codes,
            revoked_client_tokens = revoked,
            federation_sign_ins_and_link_offers = federation,
            "purged expired rows"
        );
    }
    Ok(total)
}
