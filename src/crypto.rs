//! Secrets at rest and secret tokens.
//!
//! - [`Cipher`]: AES-256-GCM under `ENCRYPTION_KEY`, a fresh random nonce per write and
//!   associated data binding a ciphertext to its owner, so a tampered or moved value is
//!   an error, never garbage. Used for signing keys and payment tokens.
//! - [`random_token`] / [`token_hash`]: opaque bearer secrets (refresh, reset and
//!   verification tokens) are 256 random bits, handed out once, stored as SHA-256.

use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt;
use sha2::{Digest, Sha256};

use crate::config::Config;

const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct Cipher(Aes256Gcm);

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the ciphertext could not be authenticated (wrong key, tampered or truncated)")]
pub struct DecryptError;

impl Cipher {
    pub fn new(key: &[u8; 32]) -> Cipher {
        Cipher(Aes256Gcm::new(key.into()))
    }

    /// `nonce || ciphertext+tag`, bound to `context` (e.g. the owning row's id).
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::rng().random();
        let ciphertext = self
            .0
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(DecryptError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| DecryptError)?;
        self.0
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| DecryptError)
    }
}

/// `ENCRYPTION_KEY`, or in development a key generated once into a file beside the database.
pub fn encryption_key(config: &Config) -> anyhow::Result<[u8; 32]> {
    if let Some(key) = config.encryption_key {
        return Ok(key);
    }
    let path = config.key_file_path();
    let (key, created) = load_or_create_key_file(&path)?;
    if created {
        tracing::warn!(path = %path.display(), "ENCRYPTION_KEY is not set: generated a development key file (owner-only); set ENCRYPTION_KEY in production");
    } else {
        tracing::warn!(path = %path.display(), "ENCRYPTION_KEY is not set: using the development key file");
    }
    Ok(key)
}

/// Loads the development key file, or creates it (owner-only permissions) when missing.
/// Returns the key and whether it was just generated.
pub fn load_or_create_key_file(path: &Path) -> anyhow::Result<([u8; 32], bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = crate::config::decode_key(text.trim())
                .map_err(|m| anyhow::anyhow!("the key file {} {m}", path.display()))?;
            Ok((key, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = rand::rng().random();
            let encoded = base64::engine::general_purpose::STANDARD.encode(key);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut file) => {
                    file.write_all(encoded.as_bytes())?;
                    file.sync_all()?;
                    Ok((key, true))
                }
                // Another instance created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create_key_file(path)
                }
                Err(e) => Err(anyhow::anyhow!(
                    "cannot create the key file {}: {e}",
                    path.display()
                )),
            }
        }
        Err(e) => Err(anyhow::anyhow!(
            "cannot read the key file {}: {e}",
            path.display()
        )),
    }
}

/// A new opaque secret: 32 random bytes, base64url without padding (43 characters).
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for an opaque secret: its SHA-256. Lookups by hash are by equality on
/// an indexed column, so no comparison of secret material happens in Rust.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let cipher = Cipher::new(&[1; 32]);
        let sealed = cipher.seal(b"tok_visa_4242", b"user-1");
        assert_eq!(cipher.open(&sealed, b"user-1").unwrap(), b"tok_visa_4242");
        assert!(cipher.open(&sealed, b"user-2").is_err());
        assert!(Cipher::new(&[2; 32]).open(&sealed, b"user-1").is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(cipher.open(&tampered, b"user-1").is_err());
        assert!(cipher.open(&sealed[..10], b"user-1").is_err());
        assert_ne!(
            cipher.seal(b"x", b""),
            cipher.seal(b"x", b""),
            "nonces must differ"
        );
    }

    #[test]
    fn random_tokens_carry_256_bits() {
        let token = random_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        assert_ne!(token, random_token());
        assert_eq!(token_hash(&token).len(), 32);
    }
}
