//! Webhooks in the database. The signing secret's bytes are sealed with
//! `ENCRYPTION_KEY` (context [`sealing_context`]) and never read back by the admin API.

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
    /// Disabled endpoints receive nothing.
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
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

/// The associated data the secret of webhook `id` is sealed with.
pub fn sealing_context(id: Uuid) -> Vec<u8> {
    let mut context = b"webhook:".to_vec();
    context.extend_from_slice(id.as_bytes());
    context
}

const COLUMNS: &str = "id, url, events, description, ordered, enabled, created_at, updated_at";

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
        })
    }
}

fn events_json(events: &[String]) -> String {
    serde_json::Value::from(events.to_vec()).to_string()
}

/// Stores a new endpoint with its sealed secret.
pub async fn insert(
    tx: &mut Tx,
    id: Uuid,
    settings: &WebhookSettings,
    sealed_secret: &[u8],
    now: DateTime<Utc>,
) -> Result<Webhook, sqlx::Error> {
    let sql = format!(
        "INSERT INTO webhooks (id, url, events, description, ordered, enabled, secret, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {COLUMNS}"
    );
    let row = on_exec!(&mut *tx, c => sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .bind(&settings.url)
        .bind(events_json(&settings.events))
        .bind(&settings.description)
        .bind(settings.ordered)
        .bind(settings.enabled)
        .bind(sealed_secret)
        .bind(now)
        .fetch_one(c)
        .await)?;
    row.into_webhook()
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

pub async fn update(
    tx: &mut Tx,
    id: Uuid,
    settings: &WebhookSettings,
    now: DateTime<Utc>,
) -> Result<Webhook, sqlx::Error> {
    let sql = format!(
        "UPDATE webhooks SET url = $2, events = $3, description = $4, ordered = $5, enabled = $6, updated_at = $7 \
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row = on_exec!(&mut *tx, c => sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .bind(&settings.url)
        .bind(events_json(&settings.events))
        .bind(&settings.description)
        .bind(settings.ordered)
        .bind(settings.enabled)
        .bind(now)
        .fetch_one(c)
        .await)?;
    row.into_webhook()
}

/// Deletes endpoint `id`; false when there is none.
pub async fn delete(tx: &mut Tx, id: Uuid) -> Result<bool, sqlx::Error> {
    let deleted = on_exec!(&mut *tx, c => sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(deleted > 0)
}
