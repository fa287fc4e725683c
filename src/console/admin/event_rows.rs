//! Audit events as the admin pages show them (the audit log, an account's page): each
//! event in words in the page's language and its detail as labelled fields
//! ([`super::event_words`]), the people it names by username with a link to their page
//! (looked up in one query for the whole page).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::event_words::{DetailField, detail_fields, event_words};
use crate::admin::audit_log::AuditEvent;
use crate::db::Db;
use crate::on_exec;
use crate::web::Pages;

/// Someone an event names: their id, and their username while the account exists.
#[derive(Serialize)]
pub struct Person {
    id: Uuid,
    username: Option<String>,
}

/// One event as a row of a table.
#[derive(Serialize)]
pub struct EventRow {
    at: DateTime<Utc>,
    /// The event in words.
    what: String,
    actor: Option<Person>,
    user: Option<Person>,
    ip: Option<String>,
    user_agent: Option<String>,
    detail: Vec<DetailField>,
}

/// `events` as rows in the page's language, the people they name looked up at once.
pub async fn event_rows(
    db: &Db,
    pages: &Pages,
    events: Vec<AuditEvent>,
) -> Result<Vec<EventRow>, sqlx::Error> {
    let ids: BTreeSet<Uuid> = events
        .iter()
        .flat_map(|e| [e.actor_id, e.user_id])
        .flatten()
        .collect();
    let names = usernames(db, &ids).await?;
    let person = |id: Option<Uuid>| {
        id.map(|id| Person {
            id,
            username: names.get(&id).cloned(),
        })
    };
    Ok(events
        .into_iter()
        .map(|e| EventRow {
            at: e.at,
            what: event_words(pages, &e.event),
            actor: person(e.actor_id),
            user: person(e.user_id),
            ip: e.ip,
            user_agent: e.user_agent,
            detail: detail_fields(pages, &e.detail.0),
        })
        .collect())
}

/// The usernames of the accounts among `ids` that still exist, in one query.
pub async fn usernames(
    db: &Db,
    ids: &BTreeSet<Uuid>,
) -> Result<HashMap<Uuid, String>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT id, username FROM users WHERE id IN ({})",
        placeholders.join(", ")
    );
    let rows: Vec<(Uuid, String)> = on_exec!(db, c => {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(c).await
    })?;
    Ok(rows.into_iter().collect())
}
