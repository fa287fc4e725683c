-- Account hardening (a stolen access token must not become a stolen account).
--
-- 1. An email change is pending until the new address confirms it: `users.pending_email`
--    holds it meanwhile, and `email_change_tokens` the links (only their SHA-256): one
--    mailed to the new address to confirm (48 hours), one to the old address to cancel
--    (7 days, and it undoes a change already confirmed).
-- 2. Lockout per account as well as per identifier: `login_throttle` keys become
--    `login:<identifier>` and `account:<user id>`, so no identifier can name an
--    account's key.
-- 3. A profile may be hidden from premium members (`profile_visibility`).
-- 4. Email addresses in canonical form (NFC, IDNA domain, unneeded quotes removed): the
--    stored ones are rewritten once by the application (`data_fixes` records it), and
--    accounts that collide under the new form are listed, not merged.

ALTER TABLE users ADD COLUMN pending_email TEXT;

CREATE TABLE email_change_tokens (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('confirm', 'cancel')),
    old_email TEXT NOT NULL,
    new_email TEXT NOT NULL,
    token_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX email_change_tokens_hash ON email_change_tokens (token_hash);
CREATE INDEX email_change_tokens_user ON email_change_tokens (user_id, purpose);
CREATE INDEX email_change_tokens_expires ON email_change_tokens (expires_at);

ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN (
    'password_reset', 'email_verification', 'password_changed',
    'email_change_confirm', 'email_change_notice', 'email_changed_by_admin'));

UPDATE login_throttle SET identifier = 'login:' || identifier;

ALTER TABLE user_profiles ADD COLUMN profile_visibility TEXT NOT NULL DEFAULT 'premium'
    CHECK (profile_visibility IN ('premium', 'private'));

CREATE TABLE data_fixes (
    name TEXT PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE email_canonical_duplicates (
    user_id UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    canonical_email TEXT NOT NULL,
    found_at TIMESTAMPTZ NOT NULL
);
