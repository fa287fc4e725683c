//! The single-use tokens Roster mails: password-reset, email-verification and
//! invitation tokens.
//! Each is 256 random bits handed out once in a link and stored as its SHA-256,
//! together with the user and the address it was sent to, so it can be looked up by
//! hash only and stops working when the account's address changes. A user has at most
//! one unused token of each purpose: issuing one replaces the older ones.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::accounts::model::User;
use crate::crypto::{random_token, token_hash};
use crate::db::{Exec, Tx};
use crate::on_exec;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `password_reset_tokens`, 30 minutes.
    PasswordReset,
    /// `email_verification_tokens`, 48 hours.
    EmailVerification,
    /// `invitation_tokens`, 7 days: sets the first password of an account an
    /// administrator made.
    Invitation,
}

impl Purpose {
    /// How long a token works.
    pub fn ttl(self) -> chrono::Duration {
        match self {
            Purpose::PasswordReset => chrono::Duration::minutes(30),
            Purpose::EmailVerification => chrono::Duration::hours(48),
            Purpose::Invitation => chrono::Duration::days(7),
        }
    }

    /// The lifetime as the mail says it.
    pub fn valid_for(self) -> crate::mail::templates::ValidFor {
        use crate::mail::templates::ValidFor;
        match self {
            Purpose::PasswordReset => ValidFor::Minutes(30),
            Purpose::EmailVerification => ValidFor::Hours(48),
            Purpose::Invitation => ValidFor::Days(7),
        }
    }

    fn replace_sql(self) -> &'static str {
        match self {
            Purpose::PasswordReset => {
                "DELETE FROM password_reset_tokens WHERE user_id = $1 AND used_at IS NULL"
            }
            Purpose::EmailVerification => {
                "DELETE FROM email_verification_tokens WHERE user_id = $1 AND used_at IS NULL"
            }
            Purpose::Invitation => {
                "DELETE FROM invitation_tokens WHERE user_id = $1 AND used_at IS NULL"
            }
        }
    }

    fn insert_sql(self) -> &'static str {
        match self {
            Purpose::PasswordReset => {
                "INSERT INTO password_reset_tokens (id, user_id, email, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)"
            }
            Purpose::EmailVerification => {
                "INSERT INTO email_verification_tokens (id, user_id, email, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)"
            }
            Purpose::Invitation => {
                "INSERT INTO invitation_tokens (id, user_id, email, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)"
            }
        }
    }

    fn find_sql(self) -> &'static str {
        match self {
            Purpose::PasswordReset => {
                "SELECT id, user_id, email FROM password_reset_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
            }
            Purpose::EmailVerification => {
                "SELECT id, user_id, email FROM email_verification_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
            }
            Purpose::Invitation => {
                "SELECT id, user_id, email FROM invitation_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
            }
        }
    }

    fn use_sql(self) -> &'static str {
        match self {
            Purpose::PasswordReset => {
                "UPDATE password_reset_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2"
            }
            Purpose::EmailVerification => {
                "UPDATE email_verification_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2"
            }
            Purpose::Invitation => {
                "UPDATE invitation_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2"
            }
        }
    }
}

/// A newly issued token: the secret for the link, and when it stops working.
#[derive(Debug)]
pub struct Issued {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Issues a token for `user` and their current address, replacing their unused ones.
pub async fn issue(
    tx: &mut Tx,
    purpose: Purpose,
    user: &User,
    now: DateTime<Utc>,
) -> Result<Issued, sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query(purpose.replace_sql())
        .bind(user.id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let token = random_token();
    let expires_at = now + purpose.ttl();
    on_exec!(&mut *tx, c => sqlx::query(purpose.insert_sql())
        .bind(Uuid::now_v7())
        .bind(user.id)
        .bind(&user.email)
        .bind(token_hash(&token))
        .bind(now)
        .bind(expires_at)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(Issued { token, expires_at })
}

/// A token that is neither used nor expired.
#[derive(Debug, sqlx::FromRow)]
pub struct LiveToken {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The address it was sent to.
    pub email: String,
}

/// Finds a live token by the hash of what was presented.
pub async fn find_live(
    ex: impl Into<Exec<'_>>,
    purpose: Purpose,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<Option<LiveToken>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, LiveToken>(purpose.find_sql())
        .bind(token_hash(presented))
        .bind(now)
        .fetch_optional(c)
        .await)
}

/// Marks a token used; false if it was used (or expired) meanwhile. The condition on
/// `used_at` makes exactly one of concurrent uses win: PostgreSQL re-checks it after
/// waiting for the row lock, SQLite runs write transactions one at a time.
pub async fn mark_used(
    tx: &mut Tx,
    purpose: Purpose,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let updated = on_exec!(&mut *tx, c => sqlx::query(purpose.use_sql())
        .bind(id)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(updated == 1)
}
