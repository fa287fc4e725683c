//! Which events an audit entry stands for. Entries without a type in the catalog (a
//! rehash, a failed second factor, a request for a mail, achievements...) stand for
//! none. `data` is built from the entry's detail by naming the keys it keeps, so a
//! detail that grows never leaks into events.
//!
//! Choices the contract leaves open:
//! - `session.created` comes from `login_success`, which every sign-in that starts a
//!   session writes with the session's id (password, second factor, passkey); that entry
//!   also gives `login.succeeded`. Sessions an OpenID client obtains by a code exchange
//!   write no audit entry and so no event yet.
//! - `session.revoked` is for revocations that are the change itself (logout, logout
//!   everywhere, a revoked session, an RP-initiated sign-out, a reused authorization
//!   code). A password change or reset, a deactivation or a withdrawn grant that ends
//!   sessions says how many in its own event (`sessions_revoked`).
//! - `user.email.changed` is the address actually changing: a confirmed change, an
//!   administrator's change, or a cancellation that restores the old address. A pending
//!   request is not a change.
//! - `user.updated` names fields of the account (`username`, `full_name`,
//!   `email_verified` when an administrator clears it), the extended profile's fields
//!   (or `profile` when it is cleared), `preferences` and `payment_info`.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{AuditEntry, event};
use crate::events::NewEvent;
use crate::events::types;

