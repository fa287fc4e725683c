//! Periodic housekeeping: expired sessions and refresh tokens, stale login-throttle
//! records, expired second-factor challenges and passkey ceremonies, and the OpenID
//! provider's spent authorization codes, revoked client tokens and abandoned consent pages
//! past their expiry, federation's sign-ins that never came back and link offers never
//! taken, and events older than `EVENT_RETENTION_DAYS` with their webhook deliveries,
//! except those a consumer still needs: events the NATS channel (when `NATS_URL` is set)
//! has not had acknowledged, events not yet fanned out to every webhook, and events with
//! a webhook delivery still waiting (and every event after such a one).
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
    let consents = crate::oidc::consent::purge_expired(&state.db, now).await?;
    let federation = crate::federation::pending::purge(&state.db, now).await?;
    let (deliveries, events) = purge_events(state, now).await?;
    let total = sessions
        + throttles
        + challenges
        + codes
        + revoked
        + consents
        + federation
        + deliveries
        + events;
    if total > 0 {
        tracing::info!(
            sessions_and_tokens = sessions,
            login_throttles = throttles,
            second_factor_challenges = challenges,
            authorization_codes = codes,
            revoked_client_tokens = revoked,
            pending_consents = consents,
            federation_sign_ins_and_link_offers = federation,
            webhook_deliveries = deliveries,
            events,
            "purged expired rows"
        );
    }
    Ok(total)
}

/// Deletes the events older than the retention that every consumer is done with, and
/// their webhook deliveries (which go with them), in one transaction; returns how many
/// deliveries and events.
async fn purge_events(
    state: &AppState,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(u64, u64), sqlx::Error> {
    let cutoff = now - state.config.events.retention;
    let mut tx = state.db.begin().await?;
    let webhooks = crate::webhook_delivery::queue::done_through(&mut tx).await?;
    let nats = match state.config.nats.url {
        Some(_) => {
            Some(crate::nats::channel::published_through(&mut tx, crate::nats::CHANNEL).await?)
        }
        None => None,
    };
    let through = webhooks.into_iter().chain(nats).min().unwrap_or(i64::MAX);
    let deliveries = crate::webhook_delivery::queue::purge_before(&mut tx, cutoff, through).await?;
    let events = crate::events::log::purge_before(&mut tx, cutoff, through).await?;
    tx.commit().await?;
    Ok((deliveries, events))
}
