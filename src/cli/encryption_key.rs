//! `roster encryption-key rotate`: replaces `ENCRYPTION_KEY`. The old key is the
//! configured one (`ENCRYPTION_KEY`, or the development key file), checked against the
//! database first; the new one is read once from `--new-key-file` (a file holding base64
//! of 32 bytes, `-` for standard input). Every sealed secret is opened with the old key
//! and sealed with the new one, and the key check value replaced, in one transaction:
//! if any secret does not open, nothing is written.

use std::io::Read;
use std::path::Path;

use crate::config::decode_key;
use crate::crypto::Cipher;
use crate::secrets::{SecretKind, reseal_all};

use super::context::Context;

/// What a rotation re-sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResealReport {
    pub counts: Vec<(SecretKind, u64)>,
}

impl ResealReport {
    pub fn count(&self, kind: SecretKind) -> u64 {
        self.counts
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }
}

/// Reads the new key given with `--new-key-file` (`-`: standard input).
pub fn read_new_key(path: &Path) -> anyhow::Result<[u8; 32]> {
    let text = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| anyhow::anyhow!("--new-key-file -: cannot read standard input: {e}"))?;
        text
    } else {
        std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("--new-key-file {}: cannot read it: {e}", path.display())
        })?
    };
    decode_key(text.trim()).map_err(|m| {
        anyhow::anyhow!(
            "--new-key-file {}: the new key {m} (expected base64 of 32 random bytes, e.g. `openssl rand -base64 32`)",
            path.display()
        )
    })
}

/// Re-seals every secret under `new_key`, in one transaction with the new check value.
pub async fn rotate_encryption_key(
    context: &Context,
    new_key: &[u8; 32],
) -> anyhow::Result<ResealReport> {
    let old = context.verified_cipher().await?;
    let new = Cipher::new(new_key);
    if crate::crypto::is_check_value_for(&new, &crate::crypto::check_value(&old)) {
        anyhow::bail!("--new-key-file holds the key already in use: nothing to rotate");
    }
    let mut tx = context.db.begin().await?;
    let counts = reseal_all(&mut tx, &old, &new, context.clock.now()).await?;
    tx.commit().await?;
    Ok(ResealReport { counts })
}
