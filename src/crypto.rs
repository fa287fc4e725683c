//! Secrets at rest and secret tokens.
//!
//! - [`Cipher`]: AES-256-GCM under `ENCRYPTION_KEY`, a fresh random nonce per write and
//!   associated data binding a ciphertext to its owner, so a tampered or moved value is
//!   an error, never garbage. Used for signing keys and payment tokens.
//! - [`check_value`] / [`KeyCheck`]: the value the database keeps to recognise the key
//!   that sealed its secrets (a sealing of a fixed label, never the key), and the
//!   decision, before anything is written, whether the configured key may be used.
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

/// Where the configured encryption key comes from, as messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `ENCRYPTION_KEY`.
    Variable,
    /// `ENCRYPTION_KEY` is unset: the development key file at this path (which may not
    /// exist yet).
    KeyFile(std::path::PathBuf),
}

/// The configured key, without creating anything: `ENCRYPTION_KEY`, or the development
/// key file when it exists (`None` when it does not).
pub fn configured_key(config: &Config) -> anyhow::Result<(Option<[u8; 32]>, KeySource)> {
    if let Some(key) = config.encryption_key {
        return Ok((Some(key), KeySource::Variable));
    }
    let path = config.key_file_path();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key = crate::config::decode_key(text.trim()).map_err(|m| {
                anyhow::anyhow!(
                    "ENCRYPTION_KEY is unset and the development key file {} {m}",
                    path.display()
                )
            })?;
            Ok((Some(key), KeySource::KeyFile(path)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((None, KeySource::KeyFile(path))),
        Err(e) => Err(anyhow::anyhow!(
            "ENCRYPTION_KEY is unset and the development key file {} cannot be read: {e}",
            path.display()
        )),
    }
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

/// What the check value seals: a fixed label, so the value proves the key without
/// containing it or anything derived from it alone.
const CHECK_LABEL: &[u8] = b"roster encryption key check v1";
const CHECK_CONTEXT: &[u8] = b"encryption_key_check";

/// A new check value for `cipher`'s key (random nonce: two values of one key differ).
pub fn check_value(cipher: &Cipher) -> Vec<u8> {
    cipher.seal(CHECK_LABEL, CHECK_CONTEXT)
}

/// Whether `value` is a check value made with `cipher`'s key.
pub fn is_check_value_for(cipher: &Cipher, value: &[u8]) -> bool {
    cipher
        .open(value, CHECK_CONTEXT)
        .is_ok_and(|label| label == CHECK_LABEL)
}

/// A sealed value found in the database and the context it was sealed with.
#[derive(Debug, Clone)]
pub struct SealedSample {
    pub sealed: Vec<u8>,
    pub context: Vec<u8>,
}

/// What the database says about the key that sealed its secrets.
#[derive(Debug, Clone)]
pub enum StoredKeyEvidence {
    /// Its check value.
    Check(Vec<u8>),
    /// No check value (a database from before checks existed, or a new one): some of the
    /// sealed secrets it holds, none when it holds none.
    Unchecked(Vec<SealedSample>),
}

/// What to do with the configured key (`None`: neither `ENCRYPTION_KEY` nor a key file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// The key matches the check value: use it.
    Matches,
    /// No check value yet, and the key opens the secrets there are (or there are none):
    /// record its check value, then use it.
    Record,
    /// No key, no check value, no sealed secret: a development key may be generated.
    Generate,
    /// A key is needed (there are sealed secrets or a check value) and none is configured.
    Missing,
    /// The key is not the one that sealed this database's secrets.
    Mismatch,
}

impl KeyCheck {
    /// Decides, before anything is written, whether `configured` may seal and open
    /// this database's secrets. Without a check value, the key must open at least one of
    /// the sealed secrets the database holds.
    pub fn decide(configured: Option<&Cipher>, stored: &StoredKeyEvidence) -> KeyCheck {
        match (stored, configured) {
            (StoredKeyEvidence::Check(_), None) => KeyCheck::Missing,
            (StoredKeyEvidence::Check(value), Some(cipher)) => {
                if is_check_value_for(cipher, value) {
                    KeyCheck::Matches
                } else {
                    KeyCheck::Mismatch
                }
            }
            (StoredKeyEvidence::Unchecked(samples), None) => {
                if samples.is_empty() {
                    KeyCheck::Generate
                } else {
                    KeyCheck::Missing
                }
            }
            (StoredKeyEvidence::Unchecked(samples), Some(cipher)) => {
                if samples.is_empty()
                    || samples
                        .iter()
                        .any(|s| cipher.open(&s.sealed, &s.context).is_ok())
                {
                    KeyCheck::Record
                } else {
                    KeyCheck::Mismatch
                }
            }
        }
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
    fn a_check_value_recognises_its_key_and_contains_no_key() {
        let key = [3u8; 32];
        let cipher = Cipher::new(&key);
        let value = check_value(&cipher);
        assert!(is_check_value_for(&cipher, &value));
        assert!(!is_check_value_for(&Cipher::new(&[4; 32]), &value));
        assert!(!is_check_value_for(&cipher, &value[..20]));
        assert!(
            !value.windows(32).any(|w| w == key),
            "the key is not stored"
        );
        // A value sealed for something else is not a check value of the same key.
        assert!(!is_check_value_for(
            &cipher,
            &cipher.seal(b"roster encryption key check v1", b"other")
        ));
        assert_ne!(check_value(&cipher), value);
    }

    #[test]
    fn the_key_check_refuses_a_missing_or_wrong_key_before_anything_is_written() {
        let right = Cipher::new(&[5; 32]);
        let wrong = Cipher::new(&[6; 32]);
        let checked = StoredKeyEvidence::Check(check_value(&right));
        assert_eq!(KeyCheck::decide(Some(&right), &checked), KeyCheck::Matches);
        assert_eq!(KeyCheck::decide(Some(&wrong), &checked), KeyCheck::Mismatch);
        assert_eq!(KeyCheck::decide(None, &checked), KeyCheck::Missing);

        let empty = StoredKeyEvidence::Unchecked(Vec::new());
        assert_eq!(KeyCheck::decide(Some(&wrong), &empty), KeyCheck::Record);
        assert_eq!(KeyCheck::decide(None, &empty), KeyCheck::Generate);

        // An upgraded database: secrets but no check value.
        let sample = |cipher: &Cipher, context: &[u8]| SealedSample {
            sealed: cipher.seal(b"secret", context),
            context: context.to_vec(),
        };
        let upgraded = StoredKeyEvidence::Unchecked(vec![
            sample(&right, b"kid-1"),
            SealedSample {
                sealed: vec![0; 40],
                context: b"kid-2".to_vec(),
            },
        ]);
        assert_eq!(KeyCheck::decide(Some(&right), &upgraded), KeyCheck::Record);
        assert_eq!(
            KeyCheck::decide(Some(&wrong), &upgraded),
            KeyCheck::Mismatch
        );
        assert_eq!(KeyCheck::decide(None, &upgraded), KeyCheck::Missing);
        // The context counts: a value moved to another row does not prove the key.
        let moved = StoredKeyEvidence::Unchecked(vec![SealedSample {
            sealed: right.seal(b"secret", b"kid-1"),
            context: b"kid-9".to_vec(),
        }]);
        assert_eq!(KeyCheck::decide(Some(&right), &moved), KeyCheck::Mismatch);
    }

    #[test]
    fn random_tokens_carry_256_bits() {
        let token = random_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        assert_ne!(token, random_token());
        assert_eq!(token_hash(&token).len(), 32);
    }
}
