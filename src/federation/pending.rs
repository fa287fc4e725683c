//! Sign-ins sent to a provider and not back yet (`federation_logins`). The `state`
//! sent to the provider and the value of the browser's HttpOnly cookie are two
//! different random values; only their SHA-256 is stored, so the return is accepted
//! only in the browser that left, once. The nonce and the PKCE verifier are sealed.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::{Cipher, random_token, token_hash};
use crate::db::Db;
use crate::on_exec;

/// How long a user may take at the provider.
pub const LIFETIME: Duration = Duration::minutes(10);

/// What is sealed with a pending sign-in.
#[derive(Serialize, Deserialize)]
pub struct Secrets {
    pub nonce: String,
    pub pkce_verifier: String,
}

/// A sign-in that came back and matched its row (which is gone now).
pub struct PendingLogin {
    pub provider_id: Uuid,
    pub browser_hash: Vec<u8>,
    pub secrets: Secrets,
    pub return_to: String,
    pub expires_at: DateTime<Utc>,
    /// Set when a signed-in user left to link an identity to their account (from
    /// `/account/security`) rather than to sign in.
    pub link_user_id: Option<Uuid>,
}

/// The values handed out for a new pending sign-in.
pub struct Departure {
    /// Sent to the provider as `state`.
    pub state: String,
    /// The browser's cookie value.
    pub browser_token: String,
}

fn context(state_hash: &[u8]) -> Vec<u8> {
    let mut context = b"federation_logins:".to_vec();
    context.extend_from_slice(state_hash);
    context
}

/// Stores a pending sign-in for `provider_id` (a link to the account `link_user_id`
/// when given).
pub async fn create(
    db: &Db,
    cipher: &Cipher,
    provider_id: Uuid,
    secrets: &Secrets,
    return_to: &str,
    link_user_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> anyhow::Result<Departure> {
    let departure = Departure {
        state: random_token(),
        browser_token: random_token(),
    };
    let state_hash = token_hash(&departure.state);
    let sealed = cipher.seal(&serde_json::to_vec(secrets)?, &context(&state_hash));
    on_exec!(db.writer(), c => sqlx::query(
        "INSERT INTO federation_logins (id, provider_id, state_hash, browser_hash, sealed_secrets, return_to, created_at, expires_at, link_user_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(Uuid::now_v7())
        .bind(provider_id)
        .bind(&state_hash)
        .bind(token_hash(&departure.browser_token))
        .bind(&sealed)
        .bind(return_to)
        .bind(now)
        .bind(now + LIFETIME)
        .bind(link_user_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(departure)
}

#[derive(sqlx::FromRow)]
struct Row {
    provider_id: Uuid,
    state_hash: Vec<u8>,
    browser_hash: Vec<u8>,
    sealed_secrets: Vec<u8>,
    return_to: String,
    expires_at: DateTime<Utc>,
    link_user_id: Option<Uuid>,
}

/// Takes the pending sign-in `state` names: it is deleted whatever the answer, so a
/// `state` is used once. None when there is none (used already, or never issued) or
/// its secrets cannot be opened.
pub async fn take(db: &Db, cipher: &Cipher, state: &str) -> anyhow::Result<Option<PendingLogin>> {
    let row = on_exec!(db.writer(), c => sqlx::query_as::<_, Row>(
        "DELETE FROM federation_logins WHERE state_hash = $1 \
         RETURNING provider_id, state_hash, browser_hash, sealed_secrets, return_to, expires_at, link_user_id")
        .bind(token_hash(state))
        .fetch_optional(c)
        .await)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let Ok(opened) = cipher.open(&row.sealed_secrets, &context(&row.state_hash)) else {
        return Ok(None);
    };
    Ok(Some(PendingLogin {
        provider_id: row.provider_id,
        browser_hash: row.browser_hash,
        secrets: serde_json::from_slice(&opened)?,
        return_to: row.return_to,
        expires_at: row.expires_at,
        link_user_id: row.link_user_id,
    }))
}

/// Forgets pending sign-ins and link offers that expired.
pub async fn purge(db: &Db, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let logins = on_exec!(db.writer(), c => sqlx::query("DELETE FROM federation_logins WHERE expires_at <= $1")
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let offers = on_exec!(db.writer(), c => sqlx::query("DELETE FROM identity_link_offers WHERE expires_at <= $1")
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(logins + offers)
}
