//! ID tokens (OpenID Connect Core §2, §3.1.3.6): signed `RS256` unless the client
//! registered `EdDSA`, with `at_hash` (the left half of the access token's hash under the
//! signature's hash function: SHA-256 for RS256, SHA-512 for Ed25519 per the errata), and
//! the claims of the granted `profile` and `email` scopes.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256, Sha512};
use uuid::Uuid;

use super::claims::UserClaims;
use crate::tokens::access::Authentication;
use crate::tokens::keys::{IdTokenAlgorithm, KeySet};

/// How long an ID token (or the JWK set that verifies them) waits for its signing key on a
/// fresh database, whose first RSA key is made just after start-up.
pub const KEY_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    amr: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<Uuid>,
    #[serde(flatten)]
    user: &'a UserClaims,
}

/// What an ID token says.
pub struct IdToken<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub algorithm: IdTokenAlgorithm,
    pub authentication: &'a Authentication,
    pub nonce: Option<&'a str>,
    pub access_token: Option<&'a str>,
    /// The browser session the user signed in with (for logout).
    pub browser_session_id: Option<Uuid>,
    pub user: &'a UserClaims,
    pub lifetime: chrono::Duration,
}

impl IdToken<'_> {
    /// The signed token.
    pub fn sign(&self, keys: &KeySet, now: DateTime<Utc>) -> anyhow::Result<String> {
        let claims = IdTokenClaims {
            iss: self.issuer,
            aud: self.client_id,
            exp: (now + self.lifetime).timestamp(),
            iat: now.timestamp(),
            auth_time: self.authentication.time.timestamp(),
            nonce: self.nonce,
            amr: self.authentication.amr(),
            at_hash: self.access_token.map(|t| at_hash(self.algorithm, t)),
            sid: self.browser_session_id,
            user: self.user,
        };
        keys.sign_id_token(self.algorithm, &claims)
    }
}

/// `at_hash` of `access_token` for an ID token signed with `algorithm`.
pub fn at_hash(algorithm: IdTokenAlgorithm, access_token: &str) -> String {
    match algorithm {
        IdTokenAlgorithm::Rs256 => {
            let digest = Sha256::digest(access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&digest[..16])
        }
        IdTokenAlgorithm::EdDsa => {
            let digest = Sha512::digest(access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&digest[..32])
        }
    }
}

/// What an `id_token_hint` says, when it is an ID token this provider issued: signed by
/// one of its published keys, with its issuer, and not an access token (`typ` `at+jwt`),
/// which the same keys sign. Expiry is not checked (OpenID Connect Core §3.1.2.1: a hint
/// may have expired). `None` for anything else.
pub struct Hint {
    /// The user the ID token was issued for.
    pub subject: String,
    /// The client it was issued to (its first audience).
    pub client_id: Option<String>,
}

pub fn read_hint(keys: &KeySet, issuer: &str, hint: &str) -> Option<Hint> {
    let header = jsonwebtoken::decode_header(hint).ok()?;
    if header
        .typ
        .as_deref()
        .is_some_and(|typ| typ.eq_ignore_ascii_case("at+jwt"))
    {
        return None;
    }
    let claims = keys.verify_own_signature(hint)?;
    if claims["iss"].as_str() != Some(issuer) {
        return None;
    }
    let client_id = match &claims["aud"] {
        serde_json::Value::String(aud) => Some(aud.clone()),
        serde_json::Value::Array(auds) => auds
            .first()
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        _ => None,
    };
    Some(Hint {
        subject: claims["sub"].as_str()?.to_owned(),
        client_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_hash() {
        // OpenID Connect Core's example (A.3): access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y".
        assert_eq!(
            at_hash(
                IdTokenAlgorithm::Rs256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(at_hash(IdTokenAlgorithm::EdDsa, "x").len(), 43);
    }
}
