//! Periodic housekeeping: expired sessions and refresh tokens, stale login-throttle
//! records, expired second-factor challenges and passkey ceremonies. Runs every `CLEANUP_INTERVAL_SECONDS`; tests call [`purge`] directly.

use crate::state::AppState;

/// Deletes what has expired as of the application's clock; returns rows deleted.
pub async fn purge(state: &AppState) -> Result<u64, sqlx::Error> {
    let now = state.clock.now();
    let sessions = crate::auth::sessions::purge_expired(&state.db, now).await?;
    let throttles = crate::auth::lockout::purge(state.db.writer(), now).await?;
    let challenges = crate::auth::mfa::purge_expired(&state.db, now).await?;
    if sessions + throttles + challenges > 0 {
        tracing::info!(
            sessions_and_tokens = sessions,
            login_throttles = throttles,
            second_factor_challenges = challenges,
            "purged expired rows"
        );
    }
    Ok(sessions + throttles + challenges)
}
