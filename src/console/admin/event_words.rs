//! The words of audit events on the admin pages: each event Roster records as a phrase
//! of `console-admin.ftl` (also the audit filter's choices), and an event's detail (a
//! JSON object) as fields labelled in the page's language.

use serde::Serialize;
use serde_json::Value as Json;

use crate::audit::event;
use crate::i18n::{Arg, message_key};
use crate::web::Pages;

/// The events Roster records (`crate::audit::event`), each with the message that says
/// it: the audit filter's choices, and the words of each row.
pub const EVENTS: &[(&str, &str)] = &[
    (event::REGISTER, message_key("admin-audit-event-register")),
    (
        event::LOGIN_SUCCESS,
        message_key("admin-audit-event-login-success"),
    ),
    (
        event::LOGIN_FAILURE,
        message_key("admin-audit-event-login-failure"),
    ),
    (
        event::LOGIN_LOCKED,
        message_key("admin-audit-event-login-locked"),
    ),
    (
        event::PASSWORD_CONFIRMATION_FAILURE,
        message_key("admin-audit-event-password-confirmation-failure"),
    ),
    (event::LOGOUT, message_key("admin-audit-event-logout")),
    (
        event::LOGOUT_ALL,
        message_key("admin-audit-event-logout-all"),
    ),
    (
        event::TOKEN_REFRESH_REUSE,
        message_key("admin-audit-event-refresh-token-reuse"),
    ),
    (
        event::SESSION_REVOKED,
        message_key("admin-audit-event-session-revoked"),
    ),
    (
        event::PASSWORD_CHANGE,
        message_key("admin-audit-event-password-change"),
    ),
    (
        event::PASSWORD_REHASH,
        message_key("admin-audit-event-password-rehash"),
    ),
    (
        event::PASSWORD_RESET_REQUEST,
        message_key("admin-audit-event-password-reset-request"),
    ),
    (
        event::PASSWORD_RESET,
        message_key("admin-audit-event-password-reset"),
    ),
    (
        event::EMAIL_VERIFICATION_REQUEST,
        message_key("admin-audit-event-email-verification-request"),
    ),
    (
        event::EMAIL_VERIFIED,
        message_key("admin-audit-event-email-verified"),
    ),
    (
        event::ROLE_CHANGE,
        message_key("admin-audit-event-role-change"),
    ),
    (
        event::TIER_CHANGE,
        message_key("admin-audit-event-tier-change"),
    ),
    (
        event::STATUS_CHANGE,
        message_key("admin-audit-event-status-change"),
    ),
    (
        event::ACCOUNT_UPDATE,
        message_key("admin-audit-event-account-update"),
    ),
    (
        event::EMAIL_CHANGE_REQUEST,
        message_key("admin-audit-event-email-change-request"),
    ),
    (
        event::EMAIL_CHANGE_CONFIRM,
        message_key("admin-audit-event-email-change-confirm"),
    ),
    (
        event::EMAIL_CHANGE_CANCEL,
        message_key("admin-audit-event-email-change-cancel"),
    ),
    (
        event::EMAIL_CHANGE_BY_ADMIN,
        message_key("admin-audit-event-email-change-by-admin"),
    ),
    (
        event::PROFILE_CHANGE,
        message_key("admin-audit-event-profile-change"),
    ),
    (
        event::PREFERENCES_CHANGE,
        message_key("admin-audit-event-preferences-change"),
    ),
    (
        event::PAYMENT_INFO_CHANGE,
        message_key("admin-audit-event-payment-info-change"),
    ),
    (
        event::USER_DELETED,
        message_key("admin-audit-event-user-deleted"),
    ),
    (
        event::ADMIN_CREATED,
        message_key("admin-audit-event-admin-created"),
    ),
    (
        event::USER_IMPORTED,
        message_key("admin-audit-event-user-imported"),
    ),
    (
        event::USER_INVITED,
        message_key("admin-audit-event-user-invited"),
    ),
    (
        event::INVITATION_ACCEPTED,
        message_key("admin-audit-event-invitation-accepted"),
    ),
    (
        event::MFA_TOTP_ADDED,
        message_key("admin-audit-event-mfa-totp-added"),
    ),
    (
        event::MFA_TOTP_REMOVED,
        message_key("admin-audit-event-mfa-totp-removed"),
    ),
    (
        event::PASSKEY_ADDED,
        message_key("admin-audit-event-passkey-added"),
    ),
    (
        event::PASSKEY_REMOVED,
        message_key("admin-audit-event-passkey-removed"),
    ),
    (
        event::RECOVERY_CODES_REGENERATED,
        message_key("admin-audit-event-recovery-codes-regenerated"),
    ),
    (
        event::RECOVERY_CODE_USED,
        message_key("admin-audit-event-recovery-code-used"),
    ),
    (
        event::MFA_FAILED,
        message_key("admin-audit-event-mfa-failed"),
    ),
    (event::MFA_RESET, message_key("admin-audit-event-mfa-reset")),
    (
        event::REAUTHENTICATED,
        message_key("admin-audit-event-reauthenticated"),
    ),
    (
        event::CLIENT_CREATED,
        message_key("admin-audit-event-client-created"),
    ),
    (
        event::CLIENT_UPDATED,
        message_key("admin-audit-event-client-updated"),
    ),
    (
        event::CLIENT_DELETED,
        message_key("admin-audit-event-client-deleted"),
    ),
    (
        event::CLIENT_SECRET_ROTATED,
        message_key("admin-audit-event-client-secret-rotated"),
    ),
    (
        event::GRANT_GIVEN,
        message_key("admin-audit-event-grant-given"),
    ),
    (
        event::GRANT_REVOKED,
        message_key("admin-audit-event-grant-revoked"),
    ),
    (
        event::AUTHORIZATION_CODE_REUSED,
        message_key("admin-audit-event-authorization-code-reused"),
    ),
    (
        event::SIGNED_OUT,
        message_key("admin-audit-event-signed-out"),
    ),
    (
        event::WEBHOOK_CREATED,
        message_key("admin-audit-event-webhook-created"),
    ),
    (
        event::WEBHOOK_UPDATED,
        message_key("admin-audit-event-webhook-updated"),
    ),
    (
        event::WEBHOOK_DELETED,
        message_key("admin-audit-event-webhook-deleted"),
    ),
    (
        event::WEBHOOK_SECRET_ROTATED,
        message_key("admin-audit-event-webhook-secret-rotated"),
    ),
    (
        event::WEBHOOK_TESTED,
        message_key("admin-audit-event-webhook-tested"),
    ),
    (
        event::WEBHOOK_DISABLED,
        message_key("admin-audit-event-webhook-disabled"),
    ),
    (
        event::WEBHOOK_DELIVERY_DEAD,
        message_key("admin-audit-event-webhook-delivery-dead"),
    ),
    (
        event::WEBHOOK_DELIVERY_RETRIED,
        message_key("admin-audit-event-webhook-delivery-retried"),
    ),
    (
        event::WEBHOOK_REDRIVEN,
        message_key("admin-audit-event-webhook-redriven"),
    ),
    (
        event::IDENTITY_PROVIDER_ADDED,
        message_key("admin-audit-event-identity-provider-added"),
    ),
    (
        event::IDENTITY_PROVIDER_CHANGED,
        message_key("admin-audit-event-identity-provider-changed"),
    ),
    (
        event::IDENTITY_PROVIDER_REMOVED,
        message_key("admin-audit-event-identity-provider-removed"),
    ),
    (
        event::IDENTITY_LINKED,
        message_key("admin-audit-event-identity-linked"),
    ),
    (
        event::IDENTITY_UNLINKED,
        message_key("admin-audit-event-identity-unlinked"),
    ),
];

