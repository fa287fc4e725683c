//! The account itself: `User` (what the owner and admins see), `PublicUser`, and the
//! queries that create and find accounts. Usernames and emails are unique ignoring
//! case, enforced by unique indexes on `username_key` (lower-cased) and `email`
//! (stored lower-cased).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::Exec;
use crate::on_exec;

/// The columns of `users` that make a [`User`], optionally prefixed with a table alias.
#[macro_export]
macro_rules! user_columns {
    () => {
        "id, username, email, full_name, role, tier, is_active, email_verified, pending_email, locale, created_at, updated_at, last_login_at"
    };
    ($t:literal) => {
        concat!(
            $t, ".id, ", $t, ".username, ", $t, ".email, ", $t, ".full_name, ", $t, ".role, ", $t, ".tier, ",
            $t, ".is_active, ", $t, ".email_verified, ", $t, ".pending_email, ", $t, ".locale, ", $t, ".created_at, ", $t, ".updated_at, ", $t, ".last_login_at"
        )
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Basic,
    Premium,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Basic => "basic",
            Tier::Premium => "premium",
        }
    }
}

impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(value: String) -> Result<Role, String> {
        match value.as_str() {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            _ => Err(format!("unknown role {value:?}")),
        }
    }
}

impl TryFrom<String> for Tier {
    type Error = String;
    fn try_from(value: String) -> Result<Tier, String> {
        match value.as_str() {
            "basic" => Ok(Tier::Basic),
            "premium" => Ok(Tier::Premium),
            _ => Err(format!("unknown tier {value:?}")),
        }
    }
}

/// An account as its owner and admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    /// Stored lower-cased.
    pub email: String,
    pub full_name: Option<String>,
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// Absent where the deployment does not serve the premium module (`FEATURES`).
    #[sqlx(try_from = "String")]
    #[serde(skip_serializing_if = "crate::features::without_premium")]
    pub tier: Tier,
    pub is_active: bool,
    pub email_verified: bool,
    /// A new address waiting to be confirmed through the link mailed to it; until then
    /// logins, resets and mail use `email`.
    pub pending_email: Option<String>,
    /// The language of the account's pages and mails (`en`, `de`); null: pages follow
    /// the browser's `Accept-Language`, mails are in English.
    #[schema(value_type = Option<String>, example = "de")]
    pub locale: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// What anyone may see of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
pub struct PublicUser {
    pub id: Uuid,
    pub username: String,
    pub full_name: Option<String>,
    /// Absent where the deployment does not serve the profiles module (`FEATURES`).
    #[serde(skip_serializing_if = "crate::features::without_profiles")]
    pub avatar_url: Option<String>,
    /// Absent where the deployment does not serve the profiles module (`FEATURES`).
    #[serde(skip_serializing_if = "crate::features::without_profiles")]
    pub bio: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A validated account to insert.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub full_name: Option<String>,
    pub role: Role,
    pub email_verified: bool,
}

/// Inserts the account; a duplicate username or email fails with a unique violation.
pub async fn insert_user(
    ex: impl Into<Exec<'_>>,
    new: &NewUser,
    now: DateTime<Utc>,
) -> Result<User, sqlx::Error> {
    insert_user_as(ex, new, Uuid::now_v7(), now, now).await
}

/// Inserts the account with the id and creation time it had elsewhere (an import); a
/// duplicate id, username or email fails with a unique violation.
pub async fn insert_user_as(
    ex: impl Into<Exec<'_>>,
    new: &NewUser,
    id: Uuid,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<User, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, User>(concat!(
        "INSERT INTO users (id, username, username_key, email, full_name, role, tier, is_active, email_verified, created_at, updated_at) ",
        "VALUES ($1, $2, $3, $4, $5, $6, 'basic', TRUE, $7, $8, $9) RETURNING ", user_columns!()))
        .bind(id)
        .bind(&new.username)
        .bind(new.username.to_ascii_lowercase())
        .bind(new.email.to_lowercase())
        .bind(&new.full_name)
        .bind(new.role.as_str())
        .bind(new.email_verified)
        .bind(created_at)
        .bind(now)
        .fetch_one(c)
        .await)
}

