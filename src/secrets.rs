//! Every secret Roster seals with `ENCRYPTION_KEY`, in one place: which table and column
//! holds each kind and the context it is sealed with. With that inventory the key is
//! checked against the database before anything is written ([`verified_cipher`]), and
//! replaced by re-sealing everything at once ([`reseal_all`], `roster encryption-key
//! rotate`). A kind of secret added elsewhere must be added to [`SecretKind::ALL`].

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::config::Config;
use crate::crypto::{
    Cipher, KeyCheck, KeySource, SealedSample, StoredKeyEvidence, check_value, configured_key,
    is_check_value_for, load_or_create_key_file,
};
use crate::db::{Db, Tx};
use crate::on_exec;

/// A kind of sealed secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// Private halves of the token signing keys (`signing_keys.private_key`, by kid).
    SigningKey,
    /// TOTP secrets of second factors (`mfa_totp.secret`, by user).
    TotpSecret,
    /// Payment tokens (`payment_info.token_ciphertext`, by user).
    PaymentToken,
    /// Mail waiting in the outbox (`mail_outbox.message`, by mail id).
    QueuedMail,
    /// Webhook signing secrets (`webhooks.secret`, by endpoint id).
    WebhookSecret,
    /// Webhook secrets replaced less than a day ago, which still sign
    /// (`webhooks.previous_secret`, by endpoint id).
    PreviousWebhookSecret,
}

impl SecretKind {
    pub const ALL: [SecretKind; 6] = [
        SecretKind::SigningKey,
        SecretKind::TotpSecret,
        SecretKind::PaymentToken,
        SecretKind::QueuedMail,
        SecretKind::WebhookSecret,
        SecretKind::PreviousWebhookSecret,
    ];

    /// How reports name this kind (plural).
    pub fn name(self) -> &'static str {
        match self {
            SecretKind::SigningKey => "signing keys",
            SecretKind::TotpSecret => "TOTP secrets",
            SecretKind::PaymentToken => "payment tokens",
            SecretKind::QueuedMail => "queued mails",
            SecretKind::WebhookSecret => "webhook secrets",
            SecretKind::PreviousWebhookSecret => "previous webhook secrets",
        }
    }

    /// `id, sealed value`, newest first.
    fn select(self) -> &'static str {
        match self {
            SecretKind::SigningKey => {
                "SELECT kid, private_key FROM signing_keys ORDER BY created_at DESC, kid"
            }
            SecretKind::TotpSecret => {
                "SELECT user_id, secret FROM mfa_totp ORDER BY created_at DESC, user_id"
            }
            SecretKind::PaymentToken => {
                "SELECT user_id, token_ciphertext FROM payment_info ORDER BY updated_at DESC, user_id"
            }
            SecretKind::QueuedMail => {
                "SELECT id, message FROM mail_outbox WHERE message IS NOT NULL ORDER BY created_at DESC, id"
            }
            SecretKind::WebhookSecret => {
                "SELECT id, secret FROM webhooks ORDER BY created_at DESC, id"
            }
            SecretKind::PreviousWebhookSecret => {
                "SELECT id, previous_secret FROM webhooks WHERE previous_secret IS NOT NULL ORDER BY created_at DESC, id"
            }
        }
    }

    /// Sets the sealed value (`$2`) of the row with id `$1`.
    fn update(self) -> &'static str {
        match self {
            SecretKind::SigningKey => "UPDATE signing_keys SET private_key = $2 WHERE kid = $1",
            SecretKind::TotpSecret => "UPDATE mfa_totp SET secret = $2 WHERE user_id = $1",
            SecretKind::PaymentToken => {
                "UPDATE payment_info SET token_ciphertext = $2 WHERE user_id = $1"
            }
            SecretKind::QueuedMail => "UPDATE mail_outbox SET message = $2 WHERE id = $1",
            SecretKind::WebhookSecret => "UPDATE webhooks SET secret = $2 WHERE id = $1",
            SecretKind::PreviousWebhookSecret => {
                "UPDATE webhooks SET previous_secret = $2 WHERE id = $1"
            }
        }
    }

    /// How many rows to sample when checking a key without a check value (signing keys
    /// are few: all of them; of the others the newest).
    fn sample_size(self) -> usize {
        match self {
            SecretKind::SigningKey => usize::MAX,
            _ => 1,
        }
    }
}

/// The id of a row holding a sealed value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RowId {
    Text(String),
    Uuid(Uuid),
}

impl std::fmt::Display for RowId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowId::Text(id) => f.write_str(id),
            RowId::Uuid(id) => write!(f, "{id}"),
        }
    }
}

