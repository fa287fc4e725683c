//! Serving instances as operators see them (`roster instances`): each instance writes a
//! heartbeat row (`serving_instances`) with the issuer it puts in tokens and the key it
//! signs with, at start-up and every [`HEARTBEAT`], and removes it when it stops. Rows
//! not refreshed for [`GONE_AFTER`] count as gone. Instances that disagree on the issuer
//! refuse each other's tokens, and ones on different signing keys have not all reloaded
//! (or cannot open the newest key): listing them side by side shows it.
//!
//! Times come from the application's clock, so tests move them. The change feed's own
//! `instances` table is a different thing: the database server's clock times it, for
//! the cache lease.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::config::Config;
use crate::db::Db;
use crate::on_exec;

/// How often a serving instance refreshes its row.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// A row not refreshed for this long (four heartbeats) belongs to a gone instance.
pub const GONE_AFTER: Duration = Duration::from_secs(20);
/// Rows gone for this long are deleted by the heartbeats of the others.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// What a serving instance says about itself.
#[derive(Debug, Clone)]
pub struct Registration {
    pub id: Uuid,
    pub issuer: String,
    /// Where it listens (`HOST:PORT` as configured).
    pub address: String,
    pub started_at: DateTime<Utc>,
}

impl Registration {
    pub fn new(config: &Config, started_at: DateTime<Utc>) -> Registration {
        Registration {
            id: Uuid::now_v7(),
            issuer: config.tokens.issuer.clone(),
            address: std::net::SocketAddr::new(config.http.host, config.http.port).to_string(),
            started_at,
        }
    }
}

/// A live instance's row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LiveInstance {
    pub id: Uuid,
    pub issuer: String,
    pub signing_kid: String,
    pub address: String,
    pub started_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// Writes (or refreshes) this instance's row, and forgets rows gone for an hour.
pub async fn heartbeat(
    db: &Db,
    me: &Registration,
    signing_kid: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on_exec!(db.writer(), c => sqlx::query(
        "INSERT INTO serving_instances (id, issuer, signing_kid, address, started_at, last_seen) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET issuer = excluded.issuer, signing_kid = excluded.signing_kid, last_seen = excluded.last_seen")
        .bind(me.id)
        .bind(&me.issuer)
        .bind(signing_kid)
        .bind(&me.address)
        .bind(me.started_at)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    let forget_before = now - chrono::Duration::from_std(FORGET_AFTER).unwrap_or_default();
    on_exec!(db.writer(), c => sqlx::query("DELETE FROM serving_instances WHERE last_seen < $1")
        .bind(forget_before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Removes this instance's row (a graceful stop).
pub async fn deregister(db: &Db, id: Uuid) -> Result<(), sqlx::Error> {
    on_exec!(db.writer(), c => sqlx::query("DELETE FROM serving_instances WHERE id = $1")
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The instances seen within [`GONE_AFTER`] of `now`, oldest first.
pub async fn live(db: &Db, now: DateTime<Utc>) -> Result<Vec<LiveInstance>, sqlx::Error> {
    let seen_after = now - chrono::Duration::from_std(GONE_AFTER).unwrap_or_default();
    on_exec!(db, c => sqlx::query_as::<_, LiveInstance>(
        "SELECT id, issuer, signing_kid, address, started_at, last_seen FROM serving_instances WHERE last_seen >= $1 ORDER BY started_at, id")
        .bind(seen_after)
        .fetch_all(c)
        .await)
}

fn distinct(mut values: Vec<&str>) -> Vec<&str> {
    values.sort_unstable();
    values.dedup();
    values
}

/// What the live instances disagree on, one sentence each; empty when they agree.
pub fn disagreements(instances: &[LiveInstance]) -> Vec<String> {
    let mut found = Vec::new();
    let issuers = distinct(instances.iter().map(|i| i.issuer.as_str()).collect());
    if issuers.len() > 1 {
        found.push(format!(
            "the instances have different issuers ({}): each refuses the others' tokens; set the same PUBLIC_URL (or JWT_ISSUER) on all of them",
            issuers.join(", ")
        ));
    }
    let kids = distinct(instances.iter().map(|i| i.signing_kid.as_str()).collect());
    if kids.len() > 1 {
        found.push(format!(
            "the instances sign with different keys ({}): normal for up to KEY_REFRESH_SECONDS plus one 5 s heartbeat after `roster keys rotate`; longer means an instance cannot open the newest key (check its ENCRYPTION_KEY)",
            kids.join(", ")
        ));
    }
    found
}

/// The start-up warning for a configuration whose issuer is this instance's own
/// address on a database that other instances may share.
pub fn own_issuer_warning(config: &Config, backend: &str) -> Option<String> {
    let defaulted =
        !config.http.public_url_configured && config.tokens.issuer == config.http.public_url;
    (defaulted && backend == "postgres").then(|| {
        format!(
            "PUBLIC_URL is unset, so this instance's token issuer is its own address {}: instances sharing this database refuse each other's tokens; set the same PUBLIC_URL on every instance",
            config.tokens.issuer
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(issuer: &str, kid: &str) -> LiveInstance {
        LiveInstance {
            id: Uuid::now_v7(),
            issuer: issuer.into(),
            signing_kid: kid.into(),
            address: "127.0.0.1:8001".into(),
            started_at: Utc::now(),
            last_seen: Utc::now(),
        }
    }

    #[test]
    fn disagreeing_instances_are_named_and_agreeing_ones_are_not() {
        let same = [
            instance("https://id.example", "k1"),
            instance("https://id.example", "k1"),
        ];
        assert!(disagreements(&same).is_empty());
        let split = [
            instance("http://10.0.0.1:8001", "k1"),
            instance("http://10.0.0.2:8001", "k2"),
        ];
        let found = disagreements(&split);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].contains("http://10.0.0.1:8001, http://10.0.0.2:8001")
                && found[0].contains("PUBLIC_URL")
        );
        assert!(found[1].contains("k1, k2"));
    }

    #[test]
    fn only_a_defaulted_issuer_on_postgres_is_warned_about() {
        let config = |pairs: &[(&str, &str)]| {
            let vars = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Config::from_map(&vars).unwrap()
        };
        let unset = config(&[]);
        assert!(
            own_issuer_warning(&unset, "postgres")
                .unwrap()
                .contains("PUBLIC_URL")
        );
        assert!(own_issuer_warning(&unset, "sqlite").is_none());
        assert!(
            own_issuer_warning(&config(&[("PUBLIC_URL", "https://id.example")]), "postgres")
                .is_none()
        );
        assert!(
            own_issuer_warning(&config(&[("JWT_ISSUER", "https://id.example")]), "postgres")
                .is_none()
        );
    }
}
