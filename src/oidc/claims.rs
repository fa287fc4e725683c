//! The claims about a user that the granted scopes release (OpenID Connect Core §5.4):
//! `sub` always; `name`, `preferred_username`, `picture`, `updated_at` with `profile`;
//! `email`, `email_verified` with `email`. The same set goes into the ID token and the
//! userinfo answer.

use serde::Serialize;
use uuid::Uuid;

use super::scope::{self, Scopes};
use crate::accounts::model::User;
use crate::db::Exec;
use crate::on_exec;

/// The released claims of one user.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserClaims {
    pub sub: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

/// The claims of `user` that `scopes` release (reads the profile picture when needed).
pub async fn for_user(
    ex: impl Into<Exec<'_>>,
    user: &User,
    scopes: &Scopes,
) -> Result<UserClaims, sqlx::Error> {
    let mut claims = UserClaims {
        sub: user.id,
        name: None,
        preferred_username: None,
        picture: None,
        updated_at: None,
        email: None,
        email_verified: None,
    };
    if scopes.contains(scope::PROFILE) {
        let picture: Option<Option<String>> = on_exec!(ex, c => sqlx::query_scalar(
            "SELECT avatar_url FROM user_profiles WHERE user_id = $1")
            .bind(user.id)
            .fetch_optional(c)
            .await)?;
        claims.name = user.full_name.clone();
        claims.preferred_username = Some(user.username.clone());
        claims.picture = picture.flatten();
        claims.updated_at = Some(user.updated_at.timestamp());
    }
    if scopes.contains(scope::EMAIL) {
        claims.email = Some(user.email.clone());
        claims.email_verified = Some(user.email_verified);
    }
    Ok(claims)
}
