//! The administrative commands of the `roster` binary. Each works on the same
//! configuration as the server; the binary only parses arguments and prints.

mod admin;
mod calibrate;
mod context;
mod import;

pub use admin::{AdminOutcome, create_admin};
pub use calibrate::benchmark as passwords_benchmark;
pub use context::Context;
pub use import::{ImportReport, import_users};

/// `roster keys rotate`: adds a signing key that every instance signs with within
/// `KEY_REFRESH_SECONDS`; returns its `kid`.
pub async fn rotate_keys(context: &Context) -> anyhow::Result<String> {
    if context.config.tokens.jwt_secret_key.is_some() {
        anyhow::bail!(
            "JWT_SECRET_KEY is set, so tokens are HS256 with that secret: rotate by changing the secret"
        );
    }
    crate::tokens::keys::rotate(&context.db, &context.cipher()?, context.clock.now()).await
}
