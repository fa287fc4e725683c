//! The administrative commands of the `roster` binary. Each works on the same
//! configuration as the server; the binary only parses arguments and prints.

mod admin;
mod calibrate;
mod import;

use std::sync::Arc;

use crate::auth::password::PasswordHasher;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::Cipher;
use crate::db::Db;

pub use admin::{AdminOutcome, create_admin};
pub use calibrate::{HashTiming, time_hashes};
pub use import::{ImportReport, import_users};

/// What a command needs: the migrated database, the hasher and the clock.
pub struct Context {
    pub config: Config,
    pub db: Db,
    pub hasher: PasswordHasher,
    pub clock: Arc<dyn Clock>,
    /// What bringing stored addresses to their canonical form did, when it ran now.
    pub email_fixes: Option<crate::users::email::CanonicalReport>,
}

impl Context {
    pub async fn open(config: Config) -> anyhow::Result<Context> {
        Context::open_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn open_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Context> {
        let db = Db::connect(&config).await?;
        let email_fixes = crate::app::migrate(&db, clock.now()).await?;
        let hasher = PasswordHasher::new(
            config.hash_cost,
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        )?;
        Ok(Context {
            config,
            db,
            hasher,
            clock,
            email_fixes,
        })
    }

    pub fn cipher(&self) -> anyhow::Result<Cipher> {
        Ok(Cipher::new(&crate::app::encryption_key(&self.config)?))
    }
}

/// `roster keys rotate`: adds a signing key that every instance signs with within
/// `KEY_REFRESH_SECONDS`; returns its `kid`.
pub async fn rotate_keys(context: &Context) -> anyhow::Result<String> {
    if context.config.jwt_secret_key.is_some() {
        anyhow::bail!(
            "JWT_SECRET_KEY is set, so tokens are HS256 with that secret: rotate by changing the secret"
        );
    }
    crate::auth::keys::rotate(&context.db, &context.cipher()?, context.clock.now()).await
}
