//! Making an administrator account with a password: what `roster create-admin` and the
//! one-time setup page ([`super::setup`]) share. The username, the email and the password
//! are checked as a registration checks them (every failing field named at once), the
//! address counts as verified (the operator typed it), and the account is audited as
//! `admin_created` with how it was made.

use chrono::{DateTime, Utc};

use crate::accounts::fields::{parse_email, parse_username};
use crate::accounts::model::{NewUser, Role, User, duplicate_account, insert_user};
use crate::audit::{self, AuditEntry, event};
use crate::auth::credentials::set_password;
use crate::config::Config;
use crate::db::Tx;
use crate::error::{ApiError, FieldError};
use crate::passwords::{PasswordHasher, check_policy};

/// A new administrator as given.
pub struct NewAdmin<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    /// How it was made, for the audit record (`create-admin`, `setup-link`).
    pub via: &'static str,
}

/// The username and email of `admin` in their stored forms, or every failing field.
pub fn parse_names(admin: &NewAdmin<'_>) -> Result<(String, String), Vec<FieldError>> {
    let mut errors = Vec::new();
    let username = parse_username(admin.username, "username")
        .map_err(|e| errors.push(e))
        .ok();
    let email = parse_email(admin.email, "email")
        .map_err(|e| errors.push(e))
        .ok();
    match (username, email) {
        (Some(username), Some(email)) => Ok((username, email)),
        _ => Err(errors),
    }
}

/// Creates `admin` in `tx` with its password hashed: 422 naming each failing field, 409
/// for a taken username or email.
pub async fn insert_admin(
    tx: &mut Tx,
    (config, hasher): (&Config, &PasswordHasher),
    admin: &NewAdmin<'_>,
    now: DateTime<Utc>,
) -> Result<User, ApiError> {
    let (username, email) = parse_names(admin).map_err(ApiError::Validation)?;
    let policy_errors = check_policy(
        &config.passwords.policy,
        admin.password,
        &[&username, &email],
        "password",
    );
    if !policy_errors.is_empty() {
        return Err(ApiError::Validation(policy_errors));
    }
    let hash = hasher.hash(admin.password).await?;
    let new_user = NewUser {
        username,
        email,
        full_name: None,
        role: Role::Admin,
        email_verified: true,
    };
    let user = insert_user(&mut *tx, &new_user, now).await.map_err(|e| {
        match crate::error::unique_violation_target(&e) {
            Some(target) => duplicate_account(&target),
            None => e.into(),
        }
    })?;
    set_password(tx, user.id, &hash, config.passwords.history, now).await?;
    let entry = AuditEntry {
        event: event::ADMIN_CREATED,
        actor_id: None,
        user_id: Some(user.id),
        client: None,
        detail: serde_json::json!({"via": admin.via}),
    };
    audit::record(&mut *tx, now, entry).await?;
    Ok(user)
}
