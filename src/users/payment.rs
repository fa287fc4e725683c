//! The payment vault (`/me/payment-info`): one payment token per user, sealed with
//! AES-256-GCM under `ENCRYPTION_KEY` (a fresh random nonce per write, the user id as
//! associated data, so a ciphertext tampered with or moved to another user fails to
//! open instead of yielding garbage). Nothing of the token is stored in clear; responses
//! show only its last four characters, read back by decrypting; logs, errors and audit
//! entries never hold it.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::{self, AuditEntry, event};
use crate::db::Exec;
use crate::error::{ApiError, ApiResult, Problem, ResultExt, Why};
use crate::http::{ApiJson, AuthUser, ClientInfo, Created, NoContent};
use crate::i18n::message_key;
use crate::on_exec;
use crate::state::AppState;

pub const MIN_TOKEN: usize = 8;
pub const MAX_TOKEN: usize = 256;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentInfoRequest {
    /// The payment provider's token for the user's payment method: 8 to 256 characters,
    /// no spaces or control characters.
    #[serde(default)]
    #[schema(required = true, example = "tok_visa_4242424242424242")]
    pub payment_token: String,
}

impl std::fmt::Debug for PaymentInfoRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PaymentInfoRequest { payment_token: <redacted> }")
    }
}

/// What the vault shows of a stored payment token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentInfo {
    pub has_payment_info: bool,
    /// The token's last four characters.
    #[schema(example = "4242")]
    pub token_hint: String,
    pub updated_at: DateTime<Utc>,
}

/// The token checked: 8 to 256 characters, none of them whitespace or control.
fn parse_token(raw: &str) -> ApiResult<&str> {
    let length = raw.chars().count();
    if !(MIN_TOKEN..=MAX_TOKEN).contains(&length) {
        let why = Why::new(
            format!("must be {MIN_TOKEN} to {MAX_TOKEN} characters"),
            message_key("field-length-between"),
        );
        let why = why.with("min", MIN_TOKEN).with("max", MAX_TOKEN);
        return Err(ApiError::Validation(vec![why.at("payment_token")]));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        let why = Why::new(
            "must not contain spaces or control characters",
            message_key("field-spaces-or-control-characters"),
        );
        return Err(ApiError::Validation(vec![why.at("payment_token")]));
    }
    Ok(raw)
}

fn hint(token: &str) -> String {
    let chars: Vec<char> = token.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    token_ciphertext: Vec<u8>,
    updated_at: DateTime<Utc>,
}

/// Opens a sealed token; a value that does not authenticate is an internal error
/// (logged without any of its bytes), never garbage.
fn open(state: &AppState, user_id: Uuid, row: SealedRow) -> ApiResult<PaymentInfo> {
    let plain = state
        .cipher
        .open(&row.token_ciphertext, user_id.as_bytes())
        .map_err(|e| {
            ApiError::Internal(anyhow::Error::new(e).context(format!(
                "the payment information of user {user_id} cannot be decrypted"
            )))
        })?;
    let token = String::from_utf8(plain).map_err(|_| {
        ApiError::Internal(anyhow::anyhow!(
            "the payment information of user {user_id} is not text"
        ))
    })?;
    Ok(PaymentInfo {
        has_payment_info: true,
        token_hint: hint(&token),
        updated_at: row.updated_at,
    })
}

async fn sealed_row(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
) -> Result<Option<SealedRow>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, SealedRow>(
        "SELECT token_ciphertext, updated_at FROM payment_info WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(c)
        .await)
}

/// How a write treats an existing token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// POST: 409 when one exists.
    CreateOnly,
    /// PUT: replace, or create when none.
    Upsert,
}

/// The 409 of a `POST` when the account's payment information is stored already.
fn already_stored() -> ApiError {
    ApiError::conflict_without_field(Why::new(
        "payment information is already stored: replace it with PUT",
        message_key("conflict-payment-stored"),
    ))
}

/// What is stored of `user_id`'s payment token (`GET /me/payment-info` and the
/// console's payment page); `None` when nothing is.
pub async fn payment_info_of(state: &AppState, user_id: Uuid) -> ApiResult<Option<PaymentInfo>> {
    match sealed_row(&state.db, user_id).await? {
        Some(row) => Ok(Some(open(state, user_id, row)?)),
        None => Ok(None),
    }
}