/// The labels of the detail's keys the audit entries write.
const DETAIL_KEYS: &[(&str, &str)] = &[
    ("session_id", message_key("admin-audit-key-session-id")),
    ("via", message_key("admin-audit-key-via")),
    (
        "sessions_revoked",
        message_key("admin-audit-key-sessions-revoked"),
    ),
    ("fields", message_key("admin-audit-key-fields")),
    ("client_id", message_key("admin-audit-key-client-id")),
    ("by", message_key("admin-audit-key-by")),
    ("to", message_key("admin-audit-key-to")),
    ("from", message_key("admin-audit-key-from")),
    ("method", message_key("admin-audit-key-method")),
    ("field", message_key("admin-audit-key-field")),
    ("changed", message_key("admin-audit-key-changed")),
    ("action", message_key("admin-audit-key-action")),
    ("webhook_id", message_key("admin-audit-key-webhook-id")),
    ("status", message_key("admin-audit-key-status")),
    ("name", message_key("admin-audit-key-name")),
    ("type", message_key("admin-audit-key-type")),
    ("reason", message_key("admin-audit-key-reason")),
    ("provider_id", message_key("admin-audit-key-provider-id")),
    ("issuer", message_key("admin-audit-key-issuer")),
    ("role", message_key("admin-audit-key-role")),
    ("scope", message_key("admin-audit-key-scope")),
    ("passkey_id", message_key("admin-audit-key-passkey-id")),
    ("identity_id", message_key("admin-audit-key-identity-id")),
    (
        "second_factor",
        message_key("admin-audit-key-second-factor"),
    ),
    ("undone", message_key("admin-audit-key-undone")),
    (
        "email_changed",
        message_key("admin-audit-key-email-changed"),
    ),
    ("lock_seconds", message_key("admin-audit-key-lock-seconds")),
    ("event_id", message_key("admin-audit-key-event-id")),
    ("attempts", message_key("admin-audit-key-attempts")),
    ("error", message_key("admin-audit-key-error")),
    ("last_error", message_key("admin-audit-key-last-error")),
    ("slug", message_key("admin-audit-key-slug")),
    ("how", message_key("admin-audit-key-how")),
    (
        "had_second_factors",
        message_key("admin-audit-key-had-second-factors"),
    ),
    ("has_password", message_key("admin-audit-key-has-password")),
    ("description", message_key("admin-audit-key-description")),
];