#[derive(Debug, Clone)]
struct SealedRow {
    id: RowId,
    sealed: Vec<u8>,
}

impl SealedRow {
    /// The associated data this row's value is sealed with (see each feature).
    fn context(&self, kind: SecretKind) -> Vec<u8> {
        match (&self.id, kind) {
            (RowId::Text(kid), _) => kid.as_bytes().to_vec(),
            (RowId::Uuid(user_id), SecretKind::TotpSecret) => {
                crate::auth::mfa::totp::sealing_context(*user_id)
            }
            (RowId::Uuid(id), SecretKind::WebhookSecret | SecretKind::PreviousWebhookSecret) => {
                crate::webhook_delivery::endpoints::sealing_context(*id)
            }
            (RowId::Uuid(id), _) => id.as_bytes().to_vec(),
        }
    }
}

async fn sealed_rows(
    ex: impl Into<crate::db::Exec<'_>>,
    kind: SecretKind,
) -> Result<Vec<SealedRow>, sqlx::Error> {
    Ok(match kind {
        SecretKind::SigningKey => {
            let rows: Vec<(String, Vec<u8>)> =
                on_exec!(ex, c => sqlx::query_as(kind.select()).fetch_all(c).await)?;
            rows.into_iter()
                .map(|(id, sealed)| SealedRow {
                    id: RowId::Text(id),
                    sealed,
                })
                .collect()
        }
        _ => {
            let rows: Vec<(Uuid, Vec<u8>)> =
                on_exec!(ex, c => sqlx::query_as(kind.select()).fetch_all(c).await)?;
            rows.into_iter()
                .map(|(id, sealed)| SealedRow {
                    id: RowId::Uuid(id),
                    sealed,
                })
                .collect()
        }
    })
}

async fn stored_check_value(
    ex: impl Into<crate::db::Exec<'_>>,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_scalar("SELECT check_value FROM encryption_key_check WHERE id = 1")
        .fetch_optional(c)
        .await)
}

/// What the database holds about its key: the check value, or else some sealed secrets.
async fn evidence(db: &Db) -> anyhow::Result<StoredKeyEvidence> {
    if let Some(value) = stored_check_value(db).await? {
        return Ok(StoredKeyEvidence::Check(value));
    }
    let mut samples = Vec::new();
    for kind in SecretKind::ALL {
        let rows = sealed_rows(db, kind).await?;
        samples.extend(
            rows.iter()
                .take(kind.sample_size())
                .map(|row| SealedSample {
                    sealed: row.sealed.clone(),
                    context: row.context(kind),
                }),
        );
    }
    Ok(StoredKeyEvidence::Unchecked(samples))
}

/// How a message names the configured key.
fn named(source: &KeySource) -> String {
    match source {
        KeySource::Variable => "ENCRYPTION_KEY".to_owned(),
        KeySource::KeyFile(path) => format!(
            "ENCRYPTION_KEY is unset, and the development key file {}",
            path.display()
        ),
    }
}

fn mismatch(source: &KeySource) -> anyhow::Error {
    anyhow::anyhow!(
        "{} is not the key that sealed this database's secrets (it does not match the key check value stored in the database): set ENCRYPTION_KEY to that key; nothing was written",
        named(source)
    )
}

fn missing(source: &KeySource) -> anyhow::Error {
    let file = match source {
        KeySource::KeyFile(path) => format!(
            " and there is no development key file at {}",
            path.display()
        ),
        KeySource::Variable => String::new(),
    };
    anyhow::anyhow!(
        "ENCRYPTION_KEY is unset{file}, but this database holds secrets sealed with a key: set ENCRYPTION_KEY to that key; no key was generated and nothing was written"
    )
}

/// The cipher of the configured key, once it is known to be the key of this database's
/// secrets; call it before writing anything sealed. Records the check value for a
/// database that has none (a new one, or one from before checks existed whose secrets
/// the key opens), and generates a development key file only for a database that holds
/// no sealed secret. Any other case is an error naming `ENCRYPTION_KEY` (and the key
/// file looked for), and nothing is written.
pub async fn verified_cipher(
    config: &Config,
    db: &Db,
    now: DateTime<Utc>,
) -> anyhow::Result<Cipher> {
    verified_key(config, db, now)
        .await
        .map(|key| Cipher::new(&key))
}

