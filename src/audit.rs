//! The audit trail: who did what to which account, from where. Rows are written in the
//! same transaction as the change they describe. `detail` never holds a secret (no
//! passwords, tokens, hashes or payment tokens): callers pass only ids and field names.
//!
//! [`record`] is also the one place that writes events (`crate::events`): the entry's
//! events, chosen in [`catalog`], go into the same transaction, so no feature can
//! change an account without telling other services.

mod catalog;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::db::Tx;
use crate::on_exec;

/// Who is calling, for sessions and the audit trail: the client address (as resolved
/// behind trusted proxies by `http::client`) and the user agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
}

/// Event names, as stored and as filtered on by `GET /api/v1/admin/audit?event=`.
pub mod event {
    pub const REGISTER: &str = "register";
    pub const LOGIN_SUCCESS: &str = "login_success";
    pub const LOGIN_FAILURE: &str = "login_failure";
    pub const LOGIN_LOCKED: &str = "login_locked";
    /// A wrong current password behind a bearer token (change-password, deletion, email change).
    pub const PASSWORD_CONFIRMATION_FAILURE: &str = "password_confirmation_failure";
    pub const LOGOUT: &str = "logout";
    pub const LOGOUT_ALL: &str = "logout_all";
    pub const TOKEN_REFRESH_REUSE: &str = "refresh_token_reuse";
    pub const SESSION_REVOKED: &str = "session_revoked";
    pub const PASSWORD_CHANGE: &str = "password_change";
    pub const PASSWORD_REHASH: &str = "password_rehash";
    pub const PASSWORD_RESET_REQUEST: &str = "password_reset_request";
    pub const PASSWORD_RESET: &str = "password_reset";
    pub const EMAIL_VERIFICATION_REQUEST: &str = "email_verification_request";
    pub const EMAIL_VERIFIED: &str = "email_verified";
    pub const ROLE_CHANGE: &str = "role_change";
    pub const TIER_CHANGE: &str = "tier_change";
    pub const STATUS_CHANGE: &str = "status_change";
    pub const ACCOUNT_UPDATE: &str = "account_update";
    pub const EMAIL_CHANGE_REQUEST: &str = "email_change_request";
    pub const EMAIL_CHANGE_CONFIRM: &str = "email_change_confirm";
    pub const EMAIL_CHANGE_CANCEL: &str = "email_change_cancel";
    /// An administrator changed another account's address (applied at once).
    pub const EMAIL_CHANGE_BY_ADMIN: &str = "email_change_by_admin";
    pub const PROFILE_CHANGE: &str = "profile_change";
    pub const PREFERENCES_CHANGE: &str = "preferences_change";
    pub const PAYMENT_INFO_CHANGE: &str = "payment_info_change";
    pub const USER_DELETED: &str = "user_deleted";
    pub const ADMIN_CREATED: &str = "admin_created";
    pub const USER_IMPORTED: &str = "user_imported";
    /// An administrator made an account without a password and mailed it an invitation.
    pub const USER_INVITED: &str = "user_invited";
    /// An invited account's owner set its first password through the invitation link.
    pub const INVITATION_ACCEPTED: &str = "invitation_accepted";
    pub const MFA_TOTP_ADDED: &str = "mfa_totp_added";
    pub const MFA_TOTP_REMOVED: &str = "mfa_totp_removed";
    pub const PASSKEY_ADDED: &str = "passkey_added";
    pub const PASSKEY_REMOVED: &str = "passkey_removed";
    pub const RECOVERY_CODES_REGENERATED: &str = "recovery_codes_regenerated";
    pub const RECOVERY_CODE_USED: &str = "recovery_code_used";
    /// A wrong second factor (TOTP code, recovery code or passkey assertion).
    pub const MFA_FAILED: &str = "mfa_failed";
    /// An administrator removed every second factor of an account.
    pub const MFA_RESET: &str = "mfa_reset";
    /// A session proved its user again (`/reauthenticate`).
    pub const REAUTHENTICATED: &str = "reauthenticated";
    /// OpenID client registry changes (the detail names the client, never its secret).
    pub const CLIENT_CREATED: &str = "client_created";
    pub const CLIENT_UPDATED: &str = "client_updated";
    pub const CLIENT_DELETED: &str = "client_deleted";
    pub const CLIENT_SECRET_ROTATED: &str = "client_secret_rotated";
    /// A user let an OpenID client have scopes (the consent page).
    pub const GRANT_GIVEN: &str = "grant_given";
    /// A user withdrew what they had granted an OpenID client.
    pub const GRANT_REVOKED: &str = "grant_revoked";
    /// An authorization code was presented a second time: what it issued is revoked.
    pub const AUTHORIZATION_CODE_REUSED: &str = "authorization_code_reused";
    /// A browser signed out (RP-initiated logout).
    pub const SIGNED_OUT: &str = "signed_out";
    /// Webhook endpoints made, changed and deleted by an administrator.
    pub const WEBHOOK_CREATED: &str = "webhook_created";
    pub const WEBHOOK_UPDATED: &str = "webhook_updated";
    pub const WEBHOOK_DELETED: &str = "webhook_deleted";
    /// A webhook's signing secret was replaced (the old one signs too for 24 hours).
    pub const WEBHOOK_SECRET_ROTATED: &str = "webhook_secret_rotated";
    /// An administrator sent a `webhook.test` event to one endpoint.
    pub const WEBHOOK_TESTED: &str = "webhook_tested";
    /// An endpoint was disabled by delivery: it answered 410, or failed for
    /// `WEBHOOK_DISABLE_AFTER_HOURS` without a success (`detail.reason`).
    pub const WEBHOOK_DISABLED: &str = "webhook_disabled";
    /// A delivery spent its retry schedule and is dead.
    pub const WEBHOOK_DELIVERY_DEAD: &str = "webhook_delivery_dead";
    /// An administrator asked for deliveries to be sent again (one, or every dead one).
    pub const WEBHOOK_DELIVERY_RETRIED: &str = "webhook_delivery_retried";
    pub const WEBHOOK_REDRIVEN: &str = "webhook_redriven";
    /// Identity provider registry changes (the detail names the provider, never its
    /// secret).
    pub const IDENTITY_PROVIDER_ADDED: &str = "identity_provider_added";
    pub const IDENTITY_PROVIDER_CHANGED: &str = "identity_provider_changed";
    pub const IDENTITY_PROVIDER_REMOVED: &str = "identity_provider_removed";
    /// An identity at another provider was linked to the account (sign-up through it,
    /// an authoritative provider's address, or after the account's own sign-in).
    pub const IDENTITY_LINKED: &str = "identity_linked";
    /// An identity at another provider was removed from the account.
    pub const IDENTITY_UNLINKED: &str = "identity_unlinked";
}

