//! Signing keys: Ed25519 and RSA key pairs kept in `signing_keys`, their private halves
//! sealed with the encryption key, their public halves published as a JWK set.
//!
//! The newest Ed25519 key that is not retired signs access tokens (and `EdDSA` ID
//! tokens); the newest RSA key signs `RS256` ID tokens, the algorithm every OpenID
//! client supports. `roster keys rotate` inserts a new key of each kind and retires the
//! others; every instance reloads the table every `KEY_REFRESH_SECONDS` (at most 10 s),
//! so all of them sign with the new keys and publish them without a restart. A retired
//! key stays published (and accepted) until every token it can have signed has expired.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;

use crate::crypto::Cipher;
use crate::db::Db;

mod store;

pub use store::{KeyListing, Rotation, list, rotate};
use store::{StoredKey, insert_key, load_stored};

/// How long after retirement a key remains published, beyond the access-token
/// lifetime: covers instances that have not reloaded yet and clock skew.
const RETIREMENT_GRACE: Duration = Duration::from_secs(5 * 60);

/// ID tokens last longer than a retired key's grace: an RP may check one it holds.
const ID_TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// The keys an instance signs and verifies with, built from the table (or the HS256 secret).
pub struct KeySet {
    /// The access tokens' algorithm.
    pub algorithm: Algorithm,
    pub signing_kid: String,
    signer: Signer,
    /// The keys that verify access tokens, by kid.
    pub verifying: HashMap<String, DecodingKey>,
    /// The serialized `{"keys": [...]}` document, built once per reload.
    pub jwks: bytes::Bytes,
    /// The keys that verify ID tokens (`/oauth2/jwks`, the discovery's `jwks_uri`): the
    /// same document as `jwks`, except with an HS256 secret, where `jwks` is empty.
    pub id_jwks: bytes::Bytes,
    /// The ID-token signers (none in an HS256-only key set).
    rsa: Option<(String, EncodingKey)>,
    ed25519: Option<(String, Box<ed25519_dalek::SigningKey>)>,
    /// Every published key, by kid, with its algorithm: what Roster's own ID tokens
    /// (an `id_token_hint`) are checked with.
    own: HashMap<String, (Algorithm, DecodingKey)>,
}

/// How an ID token is signed (the client's `id_token_signed_response_alg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenAlgorithm {
    Rs256,
    EdDsa,
}

impl IdTokenAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            IdTokenAlgorithm::Rs256 => "RS256",
            IdTokenAlgorithm::EdDsa => "EdDSA",
        }
    }

    pub fn parse(value: &str) -> Option<IdTokenAlgorithm> {
        match value {
            "RS256" => Some(IdTokenAlgorithm::Rs256),
            "EdDSA" => Some(IdTokenAlgorithm::EdDsa),
            _ => None,
        }
    }
}

/// The private key, in the form that signs without further work.
enum Signer {
    Secret(EncodingKey),
    /// Expanded once per reload: `jsonwebtoken::encode` would parse the PKCS#8 document
    /// and derive the public key (a scalar multiplication) again for every token.
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

impl KeySet {
    /// A shared-secret key set: HS256, nothing published.
    pub fn hs256(secret: &str) -> KeySet {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(secret.as_bytes());
        let kid = format!("hs256-{}", hex::encode(&digest[..6]));
        let mut verifying = HashMap::new();
        verifying.insert(kid.clone(), DecodingKey::from_secret(secret.as_bytes()));
        KeySet {
            algorithm: Algorithm::HS256,
            signing_kid: kid,
            signer: Signer::Secret(EncodingKey::from_secret(secret.as_bytes())),
            verifying,
            jwks: bytes::Bytes::from_static(br#"{"keys":[]}"#),
            id_jwks: bytes::Bytes::from_static(br#"{"keys":[]}"#),
            rsa: None,
            ed25519: None,
            own: HashMap::new(),
        }
    }

    /// This key set with access tokens signed by the shared HS256 `secret` instead: the
    /// stored keys still sign (and publish) ID tokens, but verify no access token.
    pub fn with_access_secret(self, secret: &str) -> KeySet {
        let access = KeySet::hs256(secret);
        KeySet {
            algorithm: access.algorithm,
            signing_kid: access.signing_kid,
            signer: access.signer,
            verifying: access.verifying,
            jwks: access.jwks,
            ..self
        }
    }

    /// An ID token: `claims` signed with the newest key of `algorithm`.
    pub fn sign_id_token<T: Serialize>(
        &self,
        algorithm: IdTokenAlgorithm,
        claims: &T,
    ) -> anyhow::Result<String> {
        match algorithm {
            IdTokenAlgorithm::Rs256 => {
                let (kid, key) = self
                    .rsa
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("no RSA key can sign ID tokens"))?;
                let mut header = Header::new(Algorithm::RS256);
                header.kid = Some(kid.clone());
                Ok(jsonwebtoken::encode(&header, claims, key)?)
            }
            IdTokenAlgorithm::EdDsa => {
                let (kid, key) = self
                    .ed25519
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("no Ed25519 key can sign ID tokens"))?;
                let mut header = Header::new(Algorithm::EdDSA);
                header.kid = Some(kid.clone());
                Ok(compact_ed25519(key, &header, claims)?)
            }
        }
    }

