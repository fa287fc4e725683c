//! The `signing_keys` table: new keys (generated off the async threads, their private
//! halves sealed with the encryption key), the first key of a kind, rotation, retiring
//! the kind an algorithm change left unused, and the listing that `roster keys` shows.
//! [`super::KeySet`] is built from what [`load_stored`] reads.

use chrono::{DateTime, Utc};
use jsonwebtoken::Algorithm;

use super::generate::{Generated, generate_key};
use super::{AccessTokenAlgorithm, algorithm_name, jose, kinds_in_use};
use crate::crypto::Cipher;
use crate::db::{Db, Exec, Tx};
use crate::on_exec;

#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct StoredKey {
    pub(super) kid: String,
    pub(super) algorithm: String,
    pub(super) private_key: Vec<u8>,
    pub(super) public_jwk: String,
    pub(super) retired_at: Option<DateTime<Utc>>,
}

pub(super) async fn insert_key(
    ex: impl Into<Exec<'_>>,
    cipher: &Cipher,
    algorithm: Algorithm,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let key = generated(cipher, algorithm).await?;
    store_key(ex, key, now).await
}

/// A new key of `algorithm` (see [`generate_key`]), made on a blocking thread.
async fn generated(cipher: &Cipher, algorithm: Algorithm) -> anyhow::Result<NewKey> {
    let generating = cipher.clone();
    let key = tokio::task::spawn_blocking(move || generate_key(&generating, algorithm)).await??;
    Ok(NewKey { algorithm, key })
}

/// A generated key, not stored yet.
struct NewKey {
    algorithm: Algorithm,
    key: Generated,
}

