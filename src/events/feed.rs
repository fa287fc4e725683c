//! Reading the log: a page of events after a sequence, in sequence order, as CloudEvents
//! 1.0 in JSON structured mode. `source` is the configured `PUBLIC_URL`, given by the
//! caller; `specversion` and `datacontenttype` are constants; everything else is stored.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::filter::{TypeBind, TypeFilter};
use crate::db::{Db, placeholders};
use crate::on_exec;

pub const SPEC_VERSION: &str = "1.0";
pub const DATA_CONTENT_TYPE: &str = "application/json";

/// One event, as every reader receives it (CloudEvents 1.0, JSON structured mode).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CloudEvent {
    /// Always `1.0`.
    #[schema(example = "1.0")]
    pub specversion: &'static str,
    /// Unique per event (UUIDv7); the same on every delivery of it.
    pub id: Uuid,
    /// The service's `PUBLIC_URL`.
    #[schema(example = "https://id.example.com")]
    pub source: String,
    /// From the catalog, e.g. `user.email.changed`.
    #[serde(rename = "type")]
    #[schema(example = "user.updated")]
    pub kind: String,
    /// The account's id (the client's id for `client.*` events).
    pub subject: String,
    /// When the change happened (RFC 3339, UTC).
    pub time: DateTime<Utc>,
    /// Always `application/json`.
    #[schema(example = "application/json")]
    pub datacontenttype: &'static str,
    /// A decimal string that grows with every event of the database, in commit order.
    #[schema(example = "42")]
    pub sequence: String,
    /// 1, 2, 3... per subject; it counts every event of the subject.
    #[schema(example = 3)]
    pub subjectsequence: i64,
    /// Ids, names and counts only; never a password, hash, token or secret.
    #[schema(value_type = Object)]
    pub data: Value,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    sequence: i64,
    id: Uuid,
    #[sqlx(rename = "type")]
    kind: String,
    subject: String,
    subject_sequence: i64,
    time: DateTime<Utc>,
    data: sqlx::types::Json<Value>,
}

impl EventRow {
    fn into_event(self, source: &str) -> CloudEvent {
        CloudEvent {
            specversion: SPEC_VERSION,
            id: self.id,
            source: source.to_owned(),
            kind: self.kind,
            subject: self.subject,
            time: self.time,
            datacontenttype: DATA_CONTENT_TYPE,
            sequence: self.sequence.to_string(),
            subjectsequence: self.subject_sequence,
            data: self.data.0,
        }
    }
}

/// What a reader asks for.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// Only events with a greater sequence (0: from the oldest kept).
    pub after: i64,
    pub types: TypeFilter,
    pub subject: Option<String>,
    pub limit: u32,
}

/// Events in sequence order, and the sequence to ask `after` next: the last one
/// returned, or the request's own `after` when nothing newer matched.
#[derive(Debug, Clone)]
pub struct EventPage {
    pub items: Vec<CloudEvent>,
    pub next_cursor: i64,
}

/// The events `request` asks for, each with `source` as its CloudEvents source.
pub async fn page(db: &Db, source: &str, request: &PageRequest) -> Result<EventPage, sqlx::Error> {
    let mut sql = String::from(
        "SELECT sequence, id, type, subject, subject_sequence, time, data FROM events WHERE sequence > $1",
    );
    let mut next = 2;
    if request.subject.is_some() {
        sql.push_str(&format!(" AND subject = ${next}"));
        next += 1;
    }
    let types = request.types.condition(next);
    next += types.binds.len();
    sql.push_str(&format!(
        " AND {} ORDER BY sequence LIMIT ${next}",
        types.sql
    ));
    let rows = on_exec!(db, c => {
        let mut query = sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(request.after);
        if let Some(subject) = &request.subject {
            query = query.bind(subject.clone());
        }
        for bind in &types.binds {
            query = match bind {
                TypeBind::Text(text) => query.bind(text.clone()),
                TypeBind::Length(length) => query.bind(*length),
            };
        }
        query.bind(i64::from(request.limit)).fetch_all(c).await
    })?;
    let next_cursor = rows.last().map_or(request.after, |row| row.sequence);
    Ok(EventPage {
        items: rows.into_iter().map(|row| row.into_event(source)).collect(),
        next_cursor,
    })
}

/// The numbered event `id`, exactly as [`page`] renders it (webhook bodies and the pull
/// API show the same JSON); `None` when it is unknown, purged or not yet numbered.
pub async fn find(db: &Db, source: &str, id: Uuid) -> Result<Option<CloudEvent>, sqlx::Error> {
    let row = on_exec!(db, c => sqlx::query_as::<_, EventRow>(
        "SELECT sequence, id, type, subject, subject_sequence, time, data FROM events \
         WHERE id = $1 AND sequence IS NOT NULL")
        .bind(id)
        .fetch_optional(c)
        .await)?;
    Ok(row.map(|row| row.into_event(source)))
}

/// The numbered events of `ids` (as [`find`] renders each) by id, in one query: what
/// one claim of the webhook sender sends. Unknown, purged or unnumbered ids are absent.
pub async fn find_many(
    db: &Db,
    source: &str,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, CloudEvent>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT sequence, id, type, subject, subject_sequence, time, data FROM events \
         WHERE sequence IS NOT NULL AND id IN ({})",
        placeholders(1, ids.len())
    );
    let rows = on_exec!(db, c => {
        let mut query = sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(sql.clone()));
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(c).await
    })?;
    Ok(rows
        .into_iter()
        .map(|row| (row.id, row.into_event(source)))
        .collect())
}

/// Up to `limit` events of every type (the named-only `login.*` included) after
/// `after`, in sequence order, each as [`page`] renders it: what a channel that passes
/// the whole log on (NATS) publishes.
pub async fn every_type_after(
    db: &Db,
    source: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, CloudEvent)>, sqlx::Error> {
    let rows = on_exec!(db, c => sqlx::query_as::<_, EventRow>(
        "SELECT sequence, id, type, subject, subject_sequence, time, data FROM events \
         WHERE sequence > $1 ORDER BY sequence LIMIT $2")
        .bind(after)
        .bind(limit)
        .fetch_all(c)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|row| (row.sequence, row.into_event(source)))
        .collect())
}
