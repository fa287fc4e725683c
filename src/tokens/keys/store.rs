//! The `signing_keys` table: new Ed25519 and RSA keys (generated off the async threads,
//! their private halves sealed with the encryption key), the first RSA key of a fresh
//! database, rotation and the listing that `roster keys` shows. [`super::KeySet`] is built from what [`load_stored`] reads.

use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey};
use rand::RngExt;
use uuid::Uuid;

use crate::crypto::Cipher;
use crate::db::{Db, Exec, Tx};
use crate::on_exec;

/// The RSA modulus size: 2048 bits, what RFC 7518 §3.3 requires at least.
const RSA_BITS: usize = 2048;

#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct StoredKey {
    pub(super) kid: String,
    pub(super) algorithm: String,
    pub(super) private_key: Vec<u8>,
    pub(super) public_jwk: String,
    pub(super) retired_at: Option<DateTime<Utc>>,
}

/// A new key of `algorithm` (`EdDSA` or `RS256`): (kid, sealed private key, public JWK).
pub(super) fn generate_key(
    cipher: &Cipher,
    algorithm: Algorithm,
) -> anyhow::Result<(String, Vec<u8>, String)> {
    if algorithm == Algorithm::RS256 {
        return generate_rsa_key(cipher);
    }
    let kid = Uuid::now_v7().simple().to_string();
    let seed: [u8; 32] = rand::rng().random();
    // PKCS#8 v1 (no public key): the 48-byte form jsonwebtoken reads.
    let der = ed25519_dalek::pkcs8::KeypairBytes {
        secret_key: seed,
        public_key: None,
    }
    .to_pkcs8_der()
    .map_err(|e| anyhow::anyhow!("cannot encode the signing key: {e}"))?;
    let mut jwk =
        Jwk::from_encoding_key(&EncodingKey::from_ed_der(der.as_bytes()), Algorithm::EdDSA)?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    let sealed = cipher.seal(der.as_bytes(), kid.as_bytes());
    Ok((kid, sealed, serde_json::to_string(&jwk)?))
}

/// A new RSA key: (kid, sealed PKCS#1 private key, public JWK as JSON). Generating one
/// takes tens of milliseconds: it runs off the async threads.
fn generate_rsa_key(cipher: &Cipher) -> anyhow::Result<(String, Vec<u8>, String)> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let kid = Uuid::now_v7().simple().to_string();
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, RSA_BITS)?;
    let der = private
        .to_pkcs1_der()
        .map_err(|e| anyhow::anyhow!("cannot encode the RSA key: {e}"))?;
    let mut jwk =
        Jwk::from_encoding_key(&EncodingKey::from_rsa_der(der.as_bytes()), Algorithm::RS256)?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    let sealed = cipher.seal(der.as_bytes(), kid.as_bytes());
    Ok((kid, sealed, serde_json::to_string(&jwk)?))
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
    let (kid, sealed, jwk) =
        tokio::task::spawn_blocking(move || generate_key(&generating, algorithm)).await??;
    Ok(NewKey {
        algorithm,
        kid,
        sealed,
        jwk,
    })
}

/// A generated key, not stored yet.
struct NewKey {
    algorithm: Algorithm,
    kid: String,
    sealed: Vec<u8>,
    jwk: String,
}

async fn store_key(
    ex: impl Into<Exec<'_>>,
    key: NewKey,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let name = if key.algorithm == Algorithm::RS256 {
        "RS256"
    } else {
        "EdDSA"
    };
    on_exec!(ex, c => sqlx::query(
        "INSERT INTO signing_keys (kid, algorithm, private_key, public_jwk, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&key.kid)
        .bind(name)
        .bind(&key.sealed)
        .bind(&key.jwk)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(key.kid)
}

/// Stores a new RSA key unless an active one that `cipher` opens is there already; the
/// key is generated before the write transaction, which then only checks and inserts.
/// On PostgreSQL the table is locked against a concurrent check-and-insert, so that
/// instances starting together on a fresh database store one key, not one each.
pub(super) async fn insert_first_rsa_key(
    db: &Db,
    cipher: &Cipher,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    let key = generated(cipher, Algorithm::RS256).await?;
    let mut tx = db.begin().await?;
    if let Tx::Postgres(_) = tx {
        on_exec!(&mut tx, c => sqlx::query("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    let active: Vec<(String, Vec<u8>)> = on_exec!(&mut tx, c => sqlx::query_as(
        "SELECT kid, private_key FROM signing_keys WHERE algorithm = 'RS256' AND retired_at IS NULL")
        .fetch_all(c)
        .await)?;
    let stored = if active
        .iter()
        .any(|(kid, sealed)| cipher.open(sealed, kid.as_bytes()).is_ok())
    {
        None
    } else {
        Some(store_key(&mut tx, key, now).await?)
    };
    tx.commit().await?;
    Ok(stored)
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
    /// The new signing key.
    pub kid: String,
    /// The new RSA key that signs ID tokens.
    pub rsa_kid: String,
    /// The keys it retired (the one that signed until now, normally exactly one).
    pub retired: Vec<String>,
}

/// Adds a new signing key and retires the others (`roster keys rotate`). Refuses,
/// writing nothing, when the key that signs now cannot be opened with `cipher`: the
/// configuration is not the one the instances run with, and retiring their key would
/// leave them signing with a key nobody publishes.
pub async fn rotate(db: &Db, cipher: &Cipher, now: DateTime<Utc>) -> anyhow::Result<Rotation> {
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
    let kid = insert_key(&mut tx, cipher, Algorithm::EdDSA, now).await?;
    let rsa_kid = insert_key(&mut tx, cipher, Algorithm::RS256, now).await?;
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
        rsa_kid,
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
