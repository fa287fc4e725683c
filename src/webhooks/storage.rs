//! Webhooks in the database. The signing secret's bytes are sealed with
//! `ENCRYPTION_KEY` (context [`sealing_context`]) and never read back by the admin API.
//! Reads carry the endpoint's delivery state: why it is disabled, since when it fails,
//! and how many of its deliveries wait, fail or are dead.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{Db, Exec, Tx};
use crate::http::Cursor;
use crate::on_exec;

/// An endpoint that receives events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Webhook {
    pub id: Uuid,
    #[schema(example = "https://hooks.example.com/roster")]
    pub url: String,
    /// Event types it takes; `user.*` takes every type under `user.`.
    #[schema(example = json!(["user.*", "session.revoked"]))]
    pub events: Vec<String>,
    pub description: Option<String>,
    /// One subject's events reach it one at a time, in `subjectsequence` order.
    pub ordered: bool,
    /// A disabled endpoint is sent nothing; its deliveries are still made and wait for
    /// it to be enabled again.
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `active`, `failing` (enabled, no success since `failing_since`) or `disabled`.
    #[schema(example = "active")]
    pub state: &'static str,
    /// Why it is disabled: `admin` (by PATCH), `gone` (it answered 410) or `failing`
    /// (no success for `WEBHOOK_DISABLE_AFTER_HOURS`); null while enabled.
    pub disabled_reason: Option<String>,
    /// Since when its deliveries fail without a success in between; null when the last
    /// attempt succeeded (or none failed).
    pub failing_since: Option<DateTime<Utc>>,
    /// Its deliveries by status (delivered ones are not counted).
    pub deliveries: DeliveryCounts,
}

/// How many of an endpoint's deliveries wait for a first attempt (`pending`), wait for
/// a retry after failing (`failed`), or spent their retries (`dead`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub failed: i64,
    pub dead: i64,
}

/// What an administrator sets on an endpoint, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub ordered: bool,
    pub enabled: bool,
}

impl WebhookSettings {
    pub fn of(webhook: &Webhook) -> WebhookSettings {
        WebhookSettings {
            url: webhook.url.clone(),
            events: webhook.events.clone(),
            description: webhook.description.clone(),
            ordered: webhook.ordered,
            enabled: webhook.enabled,
        }
    }
}

pub use crate::webhook_delivery::endpoints::sealing_context;

const COLUMNS: &str = "id, url, events, description, ordered, enabled, created_at, updated_at, \
    failing_since, disabled_reason, \
    (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = webhooks.id AND d.status = 'pending') AS pending, \
    (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = webhooks.id AND d.status = 'failed') AS failed, \
    (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = webhooks.id AND d.status = 'dead') AS dead";

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: Uuid,
    url: String,
    events: String,
    description: Option<String>,
    ordered: bool,
    enabled: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    failing_since: Option<DateTime<Utc>>,
    disabled_reason: Option<String>,
    pending: i64,
    failed: i64,
    dead: i64,
}

impl WebhookRow {
    fn into_webhook(self) -> Result<Webhook, sqlx::Error> {
        let events = serde_json::from_str(&self.events).map_err(|e| sqlx::Error::ColumnDecode {
            index: "events".into(),
            source: Box::new(e),
        })?;
        Ok(Webhook {
            id: self.id,
            url: self.url,
            events,
            description: self.description,
            ordered: self.ordered,
            enabled: self.enabled,
            created_at: self.created_at,
            updated_at: self.updated_at,
            state: match (self.enabled, self.failing_since) {
                (false, _) => "disabled",
                (true, Some(_)) => "failing",
                (true, None) => "active",
            },
            disabled_reason: self.disabled_reason,
            failing_since: self.failing_since,
            deliveries: DeliveryCounts {
                pending: self.pending,
                failed: self.failed,
                dead: self.dead,
            },
        })
    }
}

fn events_json(events: &[String]) -> String {
    serde_json::Value::from(events.to_vec()).to_string()
}

/// Stores a new endpoint with its sealed secret. It receives the events numbered after
/// the current last sequence: those from its creation on.
pub async fn insert(
    tx: &mut Tx,
    id: Uuid,
    settings: &WebhookSettings,
    sealed_secret: &[u8],
    now: DateTime<Utc>,
) -> Result<Webhook, sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query(
        "INSERT INTO webhooks (id, url, events, description, ordered, enabled, secret, created_at, updated_at, fanned_out_through) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, (SELECT last FROM event_counter WHERE id = 1))")
        .bind(id)
        .bind(&settings.url)
        .bind(events_json(&settings.events))
        .bind(&settings.description)
        .bind(settings.ordered)
        .bind(settings.enabled)
        .bind(sealed_secret)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    find_in(tx, id).await
}

/// The endpoint `id` as written in `tx`.
async fn find_in(tx: &mut Tx, id: Uuid) -> Result<Webhook, sqlx::Error> {
    find(&mut *tx, id).await?.ok_or(sqlx::Error::RowNotFound)
}

pub async fn find(ex: impl Into<Exec<'_>>, id: Uuid) -> Result<Option<Webhook>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1");
    let row = on_exec!(ex, c => sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_optional(c)
        .await)?;
    row.map(WebhookRow::into_webhook).transpose()
}

/// Up to `page.limit + 1` endpoints after `page.after`, oldest first.
pub async fn list(db: &Db, page: &Cursor<Uuid>) -> Result<Vec<Webhook>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM webhooks WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2"
    );
    let rows = on_exec!(db, c => sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(page.after)
        .bind(i64::from(page.limit) + 1)
        .fetch_all(c)
        .await)?;
    rows.into_iter().map(WebhookRow::into_webhook).collect()
}

/// Changes endpoint `id`. Disabling it records `admin` as the reason; enabling it
/// clears the reason and the failing clock (its deliveries are made due by the caller).
pub async fn update(
    tx: &mut Tx,
    id: Uuid,
    settings: &WebhookSettings,
    now: DateTime<Utc>,
) -> Result<Webhook, sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query(
        "UPDATE webhooks SET url = $2, events = $3, description = $4, ordered = $5, updated_at = $7, \
         disabled_reason = CASE WHEN $6 THEN NULL WHEN enabled THEN 'admin' ELSE disabled_reason END, \
         failing_since = CASE WHEN $6 AND NOT enabled THEN NULL ELSE failing_since END, \
         enabled = $6 \
         WHERE id = $1")
        .bind(id)
        .bind(&settings.url)
        .bind(events_json(&settings.events))
        .bind(&settings.description)
        .bind(settings.ordered)
        .bind(settings.enabled)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    find_in(tx, id).await
}

/// Deletes endpoint `id`; false when there is none.
pub async fn delete(tx: &mut Tx, id: Uuid) -> Result<bool, sqlx::Error> {
    let deleted = on_exec!(&mut *tx, c => sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(deleted > 0)
}
