//! Signing keys: Ed25519, P-256 and RSA key pairs kept in `signing_keys`, their private
//! halves sealed with the encryption key, their public halves published as a JWK set.
//!
//! Access tokens are signed by the newest active key of the kind `ACCESS_TOKEN_ALGORITHM`
//! names (`EdDSA` by default, `ES256` or `RS256`); ID tokens by the newest RSA key
//! (`RS256`, what every OpenID client supports) or the newest Ed25519 key (`EdDSA`, for
//! the clients that ask for it). So the table holds a key of each of those kinds, made
//! when missing: at start-up for the access tokens' kind and Ed25519, just after it for
//! RSA (see [`create_rsa_key`]). `roster keys rotate` inserts a new key of each kind in
//! use and retires the others; a changed `ACCESS_TOKEN_ALGORITHM` makes a key of the new
//! kind at start-up, which signs from then on, and retires a kind nothing signs with any
//! more. Every instance reloads the table every `KEY_REFRESH_SECONDS` (at most 10 s), so
//! all of them sign with the new keys and publish them without a restart. A retired key
//! stays published (and accepted) until every token it can have signed has expired.
//!
//! An access token is verified with the published key its `kid` names and with that
//! key's algorithm only, exactly as a service verifying it from the JWK set does: after
//! an algorithm change, tokens signed with the previous kind stay valid until they
//! expire, and no token passes with an `alg` other than its key's.

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

pub use crate::config::AccessTokenAlgorithm;
use crate::config::TokenConfig;
use crate::crypto::Cipher;
use crate::db::Db;

mod generate;
mod store;

pub use store::{KeyListing, Rotation, list, rotate};
use store::{StoredKey, load_stored};

/// How long after retirement a key remains published, beyond the tokens it can have
/// signed: covers instances that have not reloaded yet and clock skew.
const RETIREMENT_GRACE: Duration = Duration::from_secs(5 * 60);

/// ID tokens last longer than a retired key's grace: an RP may check one it holds.
const ID_TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// The JOSE algorithm of `access`.
pub fn jose(access: AccessTokenAlgorithm) -> Algorithm {
    match access {
        AccessTokenAlgorithm::EdDsa => Algorithm::EdDSA,
        AccessTokenAlgorithm::Es256 => Algorithm::ES256,
        AccessTokenAlgorithm::Rs256 => Algorithm::RS256,
    }
}

/// The name `signing_keys.algorithm` stores for a key of `algorithm`.
fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::ES256 => "ES256",
        Algorithm::RS256 => "RS256",
        _ => "EdDSA",
    }
}

/// The kinds of key that sign under `access`: its own first, then the ID tokens' two.
fn kinds_in_use(access: AccessTokenAlgorithm) -> Vec<Algorithm> {
    let mut kinds = vec![jose(access)];
    for id_kind in [Algorithm::EdDSA, Algorithm::RS256] {
        if !kinds.contains(&id_kind) {
            kinds.push(id_kind);
        }
    }
    kinds
}

/// The kind of stored key that signs access tokens. With `JWT_SECRET_KEY` none does (the
/// secret does), and the table keeps the ID tokens' kinds only, as it always has.
fn stored_access_kind(tokens: &TokenConfig) -> AccessTokenAlgorithm {
    match tokens.jwt_secret_key {
        Some(_) => AccessTokenAlgorithm::EdDsa,
        None => tokens.access_algorithm,
    }
}

/// The keys an instance signs and verifies with, built from the table (or the HS256 secret).
pub struct KeySet {
    /// The access tokens' algorithm.
    pub algorithm: Algorithm,
    pub signing_kid: String,
    signer: Signer,
    /// The keys that verify access tokens, by kid, each with the one algorithm it
    /// verifies: every published key, or only the HS256 secret.
    pub verifying: HashMap<String, (Algorithm, DecodingKey)>,
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

/// The private key that signs access tokens.
enum Signer {
    /// The HS256 secret, or a P-256 or RSA key, signed with by `jsonwebtoken::encode`.
    Encoding(EncodingKey),
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
        verifying.insert(
            kid.clone(),
            (
                Algorithm::HS256,
                DecodingKey::from_secret(secret.as_bytes()),
            ),
        );
        KeySet {
            algorithm: Algorithm::HS256,
            signing_kid: kid,
            signer: Signer::Encoding(EncodingKey::from_secret(secret.as_bytes())),
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
            Signer::Encoding(key) => Ok(jsonwebtoken::encode(header, claims, key)?),
            Signer::Ed25519(key) => Ok(compact_ed25519(key, header, claims)?),
        }
    }