pub async fn find_user(ex: impl Into<Exec<'_>>, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, User>(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// The account `id`, or 404.
pub async fn find_user_or_404(
    ex: impl Into<Exec<'_>>,
    id: Uuid,
) -> Result<User, crate::error::ApiError> {
    find_user(ex, id).await?.ok_or_else(|| {
        let key = crate::i18n::message_key("not-found-user");
        crate::error::ApiError::not_found("user", key)
    })
}

/// An account with its current password hash, looked up by username or email.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoginCandidate {
    #[sqlx(flatten)]
    pub user: User,
    pub password_hash: Option<String>,
}

/// Finds the account a login identifier names: usernames cannot contain `@` and emails
/// must, so one lower-cased key matches at most one of the two columns.
pub async fn find_login_candidate(
    ex: impl Into<Exec<'_>>,
    identifier: &str,
) -> Result<Option<LoginCandidate>, sqlx::Error> {
    let key = login_key(identifier);
    let sql = if key.contains('@') {
        concat!(
            "SELECT ",
            user_columns!("u"),
            ", c.password_hash FROM users u ",
            "LEFT JOIN credentials c ON c.user_id = u.id AND c.is_current WHERE u.email = $1"
        )
    } else {
        concat!(
            "SELECT ",
            user_columns!("u"),
            ", c.password_hash FROM users u ",
            "LEFT JOIN credentials c ON c.user_id = u.id AND c.is_current WHERE u.username_key = $1"
        )
    };
    on_exec!(ex, c => sqlx::query_as::<_, LoginCandidate>(sql).bind(&key).fetch_optional(c).await)
}

/// The form an identifier is looked up (and throttled) by: an email address in its
/// canonical form, anything else trimmed and lower-cased, so every spelling of one
/// account's username or address is one key.
pub fn login_key(identifier: &str) -> String {
    let trimmed = identifier.trim();
    if trimmed.contains('@')
        && let Some(email) = crate::accounts::email::canonical_email(trimmed)
    {
        return email;
    }
    trimmed.to_lowercase()
}

/// Which of username and email are already taken (ignoring case), for a friendly 409
/// before any expensive work; the unique indexes remain the real guarantee.
pub async fn taken_fields(
    ex: impl Into<Exec<'_>>,
    username: Option<&str>,
    email: Option<&str>,
    except: Option<Uuid>,
) -> Result<Vec<&'static str>, sqlx::Error> {
    let username_key = username.map(str::to_ascii_lowercase);
    let email = email.map(str::to_lowercase);
    let rows: Vec<(String, String)> = on_exec!(ex, c => sqlx::query_as(
        "SELECT username_key, email FROM users WHERE (username_key = $1 OR email = $2) AND ($3 IS NULL OR id <> $3)")
        .bind(&username_key)
        .bind(&email)
        .bind(except)
        .fetch_all(c)
        .await)?;
    let mut taken = Vec::new();
    if rows.iter().any(|(u, _)| Some(u) == username_key.as_ref()) {
        taken.push("username");
    }
    if rows.iter().any(|(_, e)| Some(e) == email.as_ref()) {
        taken.push("email");
    }
    Ok(taken)
}

/// 409 naming the first of username and email that is taken (ignoring case): the
/// friendly answer before any expensive work of a new account.
pub async fn ensure_available(
    ex: impl Into<Exec<'_>>,
    username: &str,
    email: &str,
) -> Result<(), crate::error::ApiError> {
    match taken_fields(ex, Some(username), Some(email), None)
        .await?
        .first()
    {
        Some(field) => Err(duplicate_account(field)),
        None => Ok(()),
    }
}

/// The 409 for a unique violation on `users`, naming the field whose index it hit.
pub fn duplicate_account(target: &str) -> crate::error::ApiError {
    use crate::error::{ApiError, Why};
    use crate::i18n::message_key;
    if target.contains("email") {
        let why = Why::new(
            "this email is already registered",
            message_key("conflict-email-registered"),
        );
        ApiError::conflict("email", why)
    } else {
        let why = Why::new(
            "this username is already taken",
            message_key("conflict-username-taken"),
        );
        ApiError::conflict("username", why)
    }
}

pub async fn record_login(
    ex: impl Into<Exec<'_>>,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on_exec!(ex, c => sqlx::query("UPDATE users SET last_login_at = $2, login_count = login_count + 1 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}
