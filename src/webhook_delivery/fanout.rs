//! Fan-out: the numbered events after an endpoint's cursor (`fanned_out_through`)
//! become its deliveries, one per event whose type it takes, and the cursor advances,
//! in one transaction that first locks the endpoint's row (so two instances fan out an
//! endpoint one after the other, and the primary key makes a repeat harmless).
//!
//! Disabled endpoints get their deliveries too; nothing is sent to them until they are
//! enabled again, so nothing is lost meanwhile. A `webhook.test` event goes only to the
//! endpoint it tests (its subject), whatever types that endpoint takes.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::Db;
use crate::events::filter::{TypeBind, TypeFilter};
use crate::events::types::WEBHOOK_TEST;
use crate::on_exec;

/// Events one transaction fans out to one endpoint at most.
const BATCH: i64 = 1000;

/// Fans out every numbered event to every endpoint behind; returns deliveries made.
pub async fn fan_out(db: &Db, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    // The endpoints behind the last sequence, each with that sequence, in one read.
    let behind: Vec<(Uuid, i64)> = on_exec!(db, c => sqlx::query_as(
        "SELECT w.id, c.last FROM webhooks w JOIN event_counter c ON c.id = 1 \
         WHERE w.fanned_out_through < c.last ORDER BY w.id")
        .fetch_all(c)
        .await)?;
    let mut made = 0;
    for (id, last) in behind {
        made += fan_out_to(db, id, last, now).await?;
    }
    Ok(made)
}

/// Fans out the events up to sequence `last` to endpoint `id`.
async fn fan_out_to(db: &Db, id: Uuid, last: i64, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let mut made = 0;
    loop {
        let mut tx = db.begin().await?;
        let endpoint: Option<(i64, String)> = on_exec!(&mut tx, c => sqlx::query_as(
            "UPDATE webhooks SET fanned_out_through = fanned_out_through WHERE id = $1 \
             RETURNING fanned_out_through, events")
            .bind(id)
            .fetch_optional(c)
            .await)?;
        let Some((cursor, patterns)) = endpoint else {
            return Ok(made);
        };
        if cursor >= last {
            return Ok(made);
        }
        let upto = last.min(cursor + BATCH);
        let filter = serde_json::from_str::<Vec<String>>(&patterns)
            .ok()
            .and_then(|patterns| TypeFilter::parse(&patterns.join(",")).ok());
        let types = match &filter {
            Some(filter) => filter.condition(6),
            None => {
                tracing::warn!(webhook_id = %id, "a webhook's stored event types cannot be read; it is sent only its tests");
                crate::events::filter::TypeCondition {
                    sql: "FALSE".into(),
                    binds: Vec::new(),
                }
            }
        };
        let sql = format!(
            "INSERT INTO webhook_deliveries (webhook_id, event_id, sequence, subject, subject_sequence, type, status, attempts, next_attempt_at, created_at) \
             SELECT $1, id, sequence, subject, subject_sequence, type, 'pending', 0, $2, $2 FROM events \
             WHERE sequence > $3 AND sequence <= $4 \
             AND ((type <> '{WEBHOOK_TEST}' AND {}) OR (type = '{WEBHOOK_TEST}' AND subject = $5)) \
             ON CONFLICT (webhook_id, event_id) DO NOTHING",
            types.sql
        );
        made += on_exec!(&mut tx, c => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .bind(now)
                .bind(cursor)
                .bind(upto)
                .bind(id.to_string());
            for bind in &types.binds {
                query = match bind {
                    TypeBind::Text(text) => query.bind(text.clone()),
                    TypeBind::Length(length) => query.bind(*length),
                };
            }
            query.execute(c).await.map(|r| r.rows_affected())
        })?;
        on_exec!(&mut tx, c => sqlx::query("UPDATE webhooks SET fanned_out_through = $2 WHERE id = $1")
            .bind(id)
            .bind(upto)
            .execute(c)
            .await.map(|r| r.rows_affected()))?;
        tx.commit().await?;
        if upto >= last {
            // Done: no transaction more just to find the cursor at `last`.
            return Ok(made);
        }
    }
}
