//! `roster keys rotate` and `roster keys list`: the token signing keys, each command
//! behind the encryption-key check, so a shell with a missing or wrong `ENCRYPTION_KEY`
//! can neither retire the key the instances sign with nor add one they cannot open.

use crate::tokens::keys::{self, KeyListing, Rotation};

use super::context::Context;

fn refuse_shared_secret(context: &Context) -> anyhow::Result<()> {
    if context.config.tokens.jwt_secret_key.is_some() {
        anyhow::bail!(
            "JWT_SECRET_KEY is set, so tokens are HS256 with that secret and no signing key is used: rotate by changing the secret"
        );
    }
    Ok(())
}

/// `roster keys rotate`: adds a signing key of each kind in use (the access tokens' kind
/// as `ACCESS_TOKEN_ALGORITHM` names it, and the ID tokens' two) that every instance
/// signs with within `KEY_REFRESH_SECONDS`, and retires those that signed until now.
pub async fn rotate_keys(context: &Context) -> anyhow::Result<Rotation> {
    refuse_shared_secret(context)?;
    let cipher = context.verified_cipher().await?;
    keys::rotate(
        &context.db,
        &cipher,
        context.clock.now(),
        context.config.tokens.access_algorithm,
    )
    .await
}

/// `roster keys list`: every stored key, and whether this configuration opens it.
pub async fn list_keys(context: &Context) -> anyhow::Result<Vec<KeyListing>> {
    refuse_shared_secret(context)?;
    let cipher = context.verified_cipher().await?;
    keys::list(&context.db, &cipher).await
}
