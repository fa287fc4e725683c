//! Passwords as rows (seed 004's design): every password a user sets is a credential
//! row, exactly one marked current. The rows behind the current one are the password
//! history that `PASSWORD_HISTORY` checks new passwords against; older rows are pruned.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::accounts::model::User;
use crate::db::Exec;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::on_exec;
use crate::passwords::check_policy_off_thread;
use crate::state::AppState;

/// Makes `hash` the user's current password, keeping `history` passwords in all.
pub async fn set_password(
    ex: &mut crate::db::Tx,
    user_id: Uuid,
    hash: &str,
    history: u32,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on_exec!(&mut *ex, c => sqlx::query("UPDATE credentials SET is_current = FALSE WHERE user_id = $1 AND is_current")
        .bind(user_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    on_exec!(&mut *ex, c => sqlx::query(
        "INSERT INTO credentials (id, user_id, password_hash, is_current, created_at) VALUES ($1, $2, $3, TRUE, $4)")
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    on_exec!(&mut *ex, c => sqlx::query(
        "DELETE FROM credentials WHERE user_id = $1 AND id NOT IN \
         (SELECT id FROM credentials WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)")
        .bind(user_id)
        .bind(i64::from(history))
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The newest `n` password hashes of a user, current first.
pub async fn recent_hashes(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    n: u32,
) -> Result<Vec<String>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_scalar(
        "SELECT password_hash FROM credentials WHERE user_id = $1 ORDER BY is_current DESC, created_at DESC, id DESC LIMIT $2")
        .bind(user_id)
        .bind(i64::from(n))
        .fetch_all(c)
        .await)
}

/// Applies the password policy and the history rule to a new password, reporting
/// failures under `field`. `hashes` are the user's recent hashes (see [`recent_hashes`]).
pub async fn check_new_password(
    state: &AppState,
    user: &User,
    password: &str,
    hashes: &[String],
    field: &'static str,
) -> ApiResult<()> {
    let personal = vec![user.username.clone(), user.email.clone()];
    let errors =
        check_policy_off_thread(&state.config.passwords.policy, password, personal, field).await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let checks = hashes
        .iter()
        .map(|hash| state.hasher.verify(password, Some(hash)));
    for verification in futures::future::join_all(checks).await {
        if verification?.is_valid() {
            let history = state.config.passwords.history;
            return Err(ApiError::Validation(vec![
                FieldError::new(
                    field,
                    format!("must differ from your last {history} passwords"),
                )
                .with_words(
                    crate::i18n::message_key("password-recent"),
                    &[("count", history.to_string())],
                ),
            ]));
        }
    }
    Ok(())
}