/// Who changed a registry (OpenID clients, identity providers): an administrator
/// through the API or the console, or an operator at the command line.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// An administrator through the API or the console.
    Admin {
        user_id: Uuid,
        client: &'a ClientInfo,
    },
    /// A `roster` command.
    Cli,
}

/// One audit record to write.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub event: &'static str,
    /// Who acted (None for anonymous or system actions).
    pub actor_id: Option<Uuid>,
    /// Whose account it concerns.
    pub user_id: Option<Uuid>,
    pub client: Option<&'a ClientInfo>,
    pub detail: Value,
}

impl<'a> AuditEntry<'a> {
    /// An event the account's owner caused on their own account.
    pub fn by_owner(event: &'static str, user_id: Uuid, client: &'a ClientInfo) -> AuditEntry<'a> {
        AuditEntry {
            event,
            actor_id: Some(user_id),
            user_id: Some(user_id),
            client: Some(client),
            detail: Value::Object(Default::default()),
        }
    }

    /// A registry change made by `actor`, concerning no account: `detail` gains `via`
    /// (`api` or `cli`).
    pub fn by_actor(event: &'static str, actor: Actor<'a>, mut detail: Value) -> AuditEntry<'a> {
        let (actor_id, client, via) = match actor {
            Actor::Admin { user_id, client } => (Some(user_id), Some(client), "api"),
            Actor::Cli => (None, None, "cli"),
        };
        detail["via"] = via.into();
        AuditEntry {
            event,
            actor_id,
            user_id: None,
            client,
            detail,
        }
    }

    pub fn with_detail(mut self, detail: Value) -> AuditEntry<'a> {
        self.detail = detail;
        self
    }
}

/// Writes `entry` and the events it stands for (see [`catalog`]) inside `tx`, the
/// transaction of the change it describes.
pub async fn record(
    tx: &mut Tx,
    now: DateTime<Utc>,
    entry: AuditEntry<'_>,
) -> Result<(), sqlx::Error> {
    let (ip, user_agent) = match entry.client {
        Some(client) => (
            client.ip.map(|ip| ip.to_string()),
            client.user_agent.clone(),
        ),
        None => (None, None),
    };
    on_exec!(&mut *tx, c => sqlx::query(
        "INSERT INTO audit_events (id, at, event, actor_id, user_id, ip, user_agent, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(Uuid::now_v7())
        .bind(now)
        .bind(entry.event)
        .bind(entry.actor_id)
        .bind(entry.user_id)
        .bind(ip)
        .bind(user_agent)
        .bind(sqlx::types::Json(&entry.detail))
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    for event in catalog::events_of(&entry) {
        crate::events::log::append(tx, now, &event).await?;
    }
    Ok(())
}