/// The events `entry` stands for, in the order they are written.
pub(super) fn events_of(entry: &AuditEntry<'_>) -> Vec<NewEvent> {
    let detail = &entry.detail;
    if let Some(event) = client_event(entry.event, detail) {
        return vec![event];
    }
    let Some(user_id) = entry.user_id else {
        return Vec::new();
    };
    let on_account = |kind: &'static str, data: Value| NewEvent {
        kind,
        subject: user_id.to_string(),
        data,
    };
    let one = |kind: &'static str, data: Value| vec![on_account(kind, data)];
    let revoked = |reason: &str, keys: &[&str]| {
        let mut data = pick(detail, keys);
        data["reason"] = reason.into();
        one(types::SESSION_REVOKED, data)
    };
    match entry.event {
        event::REGISTER => one(types::USER_CREATED, json!({"via": "register"})),
        event::ADMIN_CREATED => one(types::USER_CREATED, pick(detail, &["via"])),
        event::USER_IMPORTED => one(types::USER_CREATED, json!({"via": "import"})),
        event::USER_INVITED => one(types::USER_CREATED, json!({"via": "invitation"})),
        event::INVITATION_ACCEPTED => one(types::USER_EMAIL_VERIFIED, json!({"by": "invitation"})),
        event::ACCOUNT_UPDATE => {
            // An address changed by an administrator is its own event (email_change_by_admin).
            let changed: Vec<Value> = names(detail, "changed")
                .into_iter()
                .filter(|name| name != "email")
                .collect();
            updated(user_id, changed)
        }
        event::PROFILE_CHANGE => match detail.get("fields") {
            Some(_) => updated(user_id, names(detail, "fields")),
            None => updated(user_id, vec!["profile".into()]),
        },
        event::PREFERENCES_CHANGE => updated(user_id, vec!["preferences".into()]),
        event::PAYMENT_INFO_CHANGE => updated(user_id, vec!["payment_info".into()]),
        event::EMAIL_CHANGE_CONFIRM => one(types::USER_EMAIL_CHANGED, json!({"by": "self"})),
        event::EMAIL_CHANGE_BY_ADMIN => one(types::USER_EMAIL_CHANGED, json!({"by": "admin"})),
        event::EMAIL_CHANGE_CANCEL if detail["undone"] == true => {
            let mut data = pick(detail, &["sessions_revoked"]);
            data["by"] = "cancellation".into();
            one(types::USER_EMAIL_CHANGED, data)
        }
        event::EMAIL_VERIFIED => one(types::USER_EMAIL_VERIFIED, json!({"by": "link"})),
        event::PASSWORD_CHANGE => one(
            types::USER_PASSWORD_CHANGED,
            pick(detail, &["sessions_revoked"]),
        ),
        event::PASSWORD_RESET => one(
            types::USER_PASSWORD_RESET,
            pick(detail, &["sessions_revoked"]),
        ),
        event::ROLE_CHANGE => {
            let mut data = pick(detail, &["from", "to"]);
            if let Some(role) = detail.get("role") {
                data["to"] = role.clone();
            }
            one(types::USER_ROLE_CHANGED, data)
        }
        event::TIER_CHANGE => one(types::USER_TIER_CHANGED, pick(detail, &["from", "to"])),
        event::STATUS_CHANGE => status_change(user_id, detail),
        event::LOGIN_LOCKED => one(types::USER_LOCKED, pick(detail, &["lock_seconds"])),
        event::USER_DELETED => one(types::USER_DELETED, pick(detail, &["by"])),
        event::LOGIN_SUCCESS => {
            let data = pick(detail, &["session_id", "method", "second_factor"]);
            vec![
                on_account(types::SESSION_CREATED, data.clone()),
                on_account(types::LOGIN_SUCCEEDED, data),
            ]
        }
        event::LOGIN_FAILURE => one(types::LOGIN_FAILED, pick(detail, &["reason"])),
        event::LOGOUT => revoked("logout", &["session_id"]),
        event::LOGOUT_ALL => revoked("logout_all", &["sessions_revoked"]),
        event::SESSION_REVOKED if detail["by"] == "admin" => {
            revoked("revoked_by_admin", &["sessions_revoked"])
        }
        event::SESSION_REVOKED => revoked("revoked_by_user", &["session_id"]),
        event::SIGNED_OUT => revoked("signed_out", &["session_id"]),
        event::AUTHORIZATION_CODE_REUSED => {
            revoked("authorization_code_reused", &["session_id", "client_id"])
        }
        event::TOKEN_REFRESH_REUSE => {
            one(types::SESSION_REUSE_DETECTED, pick(detail, &["session_id"]))
        }
        event::MFA_TOTP_ADDED => one(types::MFA_ENABLED, json!({"method": "totp"})),
        event::MFA_TOTP_REMOVED => one(types::MFA_DISABLED, json!({"method": "totp"})),
        event::MFA_RESET if detail["had_second_factors"] == true => {
            one(types::MFA_DISABLED, json!({"method": "all", "by": "admin"}))
        }
        event::PASSKEY_ADDED => one(types::PASSKEY_ADDED, pick(detail, &["passkey_id"])),
        event::PASSKEY_REMOVED => one(types::PASSKEY_REMOVED, pick(detail, &["passkey_id"])),
        event::GRANT_GIVEN => one(
            types::CONSENT_GRANTED,
            pick(detail, &["client_id", "scope"]),
        ),
        event::GRANT_REVOKED => one(
            types::CONSENT_REVOKED,
            pick(detail, &["client_id", "sessions_revoked"]),
        ),
        event::IDENTITY_LINKED => one(
            types::IDENTITY_LINKED,
            pick(detail, &["identity_id", "provider_id", "issuer", "how"]),
        ),
        event::IDENTITY_UNLINKED => one(
            types::IDENTITY_UNLINKED,
            pick(detail, &["identity_id", "issuer"]),
        ),
        _ => Vec::new(),
    }
}

/// `client.created` and `client.deleted`, whose subject is the client, and
/// `webhook.test`, whose subject is the endpoint tested.
fn client_event(name: &str, detail: &Value) -> Option<NewEvent> {
    let (kind, subject_key, keys): (&'static str, &str, &[&str]) = match name {
        event::CLIENT_CREATED => (types::CLIENT_CREATED, "client_id", &["name", "type"]),
        event::CLIENT_DELETED => (types::CLIENT_DELETED, "client_id", &["sessions_revoked"]),
        event::WEBHOOK_TESTED => (types::WEBHOOK_TEST, "webhook_id", &["webhook_id"]),
        _ => return None,
    };
    let subject = detail.get(subject_key)?.as_str()?;
    Some(NewEvent {
        kind,
        subject: subject.to_owned(),
        data: pick(detail, keys),
    })
}

