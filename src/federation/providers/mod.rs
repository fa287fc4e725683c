//! The registry of identity providers (`identity_providers`): what the admin API and the
//! CLI add, list, change and remove, each change in one transaction with its audit
//! record. The client secret is sealed with the database's key, bound to the provider's
//! id, and only ever opened to talk to the provider.

pub mod api;
pub mod apple_key;
pub mod input;
pub mod kinds;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use self::input::{CheckedChange, Endpoints, ProviderKind, ProviderSettings, TrustEmail};
use crate::audit::{self, AuditEntry, event};
use crate::crypto::Cipher;
use crate::db::{Db, Tx};
use crate::error::{ApiError, ResultExt, Why};
use crate::http::Cursor;
use crate::i18n::message_key;
use crate::on_exec;

/// An identity provider as administrators see it (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Provider {
    pub id: Uuid,
    pub slug: String,
    pub kind: ProviderKind,
    pub display_name: String,
    pub client_id: String,
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    /// OpenID kinds: where the provider's keys are read.
    pub jwks_uri: Option<String>,
    /// `github`: the API's user endpoint.
    pub userinfo_endpoint: Option<String>,
    pub scopes: Vec<String>,
    pub trust_email: TrustEmail,
    pub allow_signup: bool,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    slug: String,
    kind: String,
    display_name: String,
    client_id: String,
    client_secret_sealed: Vec<u8>,
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
    scopes: String,
    trust_email: String,
    allow_signup: bool,
    enabled: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, slug, kind, display_name, client_id, client_secret_sealed, issuer, \
    authorization_endpoint, token_endpoint, jwks_uri, userinfo_endpoint, scopes, trust_email, \
    allow_signup, enabled, created_at, updated_at";

impl Row {
    fn into_stored(self) -> Result<StoredProvider, sqlx::Error> {
        let corrupt = |what: &str| sqlx::Error::Decode(format!("identity_providers.{what}").into());
        let provider = Provider {
            id: self.id,
            slug: self.slug,
            kind: ProviderKind::parse(&self.kind).ok_or_else(|| corrupt("kind"))?,
            display_name: self.display_name,
            client_id: self.client_id,
            issuer: self.issuer,
            authorization_endpoint: self.authorization_endpoint,
            token_endpoint: self.token_endpoint,
            // Stored empty for a provider without keys (`github`).
            jwks_uri: Some(self.jwks_uri).filter(|uri| !uri.is_empty()),
            userinfo_endpoint: self.userinfo_endpoint,
            scopes: serde_json::from_str(&self.scopes).map_err(|_| corrupt("scopes"))?,
            trust_email: TrustEmail::parse(&self.trust_email)
                .ok_or_else(|| corrupt("trust_email"))?,
            allow_signup: self.allow_signup,
            enabled: self.enabled,
            created_at: self.created_at,
            updated_at: self.updated_at,
        };
        Ok(StoredProvider {
            provider,
            sealed_secret: self.client_secret_sealed,
        })
    }
}

/// A provider with its sealed client secret, for the sign-in flow.
pub struct StoredProvider {
    pub provider: Provider,
    sealed_secret: Vec<u8>,
}

impl StoredProvider {
    /// The client secret, opened; None when the database's key no longer opens it.
    pub fn client_secret(&self, cipher: &Cipher) -> Option<String> {
        let opened = cipher
            .open(&self.sealed_secret, &seal_context(self.provider.id))
            .ok()?;
        String::from_utf8(opened).ok()
    }
}

fn seal_context(id: Uuid) -> Vec<u8> {
    let mut context = b"identity_providers.client_secret:".to_vec();
    context.extend_from_slice(id.as_bytes());
    context
}

pub use crate::audit::Actor;

async fn record(
    tx: &mut Tx,
    now: DateTime<Utc>,
    actor: Actor<'_>,
    event: &'static str,
    provider: &Provider,
) -> Result<(), sqlx::Error> {
    let detail = serde_json::json!({
        "provider_id": provider.id,
        "slug": provider.slug,
        "issuer": provider.issuer,
    });
    audit::record(tx, now, AuditEntry::by_actor(event, actor, detail)).await
}

/// The 409 of a slug another provider has (the unique index's, and the friendly one).
pub fn duplicate_slug(_: &str) -> ApiError {
    let why = Why::new(
        "a provider with this slug exists already",
        message_key("conflict-provider-slug"),
    );
    ApiError::conflict("slug", why)
}

/// Whether `slug` is taken (a friendly 409 before discovery; the unique index remains
/// the guarantee).
pub async fn slug_taken(db: &Db, slug: &str) -> Result<bool, sqlx::Error> {
    let found: Option<(Uuid,)> = on_exec!(db, c => sqlx::query_as(
        "SELECT id FROM identity_providers WHERE slug = $1")
        .bind(slug)
        .fetch_optional(c)
        .await)?;
    Ok(found.is_some())
}

