//! Second factors under `/api/v1/auth`: a TOTP authenticator with recovery codes
//! (`totp`, `recovery`), passkeys (`passkeys`), the challenge a password login answers
//! when the account has a second factor and its completion (`challenge`), and
//! re-authentication with the "recent" rule of the sensitive endpoints (`recent`).
//!
//! Once an account has a confirmed TOTP authenticator or a passkey, a password alone
//! no longer yields tokens. A password reset removes no second factor: the next login
//! still needs one (or a recovery code). Every change is audited; verifications are
//! counted in `roster_mfa_verifications_total{method, result}`.

pub mod challenge;
pub mod passkey_list;
pub mod passkey_login;
pub mod passkeys;
pub mod proof;
pub mod recent;
pub mod recovery;
pub mod rules;
pub mod totp;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::db::{Exec, Tx};
use crate::http::AuthUser;
use crate::on_exec;
use crate::state::AppState;

/// Routes under `/api/v1/auth`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(totp::enrol, totp::remove))
        .routes(routes!(totp::confirm))
        .routes(routes!(recovery::regenerate))
        .routes(routes!(passkeys::registration_options))
        .routes(routes!(passkeys::register))
        .routes(routes!(passkey_list::remove))
        .routes(routes!(challenge::verify))
        .routes(routes!(passkeys::second_factor_options))
        .routes(routes!(passkey_login::login_options))
        .routes(routes!(passkey_login::login))
        .routes(routes!(recent::reauthenticate))
}

/// The second factors an account has.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct Factors {
    /// A confirmed TOTP authenticator.
    pub totp: bool,
    pub passkeys: i64,
    pub recovery_codes_left: i64,
}

impl Factors {
    /// True when a password alone no longer yields tokens.
    pub fn any(&self) -> bool {
        self.totp || self.passkeys > 0
    }

    /// The methods a second-factor challenge offers, as the contract names them.
    pub fn methods(&self) -> Vec<String> {
        let mut methods = Vec::new();
        if self.totp {
            methods.push("totp".to_owned());
        }
        if self.any() && self.recovery_codes_left > 0 {
            methods.push("recovery_code".to_owned());
        }
        if self.passkeys > 0 {
            methods.push("passkey".to_owned());
        }
        methods
    }
}

/// The second factors of `user_id`, in one query.
pub async fn factors(ex: impl Into<Exec<'_>>, user_id: Uuid) -> Result<Factors, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, Factors>(
        "SELECT EXISTS (SELECT 1 FROM mfa_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL) AS totp, \
                (SELECT COUNT(*) FROM passkeys WHERE user_id = $1) AS passkeys, \
                (SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL) AS recovery_codes_left")
        .bind(user_id)
        .fetch_one(c)
        .await)
}

/// Removes every second factor of `user_id` (an administrator's reset), with pending
/// enrolments, challenges and recovery codes. Returns whether there was anything.
pub async fn remove_all(tx: &mut Tx, user_id: Uuid) -> Result<bool, sqlx::Error> {
    let mut removed = 0;
    for statement in [
        "DELETE FROM mfa_totp WHERE user_id = $1",
        "DELETE FROM passkeys WHERE user_id = $1",
        "DELETE FROM mfa_recovery_codes WHERE user_id = $1",
        "DELETE FROM webauthn_challenges WHERE user_id = $1",
        "DELETE FROM mfa_challenges WHERE user_id = $1",
    ] {
        removed += on_exec!(&mut *tx, c => sqlx::query(statement)
            .bind(user_id)
            .execute(c)
            .await.map(|r| r.rows_affected()))?;
    }
    Ok(removed > 0)
}

/// Deletes expired challenges and ceremonies; returns rows deleted.
pub async fn purge_expired(db: &crate::db::Db, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let mut deleted = 0;
    for statement in [
        "DELETE FROM webauthn_challenges WHERE expires_at <= $1",
        "DELETE FROM mfa_challenges WHERE expires_at <= $1",
    ] {
        deleted += on_exec!(db.writer(), c => sqlx::query(statement)
            .bind(now)
            .execute(c)
            .await.map(|r| r.rows_affected()))?;
    }
    Ok(deleted)
}

/// A passkey as its owner sees it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct PasskeyInfo {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The caller's second factors.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MfaStatus {
    /// A confirmed TOTP authenticator.
    pub totp: bool,
    pub passkeys: Vec<PasskeyInfo>,
    pub recovery_codes_left: i64,
}

/// The caller's second factors
#[utoipa::path(get, path = "/mfa", operation_id = "mfa_status", tag = "mfa", security(("bearer" = [])),
    responses(
        (status = 200, description = "TOTP, passkeys and recovery codes left", body = MfaStatus),
    ))]
pub async fn status(
    State(state): State<AppState>,
    caller: AuthUser,
) -> crate::error::ApiResult<Json<MfaStatus>> {
    let factors = factors(&state.db, caller.id()).await?;
    let passkeys = passkey_list::list(&state.db, caller.id()).await?;
    Ok(Json(MfaStatus {
        totp: factors.totp,
        passkeys,
        recovery_codes_left: factors.recovery_codes_left,
    }))
}

/// Records a verification's outcome in `roster_mfa_verifications_total`.
pub fn count_verification(method: &'static str, result: &'static str) {
    metrics::counter!("roster_mfa_verifications_total", "method" => method, "result" => result)
        .increment(1);
}
