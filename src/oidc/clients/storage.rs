//! The `oauth_clients` table: reading clients, and the changes (register, update,
//! delete, rotate the secret), each in one transaction with its audit record.

use chrono::{DateTime, Utc};
use rand::RngExt;
use serde::Serialize;

use super::model::{Client, ClientSecret, ClientType, GrantType};
use super::validation::{ClientInput, ClientSettings, validate};
use crate::audit::{self, AuditEntry, event};
use crate::db::{Db, Exec, Tx};
use crate::error::ApiError;
use crate::http::Cursor;
use crate::on_exec;

/// Why the sessions of a deleted client were revoked (`sessions.revoked_reason`).
pub const REVOKED_CLIENT_DELETED: &str = "client_deleted";

/// A new client id: 16 random bytes in hex (32 characters, safe in URLs, forms and
/// command lines: base64url ids could begin with `-`, which a command line reads as a flag).
fn new_client_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

pub use crate::audit::Actor;

async fn record(
    tx: &mut Tx,
    now: DateTime<Utc>,
    actor: Actor<'_>,
    event: &'static str,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    audit::record(tx, now, AuditEntry::by_actor(event, actor, detail)).await
}

/// The columns of `oauth_clients` that make a [`Client`], in [`ClientRow`]'s order.
const COLUMNS: &str = "client_id, name, client_type, secret_hash, redirect_uris, post_logout_redirect_uris, grant_types, scopes, first_party, id_token_signed_response_alg, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    name: String,
    client_type: String,
    secret_hash: Option<Vec<u8>>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    scopes: String,
    first_party: bool,
    id_token_signed_response_alg: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ClientRow {
    /// The client and its secret's hash (confidential clients only).
    fn into_client(self) -> Result<(Client, Option<Vec<u8>>), sqlx::Error> {
        let list = |column: &str, text: &str| {
            serde_json::from_str::<Vec<String>>(text).map_err(|e| sqlx::Error::ColumnDecode {
                index: column.to_owned(),
                source: Box::new(e),
            })
        };
        let bad = |column: &str, what: String| sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: what.into(),
        };
        let client_type = ClientType::parse(&self.client_type).ok_or_else(|| {
            bad(
                "client_type",
                format!("unknown client type {}", self.client_type),
            )
        })?;
        let grant_types = list("grant_types", &self.grant_types)?
            .iter()
            .map(|g| {
                GrantType::parse(g).ok_or_else(|| bad("grant_types", format!("unknown grant {g}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let client = Client {
            client_id: self.client_id,
            name: self.name,
            client_type,
            redirect_uris: list("redirect_uris", &self.redirect_uris)?,
            post_logout_redirect_uris: list(
                "post_logout_redirect_uris",
                &self.post_logout_redirect_uris,
            )?,
            grant_types,
            scopes: list("scopes", &self.scopes)?,
            first_party: self.first_party,
            id_token_signed_response_alg: self.id_token_signed_response_alg,
            created_at: self.created_at,
            updated_at: self.updated_at,
        };
        Ok((client, self.secret_hash))
    }
}

fn json_list<T: Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

pub(super) async fn fetch(
    ex: impl Into<Exec<'_>>,
    client_id: &str,
) -> Result<Option<(Client, Option<Vec<u8>>)>, sqlx::Error> {
    // No client id holds a control character or is that long; PostgreSQL refuses NUL in
    // text outright (an error, not "no such client"), so such ids are answered here.
    if client_id.is_empty() || client_id.len() > 256 || client_id.chars().any(char::is_control) {
        return Ok(None);
    }
    let sql = format!("SELECT {COLUMNS} FROM oauth_clients WHERE client_id = $1");
    let row = on_exec!(ex, c => sqlx::query_as::<_, ClientRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(client_id)
        .fetch_optional(c)
        .await)?;
    row.map(ClientRow::into_client).transpose()
}

/// The registered client with this id.
pub async fn find(db: &Db, client_id: &str) -> Result<Option<Client>, sqlx::Error> {
    Ok(fetch(db, client_id).await?.map(|(client, _)| client))
}

/// One page of clients, ordered by id.
pub async fn list(db: &Db, page: &Cursor<String>) -> Result<Vec<Client>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM oauth_clients WHERE ($1 IS NULL OR client_id > $1) ORDER BY client_id LIMIT $2"
    );
    let rows = on_exec!(db, c => sqlx::query_as::<_, ClientRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(page.after.as_deref())
        .bind(i64::from(page.limit) + 1)
        .fetch_all(c)
        .await)?;
    rows.into_iter()
        .map(|row| row.into_client().map(|(client, _)| client))
        .collect()
}

/// Every registered client, ordered by name (for the CLI).
pub async fn list_all(db: &Db) -> Result<Vec<Client>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM oauth_clients ORDER BY name, client_id");
    let rows = on_exec!(db, c => sqlx::query_as::<_, ClientRow>(sqlx::AssertSqlSafe(sql.clone()))
        .fetch_all(c)
        .await)?;
    rows.into_iter()
        .map(|row| row.into_client().map(|(client, _)| client))
        .collect()
}