/// Adds a provider whose endpoints are known; 409 for a taken slug.
pub async fn add(
    db: &Db,
    cipher: &Cipher,
    settings: &ProviderSettings,
    endpoints: &Endpoints,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<Provider, ApiError> {
    let id = Uuid::now_v7();
    let sealed = cipher.seal(settings.client_secret.as_bytes(), &seal_context(id));
    let scopes = serde_json::to_string(&settings.scopes).map_err(anyhow::Error::from)?;
    let sql = format!(
        "INSERT INTO identity_providers ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, TRUE, $15, $15) RETURNING {COLUMNS}"
    );
    let mut tx = db.begin().await?;
    let row = on_exec!(&mut tx, c => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .bind(&settings.slug)
        .bind(settings.kind.as_str())
        .bind(&settings.display_name)
        .bind(&settings.client_id)
        .bind(&sealed)
        .bind(&settings.issuer)
        .bind(&endpoints.authorization)
        .bind(&endpoints.token)
        .bind(endpoints.jwks.as_deref().unwrap_or_default())
        .bind(&endpoints.userinfo)
        .bind(&scopes)
        .bind(settings.trust_email.as_str())
        .bind(settings.allow_signup)
        .bind(now)
        .fetch_one(c)
        .await)
    .on_unique_violation(duplicate_slug)?;
    let provider = row.into_stored()?.provider;
    record(
        &mut tx,
        now,
        actor,
        event::IDENTITY_PROVIDER_ADDED,
        &provider,
    )
    .await?;
    tx.commit().await?;
    Ok(provider)
}

/// One page of providers by id.
pub async fn list(db: &Db, page: &Cursor<Uuid>) -> Result<Vec<Provider>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM identity_providers WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2"
    );
    let rows = on_exec!(db, c => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(page.after)
        .bind(i64::from(page.limit) + 1)
        .fetch_all(c)
        .await)?;
    rows.into_iter()
        .map(|row| row.into_stored().map(|stored| stored.provider))
        .collect()
}

/// The providers an SQL tail (`ORDER BY ...`, a fixed `WHERE`) picks.
async fn all_where(db: &Db, tail: &'static str) -> Result<Vec<Provider>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM identity_providers {tail}");
    let rows = on_exec!(db, c => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.clone()))
        .fetch_all(c)
        .await)?;
    rows.into_iter()
        .map(|row| row.into_stored().map(|stored| stored.provider))
        .collect()
}

/// Every provider, by slug (the CLI's list).
pub async fn list_all(db: &Db) -> Result<Vec<Provider>, sqlx::Error> {
    all_where(db, "ORDER BY slug").await
}

/// The enabled providers, by display name: the sign-in page's buttons.
pub async fn enabled(db: &Db) -> Result<Vec<Provider>, sqlx::Error> {
    all_where(db, "WHERE enabled ORDER BY display_name, slug").await
}

/// The provider whose column `$key` (`id` or `slug`) equals `$value`.
macro_rules! find_where {
    ($db:expr, $key:literal, $value:expr) => {{
        let sql = format!(concat!("SELECT {} FROM identity_providers WHERE ", $key, " = $1"), COLUMNS);
        let row = on_exec!($db, c => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.clone()))
            .bind($value)
            .fetch_optional(c)
            .await)?;
        row.map(Row::into_stored).transpose()
    }};
}

pub async fn find(db: &Db, id: Uuid) -> Result<Option<StoredProvider>, sqlx::Error> {
    find_where!(db, "id", id)
}

pub async fn find_by_slug(db: &Db, slug: &str) -> Result<Option<StoredProvider>, sqlx::Error> {
    find_where!(db, "slug", slug)
}

/// Applies a checked change; None when there is no such provider.
pub async fn change(
    db: &Db,
    cipher: &Cipher,
    id: Uuid,
    change: &CheckedChange,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Provider>, ApiError> {
    let sealed = change
        .client_secret
        .as_ref()
        .map(|secret| cipher.seal(secret.as_bytes(), &seal_context(id)));
    let scopes = change
        .scopes
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(anyhow::Error::from)?;
    let sql = format!(
        "UPDATE identity_providers SET \
            display_name = COALESCE($2, display_name), client_id = COALESCE($3, client_id), \
            client_secret_sealed = COALESCE($4, client_secret_sealed), scopes = COALESCE($5, scopes), \
            trust_email = COALESCE($6, trust_email), allow_signup = COALESCE($7, allow_signup), \
            enabled = COALESCE($8, enabled), updated_at = $9 \
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let mut tx = db.begin().await?;
    let row = on_exec!(&mut tx, c => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .bind(&change.display_name)
        .bind(&change.client_id)
        .bind(&sealed)
        .bind(&scopes)
        .bind(change.trust_email.map(TrustEmail::as_str))
        .bind(change.allow_signup)
        .bind(change.enabled)
        .bind(now)
        .fetch_optional(c)
        .await)?;
    settle(tx, row, actor, event::IDENTITY_PROVIDER_CHANGED, now).await
}

/// Removes the provider named by `id`; its identities stay (keyed by issuer and
/// subject), its sign-ins in flight end. None when there is no such provider.
pub async fn remove(
    db: &Db,
    id: Uuid,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Provider>, ApiError> {
    let mut tx = db.begin().await?;
    let sql = format!("DELETE FROM identity_providers WHERE id = $1 RETURNING {COLUMNS}");
    let row = on_exec!(&mut tx, c => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_optional(c)
        .await)?;
    settle(tx, row, actor, event::IDENTITY_PROVIDER_REMOVED, now).await
}

/// Ends a change of the provider in `row` (None: there was none), audited as `event`
/// in its transaction.
async fn settle(
    mut tx: Tx,
    row: Option<Row>,
    actor: Actor<'_>,
    event: &'static str,
    now: DateTime<Utc>,
) -> Result<Option<Provider>, ApiError> {
    let Some(row) = row else {
        return Ok(None);
    };
    let provider = row.into_stored()?.provider;
    record(&mut tx, now, actor, event, &provider).await?;
    tx.commit().await?;
    Ok(Some(provider))
}
