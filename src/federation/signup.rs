//! A new account for an identity no account has, whose address the provider is trusted
//! to have confirmed: the username from `preferred_username` or the address, made
//! unique; no password (one can be set by a reset); the identity linked in the same
//! transaction, audited as `register` and `identity_linked`.

use uuid::Uuid;

use super::identities::{self, Link};
use super::upstream::UpstreamIdentity;
use crate::accounts::fields::{parse_full_name, parse_username};
use crate::accounts::model::{NewUser, Role, User, insert_user, taken_fields};
use crate::audit::{self, AuditEntry, ClientInfo, event};
use crate::state::AppState;

const MAX_BASE: usize = 24;
const ATTEMPTS: usize = 8;

/// Creates the account and links the identity; None when the address was taken in the
/// meantime or no free username was found (the page asks to try again).
pub async fn sign_up(
    state: &AppState,
    identity: &UpstreamIdentity,
    provider_id: Uuid,
    provider_name: &str,
    client: &ClientInfo,
) -> anyhow::Result<Option<(User, Uuid)>> {
    let Some(email) = identity.email.clone() else {
        return Ok(None);
    };
    let Some(username) = free_username(state, identity, &email).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    let new_user = NewUser {
        username,
        email,
        full_name: identity
            .name
            .as_deref()
            .and_then(|name| parse_full_name(name, "name").ok().flatten()),
        role: Role::User,
        email_verified: true,
    };
    let mut tx = state.db.begin().await?;
    let user = match insert_user(&mut tx, &new_user, now).await {
        Ok(user) => user,
        Err(e) if crate::error::unique_violation_target(&e).is_some() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let entry = AuditEntry::by_owner(event::REGISTER, user.id, client)
        .with_detail(serde_json::json!({"via": "identity_provider", "provider_id": provider_id}));
    audit::record(&mut tx, now, entry).await?;
    let link = Link {
        provider_id,
        provider_name,
        identity,
        how: "signup",
    };
    let identity_id = identities::link(&mut tx, &state.mail, &user, &link, client, now).await?;
    tx.commit().await?;
    state.mail.wake();
    Ok(Some((user, identity_id)))
}

/// A username no account has: the provider's `preferred_username` or the address's
/// local part, reduced to the characters usernames may have, then with a number added
/// until it is free.
async fn free_username(
    state: &AppState,
    identity: &UpstreamIdentity,
    email: &str,
) -> Result<Option<String>, sqlx::Error> {
    let base = username_base(identity.preferred_username.as_deref(), email);
    for attempt in 0..ATTEMPTS {
        let candidate = if attempt == 0 {
            base.clone()
        } else {
            let suffix: u16 = rand::random_range(1000..10000);
            format!("{base}-{suffix}")
        };
        if parse_username(&candidate, "username").is_err() {
            continue;
        }
        if taken_fields(&state.db, Some(&candidate), None, None)
            .await?
            .is_empty()
        {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

fn username_base(preferred: Option<&str>, email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default();
    let shape = |raw: &str| -> String {
        raw.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            .take(MAX_BASE)
            .collect()
    };
    let base = preferred
        .map(shape)
        .filter(|name| name.len() >= 3)
        .unwrap_or_else(|| shape(local));
    if base.len() >= 3 {
        base
    } else {
        format!("user{base}")
    }
}

#[cfg(test)]
mod tests {
    use super::username_base;

    #[test]
    fn usernames_come_from_the_preferred_name_or_the_address() {
        assert_eq!(username_base(Some("jane.doe"), "x@example.com"), "jane.doe");
        assert_eq!(username_base(Some("Zoë Ünal"), "zoe@example.com"), "Zonal");
        assert_eq!(username_base(None, "j+tag@example.com"), "jtag");
        assert_eq!(username_base(Some("é"), "jo@example.com"), "userjo");
        assert_eq!(username_base(None, "a@example.com").len(), 5);
    }
}