/// One labelled field of an event's detail.
#[derive(Serialize)]
pub struct DetailField {
    pub label: String,
    pub value: String,
}

/// The event `name` in words; one Roster does not list, by its name.
pub fn event_words(pages: &Pages, name: &str) -> String {
    match EVENTS.iter().find(|(event, _)| *event == name) {
        Some((_, key)) => pages.tr(key),
        None => pages.tr_with("admin-audit-event-other", &[("name", Arg::from(name))]),
    }
}

/// An event's detail (a JSON object) as labelled fields, in the order written.
pub fn detail_fields(pages: &Pages, detail: &Json) -> Vec<DetailField> {
    let Some(object) = detail.as_object() else {
        return match detail {
            Json::Null => Vec::new(),
            other => vec![DetailField {
                label: pages.tr_with("admin-audit-key-other", &[("key", Arg::from("-"))]),
                value: value_words(pages, other),
            }],
        };
    };
    object
        .iter()
        .map(|(key, value)| DetailField {
            label: match DETAIL_KEYS.iter().find(|(known, _)| *known == key.as_str()) {
                Some((_, message)) => pages.tr(message),
                None => pages.tr_with(
                    "admin-audit-key-other",
                    &[("key", Arg::from(key.replace('_', " ")))],
                ),
            },
            value: value_words(pages, value),
        })
        .collect()
}

/// A detail's value as text: yes or no, a list joined, a number or text as it is.
fn value_words(pages: &Pages, value: &Json) -> String {
    match value {
        Json::Bool(true) => pages.tr("admin-yes"),
        Json::Bool(false) => pages.tr("admin-no"),
        Json::String(text) => text.clone(),
        Json::Array(items) => items
            .iter()
            .map(|item| value_words(pages, item))
            .collect::<Vec<_>>()
            .join(", "),
        Json::Null => pages.tr("admin-none"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_read_as_labelled_fields_and_events_as_words() {
        let pages = Pages::new("http://localhost").unwrap();
        let detail = serde_json::json!({"from": "user", "to": "admin", "fields": ["bio", "phone"], "undone": true, "odd_key": 3});
        let fields: Vec<(String, String)> = detail_fields(&pages, &detail)
            .into_iter()
            .map(|f| (f.label, f.value))
            .collect();
        assert!(
            fields.contains(&("From".into(), "user".into())),
            "{fields:?}"
        );
        assert!(fields.contains(&("Fields".into(), "bio, phone".into())));
        assert!(fields.contains(&("Undone".into(), "yes".into())));
        assert!(fields.contains(&("odd key".into(), "3".into())));
        assert_eq!(event_words(&pages, "login_success"), "Signed in");
        assert_eq!(event_words(&pages, "brand_new"), "Other event (brand_new)");
    }
}
