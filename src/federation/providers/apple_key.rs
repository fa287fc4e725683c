//! Apple's client credentials (kind `apple`). Apple takes no fixed client secret: each
//! code exchange carries a JWT signed ES256 with one of the team's keys (the `.p8` file
//! from Apple's developer console) naming the team (`iss`), the Services ID (`sub`),
//! Apple (`aud`) and the key (`kid`). An `apple` provider seals that key and its two ids
//! where other kinds seal their secret, and Roster signs a secret valid for five minutes
//! for each exchange, rather than an administrator pasting one valid for six months.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use crate::error::{FieldError, Why};
use crate::i18n::message_key;

/// How long a client secret Roster signs is valid.
const SECRET_LIFETIME_SECONDS: i64 = 300;
/// A P-256 key in PKCS#8 PEM is about 250 bytes; room for line breaks and spaces.
const MAX_KEY_TEXT: usize = 4096;
const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

/// A team's key for Sign in with Apple, with the ids Apple knows it by.
#[derive(Clone, Serialize, Deserialize)]
pub struct AppleKey {
    pub team_id: String,
    pub key_id: String,
    /// The PKCS#8 DER, base64 (the PEM's body).
    private_key: String,
}

impl std::fmt::Debug for AppleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppleKey")
            .field("team_id", &self.team_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct SecretClaims<'a> {
    iss: &'a str,
    iat: i64,
    exp: i64,
    aud: &'a str,
    sub: &'a str,
}

impl AppleKey {
    /// Checks the team id, the key id and the key (`client_secret`: the `.p8` file's
    /// text, its line breaks optional), naming each failing field in `errors`.
    pub fn check(
        errors: &mut Vec<FieldError>,
        team_id: Option<&str>,
        key_id: Option<&str>,
        key_text: &str,
    ) -> Option<AppleKey> {
        let team_id = check_id(errors, "team_id", team_id);
        let key_id = check_id(errors, "key_id", key_id);
        let private_key = match der_of(key_text) {
            Some(der) if signs_es256(&der) => Some(STANDARD.encode(der)),
            _ => {
                errors.push(
                    Why::new(
                        "must be the text of the .p8 key file Apple gave you: a P-256 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)",
                        message_key("field-apple-key"),
                    )
                    .at("client_secret"),
                );
                None
            }
        };
        Some(AppleKey {
            team_id: team_id?,
            key_id: key_id?,
            private_key: private_key?,
        })
    }

    /// What is sealed for the provider.
    pub fn sealed_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The key an `apple` provider's opened secret holds; None when it holds none.
    pub fn from_sealed_text(text: &str) -> Option<AppleKey> {
        serde_json::from_str(text).ok()
    }

    /// A client secret for the Services ID `client_id`, addressed to `audience` (Apple's
    /// issuer), valid from `now` for five minutes.
    pub fn client_secret(
        &self,
        client_id: &str,
        audience: &str,
        now: DateTime<Utc>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = SecretClaims {
            iss: &self.team_id,
            iat: now.timestamp(),
            exp: now.timestamp() + SECRET_LIFETIME_SECONDS,
            aud: audience,
            sub: client_id,
        };
        let der = STANDARD
            .decode(&self.private_key)
            .map_err(|_| jsonwebtoken::errors::ErrorKind::InvalidEcdsaKey)?;
        let key = EncodingKey::from_ec_der(&der);
        jsonwebtoken::encode(&header, &claims, &key)
    }
}

/// Apple's team and key ids: ten of `A-Z` and `0-9`.
fn check_id(errors: &mut Vec<FieldError>, field: &str, value: Option<&str>) -> Option<String> {
    let Some(value) = value else {
        errors.push(
            Why::new(
                "is required for kind apple",
                message_key("field-apple-required"),
            )
            .at(field),
        );
        return None;
    };
    let value = value.trim();
    let shaped = value.len() == 10
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !shaped {
        errors.push(
            Why::new(
                "must be the 10 characters (A-Z, 0-9) Apple's developer console shows",
                message_key("field-apple-id"),
            )
            .at(field),
        );
        return None;
    }
    Some(value.to_owned())
}

