//! New key pairs of the three kinds Roster signs with: Ed25519 (`EdDSA`), P-256 (`ES256`)
//! and RSA 2048 (`RS256`). Each comes back as its kid, its private half sealed with the
//! encryption key (under the kid as associated data) and its public half as a JWK, in
//! the DER form jsonwebtoken reads the private half in: PKCS#8 for Ed25519 and P-256,
//! PKCS#1 for RSA.

use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey};
use rand::RngExt;
use uuid::Uuid;

use crate::crypto::Cipher;

/// The RSA modulus size: 2048 bits, what RFC 7518 §3.3 requires at least.
const RSA_BITS: usize = 2048;

/// A generated key pair, ready to store.
pub(super) struct Generated {
    pub(super) kid: String,
    pub(super) sealed: Vec<u8>,
    pub(super) public_jwk: String,
}

/// A new key pair for `algorithm` (`EdDSA`, `ES256` or `RS256`). An RSA key takes tens
/// of milliseconds: call this off the async threads.
pub(super) fn generate_key(cipher: &Cipher, algorithm: Algorithm) -> anyhow::Result<Generated> {
    let der = match algorithm {
        Algorithm::EdDSA => ed25519_der()?,
        Algorithm::ES256 => p256_der()?,
        Algorithm::RS256 => rsa_der()?,
        other => anyhow::bail!("Roster makes no {other:?} keys"),
    };
    let encoding = encoding_key(algorithm, &der);
    let kid = Uuid::now_v7().simple().to_string();
    let mut jwk = Jwk::from_encoding_key(&encoding, algorithm)?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Ok(Generated {
        sealed: cipher.seal(&der, kid.as_bytes()),
        public_jwk: serde_json::to_string(&jwk)?,
        kid,
    })
}

/// The private key `der` (as [`generate_key`] makes it) in jsonwebtoken's form.
pub(super) fn encoding_key(algorithm: Algorithm, der: &[u8]) -> EncodingKey {
    match algorithm {
        Algorithm::EdDSA => EncodingKey::from_ed_der(der),
        Algorithm::ES256 => EncodingKey::from_ec_der(der),
        _ => EncodingKey::from_rsa_der(der),
    }
}

/// PKCS#8 v1 (no public key): the 48-byte form jsonwebtoken reads.
fn ed25519_der() -> anyhow::Result<Vec<u8>> {
    let seed: [u8; 32] = rand::rng().random();
    let der = ed25519_dalek::pkcs8::KeypairBytes {
        secret_key: seed,
        public_key: None,
    }
    .to_pkcs8_der()
    .map_err(|e| anyhow::anyhow!("cannot encode the Ed25519 key: {e}"))?;
    Ok(der.as_bytes().to_vec())
}

/// A P-256 private key as PKCS#8, from 32 random bytes (a value outside the curve's
/// order, one chance in 2^32, is drawn again).
fn p256_der() -> anyhow::Result<Vec<u8>> {
    use p256::pkcs8::EncodePrivateKey as _;
    let secret = loop {
        let bytes: [u8; 32] = rand::rng().random();
        if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
            break secret;
        }
    };
    let der = secret
        .to_pkcs8_der()
        .map_err(|e| anyhow::anyhow!("cannot encode the P-256 key: {e}"))?;
    Ok(der.as_bytes().to_vec())
}

fn rsa_der() -> anyhow::Result<Vec<u8>> {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, RSA_BITS)?;
    let der = private
        .to_pkcs1_der()
        .map_err(|e| anyhow::anyhow!("cannot encode the RSA key: {e}"))?;
    Ok(der.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_publishes_a_public_jwk_that_verifies_its_own_signature() {
        let cipher = Cipher::new(&[3; 32]);
        for (algorithm, kty) in [
            (Algorithm::EdDSA, "OKP"),
            (Algorithm::ES256, "EC"),
            (Algorithm::RS256, "RSA"),
        ] {
            let key = generate_key(&cipher, algorithm).unwrap();
            let jwk: serde_json::Value = serde_json::from_str(&key.public_jwk).unwrap();
            assert_eq!(jwk["kty"], kty);
            assert_eq!(jwk["kid"], key.kid.as_str());
            assert_eq!(jwk["use"], "sig");
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(jwk.get(private).is_none(), "{kty} JWK holds {private}");
            }
            let der = cipher.open(&key.sealed, key.kid.as_bytes()).unwrap();
            let encoding = encoding_key(algorithm, &der);
            let claims = serde_json::json!({"sub": "s", "exp": 4_000_000_000u64});
            let token =
                jsonwebtoken::encode(&jsonwebtoken::Header::new(algorithm), &claims, &encoding)
                    .unwrap();
            let decoding =
                jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(jwk).unwrap()).unwrap();
            let validation = jsonwebtoken::Validation::new(algorithm);
            jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation).unwrap();
        }
        assert!(generate_key(&cipher, Algorithm::HS256).is_err());
    }
}
