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
--
-- SQLite cannot change a CHECK constraint, so `mail_outbox` is rebuilt with the new
-- kinds of mail (same columns, same indexes).

ALTER TABLE users ADD COLUMN pending_email TEXT;

CREATE TABLE email_change_tokens (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('confirm', 'cancel')),
    old_email TEXT NOT NULL,
    new_email TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE UNIQUE INDEX email_change_tokens_hash ON email_change_tokens (token_hash);
CREATE INDEX email_change_tokens_user ON email_change_tokens (user_id, purpose);
CREATE INDEX email_change_tokens_expires ON email_change_tokens (expires_at);

CREATE TABLE mail_outbox_rebuilt (
    id BLOB PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN (
        'password_reset', 'email_verification', 'password_changed',
        'email_change_confirm', 'email_change_notice', 'email_changed_by_admin')),
    user_id BLOB REFERENCES users (id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    message BLOB,
    created_at TEXT NOT NULL,
    discard_after TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until TEXT,
    last_error TEXT,
    sent_at TEXT,
    failed_at TEXT
);
INSERT INTO mail_outbox_rebuilt
    SELECT id, kind, user_id, recipient, message, created_at, discard_after, attempts,
           next_attempt_at, lease_until, last_error, sent_at, failed_at
    FROM mail_outbox;
DROP TABLE mail_outbox;
ALTER TABLE mail_outbox_rebuilt RENAME TO mail_outbox;
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX mail_outbox_recipient ON mail_outbox (recipient, kind, created_at);
CREATE INDEX mail_outbox_user ON mail_outbox (user_id);

UPDATE login_throttle SET identifier = 'login:' || identifier;

ALTER TABLE user_profiles ADD COLUMN profile_visibility TEXT NOT NULL DEFAULT 'premium'
    CHECK (profile_visibility IN ('premium', 'private'));

CREATE TABLE data_fixes (
    name TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL
);

CREATE TABLE email_canonical_duplicates (
    user_id BLOB PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    canonical_email TEXT NOT NULL,
    found_at TEXT NOT NULL
);
