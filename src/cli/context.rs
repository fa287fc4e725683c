//! What every command works with: the configuration, the migrated database, the
//! password hasher and the clock.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::Cipher;
use crate::db::Db;
use crate::passwords::PasswordHasher;

/// What a command needs: the migrated database, the hasher and the clock.
pub struct Context {
    pub config: Config,
    pub db: Db,
    pub hasher: PasswordHasher,
    pub clock: Arc<dyn Clock>,
    /// What bringing stored addresses to their canonical form did, when it ran now.
    pub email_fixes: Option<crate::accounts::email::CanonicalReport>,
}

impl Context {
    pub async fn open(config: Config) -> anyhow::Result<Context> {
        Context::open_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn open_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Context> {
        let db = Db::connect(&config).await?;
        let email_fixes = crate::app::migrate(&db, clock.now()).await?;
        let hasher = PasswordHasher::new(
            config.passwords.cost,
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

    /// The configured encryption key, once checked against the database's key check
    /// value (see `secrets::verified_cipher`); call it before writing anything sealed.
    pub async fn verified_cipher(&self) -> anyhow::Result<Cipher> {
        crate::secrets::verified_cipher(&self.config, &self.db, self.clock.now()).await
    }
}