    /// The claims of a token Roster signed with one of its published keys (an ID token
    /// given back as `id_token_hint`), checking the signature only: expiry and audience
    /// are the caller's to judge. `None` when no published key signed it.
    pub fn verify_own_signature(&self, token: &str) -> Option<serde_json::Value> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let (algorithm, key) = self.own.get(header.kid.as_deref()?)?;
        if header.alg != *algorithm {
            return None;
        }
        let mut validation = jsonwebtoken::Validation::new(*algorithm);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<serde_json::Value>(token, key, &validation)
            .ok()
            .map(|data| data.claims)
    }

    /// A compact JWS of `claims` under `header` (whose `alg` is [`Self::algorithm`]),
    /// signed with the current key.
    pub fn sign<T: Serialize>(&self, header: &Header, claims: &T) -> anyhow::Result<String> {
        anyhow::ensure!(
            header.alg == self.algorithm,
            "the header names another algorithm"
        );
        match &self.signer {
            Signer::Secret(key) => Ok(jsonwebtoken::encode(header, claims, key)?),
            Signer::Ed25519(key) => Ok(compact_ed25519(key, header, claims)?),
        }
    }

    /// Builds the key set from the table; `None` when no Ed25519 key can sign.
    fn from_stored(
        stored: &[StoredKey],
        cipher: &Cipher,
        now: DateTime<Utc>,
        access_ttl: Duration,
    ) -> anyhow::Result<Option<KeySet>> {
        let mut signer: Option<(String, ed25519_dalek::SigningKey)> = None;
        let mut rsa: Option<(String, EncodingKey)> = None;
        let mut verifying = HashMap::new();
        let mut own = HashMap::new();
        let mut published = Vec::new();
        // Oldest first, so the last active key seen is the newest.
        for key in stored {
            let (algorithm, window) = match key.algorithm.as_str() {
                "EdDSA" => (Algorithm::EdDSA, access_ttl.max(ID_TOKEN_LIFETIME)),
                "RS256" => (Algorithm::RS256, ID_TOKEN_LIFETIME),
                _ => continue,
            };
            let publish_window = chrono::Duration::from_std(window + RETIREMENT_GRACE)?;
            let live = key
                .retired_at
                .is_none_or(|retired| retired + publish_window > now);
            if !live {
                continue;
            }
            let jwk: Jwk = match serde_json::from_str(&key.public_jwk) {
                Ok(jwk) => jwk,
                Err(e) => {
                    tracing::error!(kid = %key.kid, error = %e, "skipping a signing key whose public JWK cannot be read");
                    continue;
                }
            };
            let decoding = DecodingKey::from_jwk(&jwk)?;
            if algorithm == Algorithm::EdDSA {
                verifying.insert(key.kid.clone(), decoding.clone());
            }
            own.insert(key.kid.clone(), (algorithm, decoding));
            published.push(jwk);
            if key.retired_at.is_some() {
                continue;
            }
            let Ok(der) = cipher.open(&key.private_key, key.kid.as_bytes()) else {
                tracing::error!(kid = %key.kid, "cannot decrypt this signing key: was ENCRYPTION_KEY changed?");
                continue;
            };
            if algorithm == Algorithm::RS256 {
                rsa = Some((key.kid.clone(), EncodingKey::from_rsa_der(&der)));
                continue;
            }
            match ed25519_dalek::SigningKey::from_pkcs8_der(&der) {
                Ok(private) => signer = Some((key.kid.clone(), private)),
                Err(_) => {
                    tracing::error!(kid = %key.kid, "skipping a signing key that is not an Ed25519 PKCS#8 key")
                }
            }
        }
        let Some((signing_kid, signing_key)) = signer else {
            return Ok(None);
        };
        let jwks = serde_json::to_vec(&JwkSet { keys: published })?;
        Ok(Some(KeySet {
            algorithm: Algorithm::EdDSA,
            signing_kid: signing_kid.clone(),
            signer: Signer::Ed25519(Box::new(signing_key.clone())),
            verifying,
            jwks: jwks.clone().into(),
            id_jwks: jwks.into(),
            rsa,
            ed25519: Some((signing_kid, Box::new(signing_key))),
            own,
        }))
    }

