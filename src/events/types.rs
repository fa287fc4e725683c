//! The catalog of event types (the CloudEvents `type`), as the contract names them.
//! Which audit entry becomes which event is decided beside the audit trail
//! (`crate::audit`), the one place that writes both.
//!
//! `login.succeeded` and `login.failed` are recorded like the others, but only readers
//! that name them explicitly receive them (a filter `login.*` or the exact type): they
//! are as frequent as sign-ins.

pub const USER_CREATED: &str = "user.created";
/// `data.changed` names the fields that changed, never their values.
pub const USER_UPDATED: &str = "user.updated";
pub const USER_EMAIL_CHANGED: &str = "user.email.changed";
pub const USER_EMAIL_VERIFIED: &str = "user.email.verified";
pub const USER_PASSWORD_CHANGED: &str = "user.password.changed";
pub const USER_PASSWORD_RESET: &str = "user.password.reset";
pub const USER_ROLE_CHANGED: &str = "user.role.changed";
pub const USER_TIER_CHANGED: &str = "user.tier.changed";
pub const USER_DEACTIVATED: &str = "user.deactivated";
pub const USER_REACTIVATED: &str = "user.reactivated";
pub const USER_LOCKED: &str = "user.locked";
pub const USER_DELETED: &str = "user.deleted";
pub const SESSION_CREATED: &str = "session.created";
/// `data.reason` says why (`logout`, `logout_all`, `revoked_by_user`, ...).
pub const SESSION_REVOKED: &str = "session.revoked";
pub const SESSION_REUSE_DETECTED: &str = "session.reuse_detected";
pub const MFA_ENABLED: &str = "mfa.enabled";
pub const MFA_DISABLED: &str = "mfa.disabled";
pub const PASSKEY_ADDED: &str = "passkey.added";
pub const PASSKEY_REMOVED: &str = "passkey.removed";
/// The subject is the client id.
pub const CLIENT_CREATED: &str = "client.created";
/// The subject is the client id.
pub const CLIENT_DELETED: &str = "client.deleted";
pub const CONSENT_GRANTED: &str = "consent.granted";
pub const CONSENT_REVOKED: &str = "consent.revoked";
/// An identity at another provider was linked to the account, or removed from it.
pub const IDENTITY_LINKED: &str = "identity.linked";
pub const IDENTITY_UNLINKED: &str = "identity.unlinked";
/// An administrator's test of one webhook endpoint; the subject is the endpoint's id,
/// and only that endpoint receives it.
pub const WEBHOOK_TEST: &str = "webhook.test";
/// Only for readers that name it (see the module's documentation).
pub const LOGIN_SUCCEEDED: &str = "login.succeeded";
/// Only for readers that name it (see the module's documentation).
pub const LOGIN_FAILED: &str = "login.failed";

/// The prefix of the types a reader receives only when it names them.
pub const NAMED_ONLY_PREFIX: &str = "login.";
