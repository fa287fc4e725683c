//! Recovery codes: ten single-use codes for when the authenticator is lost, handed out
//! when TOTP is confirmed and by `POST /mfa/recovery-codes` (which voids the earlier
//! ones). Each is 16 random characters of a 32-letter alphabet (80 bits), shown as
//! `xxxx-xxxx-xxxx-xxxx`; only its SHA-256 is stored (a code has too much entropy for a
//! slow hash to matter), and one is used by marking it, atomically.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rand::RngExt;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::rules::require_recent;
use crate::audit::{self, AuditEntry, event};
use crate::crypto::token_hash;
use crate::db::{Exec, Tx};
use crate::error::{ApiError, ApiResult, Problem, Why};
use crate::http::{AuthUser, ClientInfo, no_store};
use crate::i18n::message_key;
use crate::on_exec;
use crate::state::AppState;

pub const CODES: usize = 10;
const LENGTH: usize = 16;
/// Without i, l, o and 1 (codes are read off paper and typed); 0 stays, as no o is left
/// to mistake it for.
const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz023456789";

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes, shown this once.
    pub recovery_codes: Vec<String>,
}

fn new_code() -> String {
    let mut rng = rand::rng();
    let mut code = String::with_capacity(LENGTH + 3);
    for i in 0..LENGTH {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    code
}

/// A code as typed, in the form that is hashed: lower case, without dashes or spaces.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Replaces every recovery code of `user_id` with ten new ones, returned once.
pub async fn replace(
    tx: &mut Tx,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let codes: Vec<String> = (0..CODES).map(|_| new_code()).collect();
    for code in &codes {
        on_exec!(&mut *tx, c => sqlx::query(
            "INSERT INTO mfa_recovery_codes (id, user_id, code_hash, created_at, used_at) VALUES ($1, $2, $3, $4, NULL)")
            .bind(Uuid::now_v7())
            .bind(user_id)
            .bind(token_hash(&normalise(code)))
            .bind(now)
            .execute(c)
            .await.map(|r| r.rows_affected()))?;
    }
    Ok(codes)
}

/// Uses one recovery code of `user_id`: true when it was valid and unused (it is used now).
pub async fn consume(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let normalised = normalise(code);
    if normalised.len() != LENGTH {
        return Ok(false);
    }
    let used = on_exec!(ex, c => sqlx::query(
        "UPDATE mfa_recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL")
        .bind(user_id)
        .bind(token_hash(&normalised))
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(used == 1)
}

/// Drops the recovery codes of an account left without a second factor.
pub async fn forget_without_factor(tx: &mut Tx, user_id: Uuid) -> Result<(), sqlx::Error> {
    if !super::factors(&mut *tx, user_id).await?.any() {
        on_exec!(&mut *tx, c => sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(c)
            .await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Replace the recovery codes
///
/// Answers ten new single-use codes; the earlier ones stop working. Needs a second
/// factor (TOTP or a passkey) and a recent authentication.
#[utoipa::path(post, path = "/mfa/recovery-codes", operation_id = "recovery_codes_regenerate", tag = "mfa", security(("bearer" = [])),
    responses(
        (status = 200, description = "The new codes", body = RecoveryCodes, headers(("Cache-Control" = String, description = "no-store"))),
        (status = 403, description = "The session's authentication is not recent: reauthenticate", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account has no second factor to recover", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn regenerate(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
) -> ApiResult<Response> {
    require_recent(&state, &caller)?;
    let codes = regenerate_codes(&state, caller.id(), &client).await?;
    Ok(no_store(
        Json(RecoveryCodes {
            recovery_codes: codes,
        })
        .into_response(),
    ))
}

/// Replaces `user_id`'s recovery codes and answers the new ones (to be shown once); 409
/// when the account has no second factor. Audited. The caller checks the "recent" rule.
pub async fn regenerate_codes(
    state: &AppState,
    user_id: Uuid,
    client: &ClientInfo,
) -> ApiResult<Vec<String>> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if !super::factors(&mut tx, user_id).await?.any() {
        let why = Why::new(
            "set up a second factor (TOTP or a passkey) first",
            message_key("conflict-recovery-needs-factor"),
        );
        return Err(ApiError::conflict("recovery_codes", why));
    }
    let codes = replace(&mut tx, user_id, now).await?;
    let entry = AuditEntry::by_owner(event::RECOVERY_CODES_REGENERATED, user_id, client);
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_carry_eighty_bits_in_four_groups_and_read_back_as_typed() {
        let code = new_code();
        assert_eq!(code.len(), 19);
        assert_eq!(code.matches('-').count(), 3);
        assert_eq!(normalise(&code).len(), LENGTH);
        assert_eq!(
            normalise(&code.to_uppercase().replace('-', " ")),
            normalise(&code)
        );
        assert_ne!(new_code(), code);
    }
}