    /// Whether this key set can sign ID tokens with `algorithm`.
    pub fn signs_id_tokens(&self, algorithm: IdTokenAlgorithm) -> bool {
        match algorithm {
            IdTokenAlgorithm::Rs256 => self.rsa.is_some(),
            IdTokenAlgorithm::EdDsa => self.ed25519.is_some(),
        }
    }
}

/// A compact JWS of `claims` signed with the Ed25519 `key`.
fn compact_ed25519<T: Serialize>(
    key: &ed25519_dalek::SigningKey,
    header: &Header,
    claims: &T,
) -> serde_json::Result<String> {
    let mut token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header)?);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(claims)?, &mut token);
    let signature = key.sign(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut token);
    Ok(token)
}

/// Loads the key set, creating the first Ed25519 key when the table has none that this
/// instance can use. The first RSA key is not made here: generating one takes 50 ms to
/// over a second, so the application makes it after start-up with [`create_rsa_key`]
/// while it already serves (ID tokens wait for it, see
/// `TokenService::key_set_for_id_tokens`).
pub async fn load_or_create(
    db: &Db,
    cipher: &Cipher,
    now: DateTime<Utc>,
    access_ttl: Duration,
) -> anyhow::Result<KeySet> {
    if let Some(loaded) = KeySet::from_stored(&load_stored(db).await?, cipher, now, access_ttl)? {
        return Ok(loaded);
    }
    let kid = insert_key(db, cipher, Algorithm::EdDSA, now).await?;
    tracing::info!(kid = %kid, "created a signing key");
    KeySet::from_stored(&load_stored(db).await?, cipher, now, access_ttl)?
        .ok_or_else(|| anyhow::anyhow!("no usable signing key after creating one"))
}

/// Makes the RSA key that signs ID tokens when no instance has made one yet: `Some(kid)`
/// when this call stored it, `None` when a usable one was there already (another
/// instance starting on the same fresh database won the race).
pub async fn create_rsa_key(
    db: &Db,
    cipher: &Cipher,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    store::insert_first_rsa_key(db, cipher, now).await
}

/// Reloads the key set; `None` when nothing usable is stored (keep the current one).
pub async fn reload(
    db: &Db,
    cipher: &Cipher,
    now: DateTime<Utc>,
    access_ttl: Duration,
) -> anyhow::Result<Option<KeySet>> {
    KeySet::from_stored(&load_stored(db).await?, cipher, now, access_ttl)
}

#[cfg(test)]
mod tests {
    use super::store::generate_key;
    use super::*;

    #[test]
    fn the_expanded_key_signs_exactly_what_jsonwebtoken_signs() {
        let cipher = Cipher::new(&[7; 32]);
        let (kid, sealed, public_jwk) = generate_key(&cipher, Algorithm::EdDSA).unwrap();
        let stored = StoredKey {
            kid: kid.clone(),
            algorithm: "EdDSA".into(),
            private_key: sealed.clone(),
            public_jwk,
            retired_at: None,
        };
        let keys = KeySet::from_stored(&[stored], &cipher, Utc::now(), Duration::from_secs(900))
            .unwrap()
            .expect("one signing key");
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.clone());
        let claims = serde_json::json!({"sub": "someone", "exp": 4_000_000_000u64, "n": [1, 2]});
        let ours = keys.sign(&header, &claims).unwrap();
        // Ed25519 signatures are deterministic: the same bytes as the library's own path.
        let der = cipher.open(&sealed, kid.as_bytes()).unwrap();
        let theirs =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&der)).unwrap();
        assert_eq!(ours, theirs);
        let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
        validation.set_required_spec_claims(&["exp"]);
        let decoded =
            jsonwebtoken::decode::<serde_json::Value>(&ours, &keys.verifying[&kid], &validation)
                .unwrap();
        assert_eq!(decoded.claims, claims);
        assert!(keys.sign(&Header::new(Algorithm::HS256), &claims).is_err());
    }
}
