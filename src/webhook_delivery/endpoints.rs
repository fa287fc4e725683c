//! What delivery reads and writes on the `webhooks` table: an endpoint's target and
//! signing secrets, its failing clock (`failing_since`), and disabling it. The admin API
//! (`crate::webhooks`) owns the rest of the row.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::crypto::Cipher;
use crate::db::{Db, Exec, Tx, placeholders};
use crate::on_exec;

/// How long a replaced secret keeps signing after a rotation.
pub const PREVIOUS_SECRET_KEPT: chrono::Duration = chrono::Duration::hours(24);

/// Why an endpoint is disabled (`webhooks.disabled_reason`).
pub const DISABLED_BY_ADMIN: &str = "admin";
/// It answered `410 Gone`.
pub const DISABLED_GONE: &str = "gone";
/// It failed without a success for `WEBHOOK_DISABLE_AFTER_HOURS`.
pub const DISABLED_FAILING: &str = "failing";

/// The associated data the secrets of webhook `id` are sealed with.
pub fn sealing_context(id: Uuid) -> Vec<u8> {
    let mut context = b"webhook:".to_vec();
    context.extend_from_slice(id.as_bytes());
    context
}

/// An endpoint as a sender needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Endpoint {
    pub id: Uuid,
    pub url: String,
    pub enabled: bool,
    secret: Vec<u8>,
    previous_secret: Option<Vec<u8>>,
    previous_secret_until: Option<DateTime<Utc>>,
}

impl Endpoint {
    /// The secrets that sign at `now`, newest first; `None` when one cannot be opened
    /// (`ENCRYPTION_KEY` changed without re-sealing).
    pub fn signing_secrets(&self, cipher: &Cipher, now: DateTime<Utc>) -> Option<Vec<Vec<u8>>> {
        let context = sealing_context(self.id);
        let mut secrets = vec![cipher.open(&self.secret, &context).ok()?];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_until)
            && until > now
        {
            secrets.push(cipher.open(previous, &context).ok()?);
        }
        Some(secrets)
    }
}

/// The endpoints of `ids` by id, in one query (deleted ones are absent): those of one
/// claim of the sender.
pub async fn find_many(db: &Db, ids: &[Uuid]) -> Result<HashMap<Uuid, Endpoint>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT id, url, enabled, secret, previous_secret, previous_secret_until FROM webhooks \
         WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let rows = on_exec!(db, c => {
        let mut query = sqlx::query_as::<_, Endpoint>(sqlx::AssertSqlSafe(sql.clone()));
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(c).await
    })?;
    Ok(rows.into_iter().map(|e| (e.id, e)).collect())
}

/// Takes the endpoint's row lock for the rest of `tx`: every transaction that changes
/// an endpoint and its deliveries locks the endpoint first, so two never wait on each
/// other in opposite orders.
pub async fn lock(tx: &mut Tx, id: Uuid) -> Result<(), sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query("UPDATE webhooks SET id = id WHERE id = $1")
        .bind(id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A success stops the failing clock.
pub async fn note_success(ex: impl Into<Exec<'_>>, id: Uuid) -> Result<(), sqlx::Error> {
    on_exec!(ex, c => sqlx::query(
        "UPDATE webhooks SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL")
        .bind(id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A failure starts the failing clock unless it runs; returns since when the endpoint
/// has been failing and whether it is enabled (`None`: it was deleted).
pub async fn note_failure(
    tx: &mut Tx,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<(DateTime<Utc>, bool)>, sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query_as(
        "UPDATE webhooks SET failing_since = COALESCE(failing_since, $2) WHERE id = $1 \
         RETURNING failing_since, enabled")
        .bind(id)
        .bind(now)
        .fetch_optional(c)
        .await)
}

/// Disables an enabled endpoint for `reason`; returns its URL, or `None` when it was
/// not enabled (or no longer exists).
pub async fn disable(
    tx: &mut Tx,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query_scalar(
        "UPDATE webhooks SET enabled = FALSE, disabled_reason = $2, updated_at = $3 \
         WHERE id = $1 AND enabled RETURNING url")
        .bind(id)
        .bind(reason)
        .bind(now)
        .fetch_optional(c)
        .await)
}

/// Makes `sealed_secret` the endpoint's secret; the one it replaces signs too until
/// `now` + [`PREVIOUS_SECRET_KEPT`] (an older previous one is dropped). False when
/// there is no such endpoint.
pub async fn rotate_secret(
    tx: &mut Tx,
    id: Uuid,
    sealed_secret: &[u8],
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let rotated = on_exec!(&mut *tx, c => sqlx::query(
        "UPDATE webhooks SET previous_secret = secret, previous_secret_until = $3, secret = $2, updated_at = $4 \
         WHERE id = $1")
        .bind(id)
        .bind(sealed_secret)
        .bind(now + PREVIOUS_SECRET_KEPT)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(rotated > 0)
}