/// The key's PKCS#8 DER from the PEM as pasted (a password field drops line breaks);
/// None when it is not one PKCS#8 PEM block.
fn der_of(text: &str) -> Option<Vec<u8>> {
    if text.len() > MAX_KEY_TEXT {
        return None;
    }
    let body = text.trim().strip_prefix(PEM_BEGIN)?.strip_suffix(PEM_END)?;
    let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(body).ok().filter(|der| !der.is_empty())
}

/// Whether `der` is a key that signs ES256 (a P-256 key: another curve, or no key,
/// fails to sign).
fn signs_es256(der: &[u8]) -> bool {
    let key = EncodingKey::from_ec_der(der);
    jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &serde_json::json!({"probe": true}),
        &key,
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{DecodingKey, Validation};
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::pkcs8::EncodePrivateKey;

    use super::*;

    /// A new P-256 key: its PKCS#8 PEM, and the key that verifies its signatures.
    fn p256_pem() -> (String, DecodingKey) {
        let secret = loop {
            if let Ok(secret) = p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
                break secret;
            }
        };
        let der = STANDARD.encode(secret.to_pkcs8_der().unwrap().as_bytes());
        let lines: Vec<&str> = der
            .as_bytes()
            .chunks(64)
            .map(|line| std::str::from_utf8(line).unwrap())
            .collect();
        let pem = format!("{PEM_BEGIN}\n{}\n{PEM_END}\n", lines.join("\n"));
        let point = secret.public_key().to_encoded_point(false);
        let public = DecodingKey::from_ec_components(
            &URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            &URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        )
        .unwrap();
        (pem, public)
    }

    #[test]
    fn the_client_secret_names_team_key_client_and_apple_and_lasts_five_minutes() {
        let (private, public) = p256_pem();
        let mut errors = Vec::new();
        let key = AppleKey::check(
            &mut errors,
            Some("TEAM123456"),
            Some("KEY9876543"),
            &private,
        )
        .expect("a key");
        assert!(errors.is_empty(), "{errors:?}");
        let now = Utc::now();
        let secret = key
            .client_secret("com.example.web", "https://appleid.apple.com", now)
            .unwrap();
        let header = jsonwebtoken::decode_header(&secret).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some("KEY9876543"));
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&["https://appleid.apple.com"]);
        validation.set_issuer(&["TEAM123456"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(&secret, &public, &validation)
            .unwrap()
            .claims;
        assert_eq!(claims["sub"], "com.example.web");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            300
        );
    }

    #[test]
    fn a_key_pasted_without_line_breaks_is_the_same_key() {
        let (private, _) = p256_pem();
        let flat: String = private.lines().collect::<Vec<_>>().join("");
        let mut errors = Vec::new();
        let key = AppleKey::check(&mut errors, Some("TEAM123456"), Some("KEY9876543"), &flat)
            .expect("a key");
        let body: String = private
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert_eq!(key.private_key, body);
        let sealed = AppleKey::from_sealed_text(&key.sealed_text()).unwrap();
        assert_eq!(sealed.private_key, body);
        assert!(!format!("{key:?}").contains("PRIVATE"));
    }

    #[test]
    fn every_wrong_part_is_named() {
        let mut errors = Vec::new();
        let rsa_like = format!("{PEM_BEGIN}\nnot-base64!\n{PEM_END}");
        assert!(AppleKey::check(&mut errors, Some("team"), None, &rsa_like).is_none());
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["team_id", "key_id", "client_secret"]);
        let mut errors = Vec::new();
        assert!(
            AppleKey::check(
                &mut errors,
                Some("TEAM123456"),
                Some("KEY9876543"),
                "s3cret"
            )
            .is_none()
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "client_secret");
    }
}