async fn store_key(
    ex: impl Into<Exec<'_>>,
    new: NewKey,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    on_exec!(ex, c => sqlx::query(
        "INSERT INTO signing_keys (kid, algorithm, private_key, public_jwk, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&new.key.kid)
        .bind(algorithm_name(new.algorithm))
        .bind(&new.key.sealed)
        .bind(&new.key.public_jwk)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(new.key.kid)
}

/// Whether an active key of `algorithm` that `cipher` opens is stored.
async fn has_usable_key(
    ex: impl Into<Exec<'_>>,
    cipher: &Cipher,
    algorithm: Algorithm,
) -> Result<bool, sqlx::Error> {
    let active: Vec<(String, Vec<u8>)> = on_exec!(ex, c => sqlx::query_as(
        "SELECT kid, private_key FROM signing_keys WHERE algorithm = $1 AND retired_at IS NULL")
        .bind(algorithm_name(algorithm))
        .fetch_all(c)
        .await)?;
    Ok(active
        .iter()
        .any(|(kid, sealed)| cipher.open(sealed, kid.as_bytes()).is_ok()))
}

/// Stores a new key of `algorithm` unless an active one that `cipher` opens is there
/// already (`None` then). The key is generated before the write transaction, which then
/// only checks and inserts. On PostgreSQL the table is locked against a concurrent
/// check-and-insert, so that instances starting together on a fresh database (or after
/// `ACCESS_TOKEN_ALGORITHM` changed) store one key, not one each.
pub(super) async fn insert_first_key(
    db: &Db,
    cipher: &Cipher,
    algorithm: Algorithm,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    if has_usable_key(db, cipher, algorithm).await? {
        return Ok(None);
    }
    let key = generated(cipher, algorithm).await?;
    let mut tx = db.begin().await?;
    if let Tx::Postgres(_) = tx {
        on_exec!(&mut tx, c => sqlx::query("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    let stored = if has_usable_key(&mut tx, cipher, algorithm).await? {
        None
    } else {
        Some(store_key(&mut tx, key, now).await?)
    };
    tx.commit().await?;
    Ok(stored)
}

/// Retires the active keys of the kinds nothing signs with under `access` (an `ES256`
/// key once access tokens are signed otherwise: ID tokens are never `ES256`). They stay
/// published, and verify the tokens they signed, until those have expired. Returns the
/// kids retired.
pub(super) async fn retire_unused_kinds(
    db: &Db,
    access: AccessTokenAlgorithm,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<String>> {
    let in_use = kinds_in_use(access);
    let mut retired = Vec::new();
    for (_, kind) in AccessTokenAlgorithm::ALL {
        let algorithm = jose(kind);
        if in_use.contains(&algorithm) {
            continue;
        }
        let kids: Vec<(String,)> = on_exec!(db, c => sqlx::query_as(
            "UPDATE signing_keys SET retired_at = $1 WHERE algorithm = $2 AND retired_at IS NULL RETURNING kid")
            .bind(now)
            .bind(algorithm_name(algorithm))
            .fetch_all(c)
            .await)?;
        retired.extend(kids.into_iter().map(|(kid,)| kid));
    }
    Ok(retired)
}

pub(super) async fn load_stored(db: &Db) -> Result<Vec<StoredKey>, sqlx::Error> {
    on_exec!(db, c => sqlx::query_as::<_, StoredKey>(
        "SELECT kid, algorithm, private_key, public_jwk, retired_at FROM signing_keys ORDER BY created_at, kid")
        .fetch_all(c)
        .await)
}

/// What `roster keys rotate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The new key that signs access tokens, of the configured algorithm.
    pub kid: String,
    pub algorithm: AccessTokenAlgorithm,
    /// The new RSA key that signs `RS256` ID tokens (`kid` itself under `RS256`).
    pub rsa_kid: String,
    /// The new Ed25519 key that signs `EdDSA` ID tokens (`kid` itself under `EdDSA`).
    pub ed25519_kid: String,
    /// The keys it retired (those that signed until now: one of each kind in use).
    pub retired: Vec<String>,
}

/// Adds a new key of each kind in use under `access` (the access tokens' kind, and the
/// two ID-token kinds) and retires every other key (`roster keys rotate`). Refuses,
/// writing nothing, when a key that signs now cannot be opened with `cipher`: the
/// configuration is not the one the instances run with, and retiring their key would
/// leave them signing with a key nobody publishes.
pub async fn rotate(
    db: &Db,
    cipher: &Cipher,
    now: DateTime<Utc>,
    access: AccessTokenAlgorithm,
) -> anyhow::Result<Rotation> {
    let mut tx = db.begin().await?;
    let active: Vec<StoredKey> = on_exec!(&mut tx, c => sqlx::query_as::<_, StoredKey>(
        "SELECT kid, algorithm, private_key, public_jwk, retired_at FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at, kid")
        .fetch_all(c)
        .await)?;
    if let Some(current) = active
        .iter()
        .find(|key| cipher.open(&key.private_key, key.kid.as_bytes()).is_err())
    {
        anyhow::bail!(
            "the current signing key {} cannot be opened with this ENCRYPTION_KEY: nothing was rotated or retired",
            current.kid
        );
    }
    let mut new_kids = Vec::new();
    for algorithm in kinds_in_use(access) {
        new_kids.push((
            algorithm,
            insert_key(&mut tx, cipher, algorithm, now).await?,
        ));
    }
    let new_kid = |wanted: Algorithm| {
        new_kids
            .iter()
            .find(|(algorithm, _)| *algorithm == wanted)
            .map(|(_, kid)| kid.clone())
            .unwrap_or_default()
    };
    let (kid, rsa_kid, ed25519_kid) = (
        new_kid(jose(access)),
        new_kid(Algorithm::RS256),
        new_kid(Algorithm::EdDSA),
    );
    for key in &active {
        on_exec!(&mut tx, c => sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE kid = $2 AND retired_at IS NULL")
            .bind(now)
            .bind(&key.kid)
            .execute(c)
            .await.map(|r| r.rows_affected()))?;
    }
    tx.commit().await?;
    Ok(Rotation {
        kid,
        algorithm: access,
        rsa_kid,
        ed25519_kid,
        retired: active.into_iter().map(|key| key.kid).collect(),
    })
}

/// A stored signing key as `roster keys list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyListing {
    pub kid: String,
    pub algorithm: String,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    /// Whether `cipher` opens its private half.
    pub opens: bool,
}

/// kid, algorithm, sealed private key, created, retired.
type ListedRow = (
    String,
    String,
    Vec<u8>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

/// Every stored signing key, oldest first, and whether `cipher` opens it.
pub async fn list(db: &Db, cipher: &Cipher) -> anyhow::Result<Vec<KeyListing>> {
    let rows: Vec<ListedRow> = on_exec!(db, c => sqlx::query_as(
        "SELECT kid, algorithm, private_key, created_at, retired_at FROM signing_keys ORDER BY created_at, kid")
        .fetch_all(c)
        .await)?;
    Ok(rows
        .into_iter()
        .map(
            |(kid, algorithm, sealed, created_at, retired_at)| KeyListing {
                opens: cipher.open(&sealed, kid.as_bytes()).is_ok(),
                kid,
                algorithm,
                created_at,
                retired_at,
            },
        )
        .collect())
}