    /// Builds the key set from the table; `None` when no active key of `access`'s kind
    /// can sign.
    fn from_stored(
        stored: &[StoredKey],
        cipher: &Cipher,
        now: DateTime<Utc>,
        access_ttl: Duration,
        access: AccessTokenAlgorithm,
    ) -> anyhow::Result<Option<KeySet>> {
        let mut signers: HashMap<Algorithm, (String, Vec<u8>)> = HashMap::new();
        let mut own = HashMap::new();
        let mut published = Vec::new();
        // Oldest first, so the last active key of a kind seen is the newest.
        for key in stored {
            let (algorithm, signed_for) = match key.algorithm.as_str() {
                "EdDSA" => (Algorithm::EdDSA, access_ttl.max(ID_TOKEN_LIFETIME)),
                "RS256" => (Algorithm::RS256, access_ttl.max(ID_TOKEN_LIFETIME)),
                "ES256" => (Algorithm::ES256, access_ttl),
                _ => continue,
            };
            let publish_window = chrono::Duration::from_std(signed_for + RETIREMENT_GRACE)?;
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
            own.insert(key.kid.clone(), (algorithm, DecodingKey::from_jwk(&jwk)?));
            published.push(jwk);
            if key.retired_at.is_some() {
                continue;
            }
            let Ok(der) = cipher.open(&key.private_key, key.kid.as_bytes()) else {
                tracing::error!(kid = %key.kid, "cannot decrypt this signing key: was ENCRYPTION_KEY changed?");
                continue;
            };
            signers.insert(algorithm, (key.kid.clone(), der));
        }
        let ed25519 = match signers.remove(&Algorithm::EdDSA) {
            Some((kid, der)) => match ed25519_dalek::SigningKey::from_pkcs8_der(&der) {
                Ok(private) => Some((kid, Box::new(private))),
                Err(_) => {
                    tracing::error!(kid = %kid, "skipping a signing key that is not an Ed25519 PKCS#8 key");
                    None
                }
            },
            None => None,
        };
        let encoding = |algorithm| {
            signers
                .get(&algorithm)
                .map(|(kid, der)| (kid.clone(), generate::encoding_key(algorithm, der)))
        };
        let rsa = encoding(Algorithm::RS256);
        let (signing_kid, signer) = match access {
            AccessTokenAlgorithm::EdDsa => match &ed25519 {
                Some((kid, key)) => (kid.clone(), Signer::Ed25519(key.clone())),
                None => return Ok(None),
            },
            other => match encoding(jose(other)) {
                Some((kid, key)) => (kid, Signer::Encoding(key)),
                None => return Ok(None),
            },
        };
        let jwks: bytes::Bytes = serde_json::to_vec(&JwkSet { keys: published })?.into();
        Ok(Some(KeySet {
            algorithm: jose(access),
            signing_kid,
            signer,
            verifying: own.clone(),
            jwks: jwks.clone(),
            id_jwks: jwks,
            rsa,
            ed25519,
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

/// Loads the key set, first making what the table lacks for this configuration: an
/// active key of the access tokens' kind (after an `ACCESS_TOKEN_ALGORITHM` change, the
/// first of the new kind, which signs from now on) and the Ed25519 key of `EdDSA` ID
/// tokens; and retiring a kind nothing signs with any more. The first RSA key is made
/// here only when it signs access tokens: otherwise generating one (50 ms to over a
/// second) waits until the application already serves, see [`create_rsa_key`] (ID
/// tokens wait for it, see `TokenService::key_set_for_id_tokens`).
pub async fn load_or_create(
    db: &Db,
    cipher: &Cipher,
    now: DateTime<Utc>,
    tokens: &TokenConfig,
) -> anyhow::Result<KeySet> {
    let access = stored_access_kind(tokens);
    for algorithm in [jose(access), Algorithm::EdDSA] {
        if let Some(kid) = store::insert_first_key(db, cipher, algorithm, now).await? {
            tracing::info!(kid = %kid, algorithm = algorithm_name(algorithm), "created a signing key");
        }
    }
    let retired = store::retire_unused_kinds(db, access, now).await?;
    if !retired.is_empty() {
        tracing::info!(kids = %retired.join(", "), access_token_algorithm = access.as_str(),
            "retired the signing keys of a kind no longer in use; they stay published until their tokens expire");
    }
    reload(db, cipher, now, tokens).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "no usable {} signing key after creating one",
            access.as_str()
        )
    })
}

/// Makes the RSA key that signs ID tokens when no instance has made one yet: `Some(kid)`
/// when this call stored it, `None` when a usable one was there already (another
/// instance starting on the same fresh database won the race).
pub async fn create_rsa_key(
    db: &Db,
    cipher: &Cipher,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    store::insert_first_key(db, cipher, Algorithm::RS256, now).await
}

/// Reloads the key set; `None` when nothing usable is stored (keep the current one).
pub async fn reload(
    db: &Db,
    cipher: &Cipher,
    now: DateTime<Utc>,
    tokens: &TokenConfig,
) -> anyhow::Result<Option<KeySet>> {
    KeySet::from_stored(
        &load_stored(db).await?,
        cipher,
        now,
        tokens.access_ttl,
        stored_access_kind(tokens),
    )
}

#[cfg(test)]
mod tests {
    use super::generate::generate_key;
    use super::*;

    #[test]
    fn the_expanded_key_signs_exactly_what_jsonwebtoken_signs() {
        let cipher = Cipher::new(&[7; 32]);
        let key = generate_key(&cipher, Algorithm::EdDSA).unwrap();
        let (kid, sealed) = (key.kid.clone(), key.sealed.clone());
        let stored = StoredKey {
            kid: key.kid,
            algorithm: "EdDSA".into(),
            private_key: key.sealed,
            public_jwk: key.public_jwk,
            retired_at: None,
        };
        let keys = KeySet::from_stored(
            &[stored],
            &cipher,
            Utc::now(),
            Duration::from_secs(900),
            AccessTokenAlgorithm::EdDsa,
        )
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
            jsonwebtoken::decode::<serde_json::Value>(&ours, &keys.verifying[&kid].1, &validation)
                .unwrap();
        assert_eq!(decoded.claims, claims);
        assert!(keys.sign(&Header::new(Algorithm::HS256), &claims).is_err());
    }
}