/// `status_change`: activation, or an administrator setting `email_verified`.
fn status_change(user_id: Uuid, detail: &Value) -> Vec<NewEvent> {
    let to = detail["to"] == true;
    let (kind, data) = match detail["field"].as_str() {
        Some("is_active") if to => (types::USER_REACTIVATED, json!({})),
        Some("is_active") => (types::USER_DEACTIVATED, pick(detail, &["sessions_revoked"])),
        Some("email_verified") if to => (types::USER_EMAIL_VERIFIED, json!({"by": "admin"})),
        Some("email_verified") => return updated(user_id, vec!["email_verified".into()]),
        _ => return Vec::new(),
    };
    vec![NewEvent {
        kind,
        subject: user_id.to_string(),
        data,
    }]
}

/// `user.updated` naming `changed`; none when nothing is named.
fn updated(user_id: Uuid, changed: Vec<Value>) -> Vec<NewEvent> {
    if changed.is_empty() {
        return Vec::new();
    }
    vec![NewEvent {
        kind: types::USER_UPDATED,
        subject: user_id.to_string(),
        data: json!({"changed": changed}),
    }]
}

/// The strings of the list `detail[key]`.
fn names(detail: &Value, key: &str) -> Vec<Value> {
    detail[key]
        .as_array()
        .map(|items| items.iter().filter(|v| v.is_string()).cloned().collect())
        .unwrap_or_default()
}

/// The object of `detail`'s `keys` that it has.
fn pick(detail: &Value, keys: &[&str]) -> Value {
    let kept: Map<String, Value> = keys
        .iter()
        .filter_map(|key| detail.get(*key).map(|v| ((*key).to_owned(), v.clone())))
        .collect();
    Value::Object(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &'static str, detail: Value) -> AuditEntry<'static> {
        AuditEntry {
            event: name,
            actor_id: None,
            user_id: Some(Uuid::nil()),
            client: None,
            detail,
        }
    }

    fn kinds(entry: &AuditEntry<'_>) -> Vec<&'static str> {
        events_of(entry).into_iter().map(|e| e.kind).collect()
    }

    #[test]
    fn a_sign_in_is_a_session_and_a_login() {
        let events = events_of(&entry(
            event::LOGIN_SUCCESS,
            json!({"session_id": "s", "presented_token_id": "x"}),
        ));
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].kind, types::SESSION_CREATED);
        assert_eq!(events[1].kind, types::LOGIN_SUCCEEDED);
        assert_eq!(events[0].data, json!({"session_id": "s"}));
    }

    #[test]
    fn an_admins_address_change_is_not_also_a_field_update() {
        let admin_change = entry(
            event::ACCOUNT_UPDATE,
            json!({"fields": ["email"], "changed": ["email"], "email_changed": true}),
        );
        assert!(kinds(&admin_change).is_empty());
        let rename = entry(
            event::ACCOUNT_UPDATE,
            json!({"fields": ["email", "full_name"], "changed": ["full_name", "email"]}),
        );
        assert_eq!(
            events_of(&rename)[0].data,
            json!({"changed": ["full_name"]})
        );
    }

    #[test]
    fn status_changes_name_what_happened() {
        let off = json!({"field": "is_active", "from": true, "to": false, "sessions_revoked": 2});
        assert_eq!(
            kinds(&entry(event::STATUS_CHANGE, off)),
            [types::USER_DEACTIVATED]
        );
        let on = json!({"field": "is_active", "from": false, "to": true});
        assert_eq!(
            kinds(&entry(event::STATUS_CHANGE, on)),
            [types::USER_REACTIVATED]
        );
        let unverified = json!({"field": "email_verified", "from": true, "to": false});
        assert_eq!(
            kinds(&entry(event::STATUS_CHANGE, unverified)),
            [types::USER_UPDATED]
        );
    }

    #[test]
    fn client_events_are_about_the_client_and_anonymous_failures_about_nobody() {
        let mut created = entry(
            event::CLIENT_CREATED,
            json!({"client_id": "c1", "name": "Billing", "type": "confidential", "via": "api"}),
        );
        created.user_id = None;
        let events = events_of(&created);
        assert_eq!(events[0].subject, "c1");
        assert_eq!(
            events[0].data,
            json!({"name": "Billing", "type": "confidential"})
        );
        let mut unknown = entry(event::LOGIN_FAILURE, json!({"reason": "unknown_account"}));
        unknown.user_id = None;
        assert!(events_of(&unknown).is_empty());
        assert!(kinds(&entry(event::PASSWORD_REHASH, json!({}))).is_empty());
    }
}