/// [`verified_cipher`]'s key itself, for what derives keys of its own from it (the
/// refresh-token successors).
pub async fn verified_key(
    config: &Config,
    db: &Db,
    now: DateTime<Utc>,
) -> anyhow::Result<[u8; 32]> {
    let (key, source) = configured_key(config)?;
    let configured = key.map(|key| (key, Cipher::new(&key)));
    let decision = KeyCheck::decide(configured.as_ref().map(|(_, c)| c), &evidence(db).await?);
    let key = match (decision, configured) {
        (KeyCheck::Matches, Some((key, _))) => key,
        (KeyCheck::Record, Some((key, cipher))) => {
            record_check_value(db, &cipher, &source, now).await?;
            key
        }
        (KeyCheck::Generate, _) => {
            let KeySource::KeyFile(path) = &source else {
                return Err(missing(&source));
            };
            let (key, _) = load_or_create_key_file(path)?;
            tracing::warn!(path = %path.display(), "ENCRYPTION_KEY is not set: generated a development key file (owner-only); set ENCRYPTION_KEY in production");
            record_check_value(db, &Cipher::new(&key), &source, now).await?;
            return Ok(key);
        }
        (KeyCheck::Missing, _) | (_, None) => return Err(missing(&source)),
        (KeyCheck::Mismatch, _) => return Err(mismatch(&source)),
    };
    if let KeySource::KeyFile(path) = &source {
        tracing::warn!(path = %path.display(), "ENCRYPTION_KEY is not set: using the development key file");
    }
    Ok(key)
}

/// Stores the check value of `cipher`'s key unless one exists, then verifies the one
/// stored (another instance may have recorded another key at the same moment).
async fn record_check_value(
    db: &Db,
    cipher: &Cipher,
    source: &KeySource,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    on_exec!(db.writer(), c => sqlx::query(
        "INSERT INTO encryption_key_check (id, check_value, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING")
        .bind(check_value(cipher))
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    match stored_check_value(db).await? {
        Some(value) if is_check_value_for(cipher, &value) => Ok(()),
        _ => Err(mismatch(source)),
    }
}

/// Whether the database's check value is still that of `cipher`'s key (false once
/// `roster encryption-key rotate` has replaced it).
pub async fn still_current(db: &Db, cipher: &Cipher) -> anyhow::Result<bool> {
    Ok(stored_check_value(db)
        .await?
        .is_some_and(|value| is_check_value_for(cipher, &value)))
}

/// Re-seals every secret from `old` to `new` inside `tx`, and replaces the check value;
/// returns how many of each kind. Every value is opened before anything is written; if
/// one does not open, the error names it and nothing is changed (the caller drops the
/// transaction).
pub async fn reseal_all(
    tx: &mut Tx,
    old: &Cipher,
    new: &Cipher,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<(SecretKind, u64)>> {
    if let Tx::Postgres(_) = tx {
        // Instances still running cannot add a value sealed with the old key meanwhile.
        on_exec!(&mut *tx, c => sqlx::query(
            "LOCK TABLE encryption_key_check, signing_keys, mfa_totp, payment_info, mail_outbox IN EXCLUSIVE MODE")
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    match stored_check_value(&mut *tx).await? {
        Some(value) if is_check_value_for(old, &value) => {}
        _ => anyhow::bail!(
            "the key check value changed while the rotation started (another rotation?): nothing was written"
        ),
    }
    let mut opened = Vec::new();
    for kind in SecretKind::ALL {
        let rows = sealed_rows(&mut *tx, kind).await?;
        let mut plain = Vec::with_capacity(rows.len());
        for row in rows {
            let context = row.context(kind);
            let value = old.open(&row.sealed, &context).map_err(|_| {
                anyhow::anyhow!(
                    "one of the {} ({}) does not open with the current key: nothing was re-sealed",
                    kind.name(),
                    row.id
                )
            })?;
            plain.push((row.id, context, value));
        }
        opened.push((kind, plain));
    }
    let mut counts = Vec::new();
    for (kind, rows) in opened {
        for (id, context, value) in &rows {
            let sealed = new.seal(value, context);
            match id {
                RowId::Text(id) => on_exec!(&mut *tx, c => sqlx::query(kind.update())
                    .bind(id)
                    .bind(&sealed)
                    .execute(c)
                    .await
                    .map(|r| r.rows_affected()))?,
                RowId::Uuid(id) => on_exec!(&mut *tx, c => sqlx::query(kind.update())
                    .bind(*id)
                    .bind(&sealed)
                    .execute(c)
                    .await
                    .map(|r| r.rows_affected()))?,
            };
        }
        counts.push((kind, rows.len() as u64));
    }
    on_exec!(&mut *tx, c => sqlx::query(
        "UPDATE encryption_key_check SET check_value = $1, created_at = $2 WHERE id = 1")
        .bind(check_value(new))
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(counts)
}