/// Registers a client from `input`; a confidential one gets its secret, returned here
/// only. Audited as `client_created`.
pub async fn register(
    db: &Db,
    input: &ClientInput,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<(Client, Option<ClientSecret>), ApiError> {
    let settings = validate(input).map_err(ApiError::Validation)?;
    let client_id = new_client_id();
    let secret = (settings.client_type == ClientType::Confidential).then(ClientSecret::generate);
    let sql = format!(
        "INSERT INTO oauth_clients ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
    );
    let mut tx = db.begin().await?;
    let row = on_exec!(&mut tx, c => sqlx::query_as::<_, ClientRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(&client_id)
        .bind(&settings.name)
        .bind(settings.client_type.as_str())
        .bind(secret.as_ref().map(ClientSecret::hash))
        .bind(json_list(&settings.redirect_uris))
        .bind(json_list(&settings.post_logout_redirect_uris))
        .bind(json_list(&settings.grant_types))
        .bind(json_list(&settings.scopes))
        .bind(settings.first_party)
        .bind(&settings.id_token_signed_response_alg)
        .bind(now)
        .fetch_one(c)
        .await)?;
    let (client, _) = row.into_client()?;
    let detail = serde_json::json!({"client_id": client.client_id, "name": client.name, "type": client.client_type.as_str()});
    record(&mut tx, now, actor, event::CLIENT_CREATED, detail).await?;
    tx.commit().await?;
    Ok((client, secret))
}

/// Applies `change` (the stored settings with some fields replaced) after the same
/// checks as at registration; the type cannot change. Audited as `client_updated` with
/// the names of the fields that changed. `None` when there is no such client.
pub async fn update(
    db: &Db,
    client_id: &str,
    change: impl FnOnce(ClientInput) -> ClientInput,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Client>, ApiError> {
    let mut tx = db.begin().await?;
    let Some((current, _)) = fetch(&mut tx, client_id).await? else {
        return Ok(None);
    };
    let mut merged = change(ClientSettings::input_of(&current));
    merged.client_type = Some(current.client_type.as_str().to_owned());
    let settings = validate(&merged).map_err(ApiError::Validation)?;
    let changed = changed_fields(&current, &settings);
    if changed.is_empty() {
        return Ok(Some(current));
    }
    let sql = format!(
        "UPDATE oauth_clients SET name = $2, redirect_uris = $3, post_logout_redirect_uris = $4, grant_types = $5, scopes = $6, first_party = $7, id_token_signed_response_alg = $8, updated_at = $9 WHERE client_id = $1 RETURNING {COLUMNS}"
    );
    let row = on_exec!(&mut tx, c => sqlx::query_as::<_, ClientRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(client_id)
        .bind(&settings.name)
        .bind(json_list(&settings.redirect_uris))
        .bind(json_list(&settings.post_logout_redirect_uris))
        .bind(json_list(&settings.grant_types))
        .bind(json_list(&settings.scopes))
        .bind(settings.first_party)
        .bind(&settings.id_token_signed_response_alg)
        .bind(now)
        .fetch_one(c)
        .await)?;
    let (client, _) = row.into_client()?;
    let detail = serde_json::json!({"client_id": client_id, "fields": changed});
    record(&mut tx, now, actor, event::CLIENT_UPDATED, detail).await?;
    tx.commit().await?;
    Ok(Some(client))
}

fn changed_fields(current: &Client, new: &ClientSettings) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut note = |differs: bool, name: &'static str| {
        if differs {
            fields.push(name);
        }
    };
    note(current.name != new.name, "name");
    note(current.redirect_uris != new.redirect_uris, "redirect_uris");
    note(
        current.post_logout_redirect_uris != new.post_logout_redirect_uris,
        "post_logout_redirect_uris",
    );
    note(current.grant_types != new.grant_types, "grant_types");
    note(current.scopes != new.scopes, "scopes");
    note(current.first_party != new.first_party, "first_party");
    note(
        current.id_token_signed_response_alg != new.id_token_signed_response_alg,
        "id_token_signed_response_alg",
    );
    fields
}