/// Stores `raw` as `user_id`'s payment token (POST and PUT `/me/payment-info`, the
/// console's payment page), audited; the info and whether one existed before.
pub async fn store(
    state: &AppState,
    user_id: Uuid,
    client: &ClientInfo,
    raw: &str,
    mode: Mode,
) -> ApiResult<(PaymentInfo, bool)> {
    let token = parse_token(raw)?;
    let sealed = state.cipher.seal(token.as_bytes(), user_id.as_bytes());
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let existed = sealed_row(&mut tx, user_id).await?.is_some();
    if existed && mode == Mode::CreateOnly {
        return Err(already_stored());
    }
    let sql = match mode {
        Mode::CreateOnly => {
            "INSERT INTO payment_info (user_id, token_ciphertext, created_at, updated_at) VALUES ($1, $2, $3, $3)"
        }
        Mode::Upsert => {
            "INSERT INTO payment_info (user_id, token_ciphertext, created_at, updated_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (user_id) DO UPDATE SET token_ciphertext = excluded.token_ciphertext, updated_at = excluded.updated_at"
        }
    };
    on_exec!(&mut tx, c => sqlx::query(sql)
        .bind(user_id)
        .bind(&sealed)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))
    .on_unique_violation(|_| already_stored())?;
    let action = if existed { "replaced" } else { "stored" };
    let entry = AuditEntry::by_owner(event::PAYMENT_INFO_CHANGE, user_id, client)
        .with_detail(serde_json::json!({"action": action}));
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok((
        PaymentInfo {
            has_payment_info: true,
            token_hint: hint(token),
            updated_at: now,
        },
        existed,
    ))
}

/// What is stored of the caller's payment method
///
/// Only the last four characters of the token are shown. 404 when none is stored.
#[utoipa::path(get, path = "/me/payment-info", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "A token is stored", body = PaymentInfo),
        (status = 404, description = "No payment information stored", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_payment_info(
    State(state): State<AppState>,
    caller: AuthUser,
) -> ApiResult<Json<PaymentInfo>> {
    let info = payment_info_of(&state, caller.id()).await?.ok_or_else(|| {
        ApiError::not_found("payment information", message_key("not-found-payment"))
    })?;
    Ok(Json(info))
}

/// Store the caller's payment token
///
/// The token is encrypted at rest and never returned whole. 409 when one is stored
/// already (replace it with PUT).
#[utoipa::path(post, path = "/me/payment-info", tag = "users", security(("bearer" = [])), request_body = PaymentInfoRequest,
    responses(
        (status = 201, description = "Stored", body = PaymentInfo),
        (status = 409, description = "Payment information is already stored", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "payment_token missing or invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_payment_info(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<PaymentInfoRequest>,
) -> ApiResult<Created<PaymentInfo>> {
    let (info, _) = store(
        &state,
        caller.id(),
        &client,
        &body.payment_token,
        Mode::CreateOnly,
    )
    .await?;
    Ok(Created(info))
}

/// Store or replace the caller's payment token
///
/// Creates it when none is stored (200 either way).
#[utoipa::path(put, path = "/me/payment-info", tag = "users", security(("bearer" = [])), request_body = PaymentInfoRequest,
    responses(
        (status = 200, description = "Stored", body = PaymentInfo),
        (status = 422, description = "payment_token missing or invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_payment_info(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<PaymentInfoRequest>,
) -> ApiResult<Json<PaymentInfo>> {
    let (info, _) = store(
        &state,
        caller.id(),
        &client,
        &body.payment_token,
        Mode::Upsert,
    )
    .await?;
    Ok(Json(info))
}

/// Delete the caller's payment token
///
/// Idempotent: 204 also when none was stored.
#[utoipa::path(delete, path = "/me/payment-info", tag = "users", security(("bearer" = [])),
    responses(
        (status = 204, description = "No payment information is stored any more"),
    ))]
pub async fn delete_payment_info(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
) -> ApiResult<NoContent> {
    remove(&state, caller.id(), &client).await?;
    Ok(NoContent)
}

/// Deletes `user_id`'s payment token (`DELETE /me/payment-info`, the console's payment
/// page), audited when there was one; idempotent.
pub async fn remove(state: &AppState, user_id: Uuid, client: &ClientInfo) -> ApiResult<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let deleted = on_exec!(&mut tx, c => sqlx::query("DELETE FROM payment_info WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    if deleted > 0 {
        let entry = AuditEntry::by_owner(event::PAYMENT_INFO_CHANGE, user_id, client)
            .with_detail(serde_json::json!({"action": "deleted"}));
        audit::record(&mut tx, now, entry).await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_and_hinted_by_their_last_four_characters() {
        assert_eq!(hint("tok_visa_4242"), "4242");
        assert!(parse_token("tok_visa_4242").is_ok());
        for bad in [
            "",
            "short",
            "has space 1234",
            "tab\tinside1",
            &"x".repeat(257),
        ] {
            assert!(parse_token(bad).is_err(), "{bad:?}");
        }
    }
}