/// Deletes a client and revokes every live session issued to it (their access and
/// refresh tokens are refused from the next request, on every instance); its codes and
/// grants go with it. Audited as `client_deleted`. Returns how many sessions were
/// revoked, `None` when there is no such client.
pub async fn delete(
    db: &Db,
    client_id: &str,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<Option<u64>, ApiError> {
    let mut tx = db.begin().await?;
    let deleted = on_exec!(&mut tx, c => sqlx::query("DELETE FROM oauth_clients WHERE client_id = $1")
        .bind(client_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    if deleted == 0 {
        return Ok(None);
    }
    let revoked = on_exec!(&mut tx, c => sqlx::query(
        "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE client_id = $1 AND revoked_at IS NULL")
        .bind(client_id)
        .bind(now)
        .bind(REVOKED_CLIENT_DELETED)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let detail = serde_json::json!({"client_id": client_id, "sessions_revoked": revoked});
    record(&mut tx, now, actor, event::CLIENT_DELETED, detail).await?;
    tx.commit().await?;
    Ok(Some(revoked))
}

/// What [`rotate_secret`] did.
#[derive(Debug)]
// Returned once per rotation and matched at once: boxing the client would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum SecretRotation {
    /// The new secret (shown once); the old one no longer authenticates.
    Rotated(Client, ClientSecret),
    /// A public client has no secret.
    PublicClient,
    NotFound,
}

/// Gives a confidential client a new secret; the old one stops working at once.
/// Audited as `client_secret_rotated` (without the secret).
pub async fn rotate_secret(
    db: &Db,
    client_id: &str,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<SecretRotation, ApiError> {
    let mut tx = db.begin().await?;
    let Some((current, _)) = fetch(&mut tx, client_id).await? else {
        return Ok(SecretRotation::NotFound);
    };
    if current.is_public() {
        return Ok(SecretRotation::PublicClient);
    }
    let secret = ClientSecret::generate();
    let sql = format!(
        "UPDATE oauth_clients SET secret_hash = $2, secret_rotated_at = $3, updated_at = $3 WHERE client_id = $1 RETURNING {COLUMNS}"
    );
    let row = on_exec!(&mut tx, c => sqlx::query_as::<_, ClientRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(client_id)
        .bind(secret.hash())
        .bind(now)
        .fetch_one(c)
        .await)?;
    let (client, _) = row.into_client()?;
    let detail = serde_json::json!({"client_id": client_id});
    record(&mut tx, now, actor, event::CLIENT_SECRET_ROTATED, detail).await?;
    tx.commit().await?;
    Ok(SecretRotation::Rotated(client, secret))
}
