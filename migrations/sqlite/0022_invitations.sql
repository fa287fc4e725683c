-- Invitations: an administrator creates an account without a password
-- (POST /api/v1/admin/users) and its address is mailed a link to set one. The link's
-- token is stored as its SHA-256 only, works once, for 7 days, and only while the
-- account still has the address it was mailed to (like a reset token).
-- A new kind of mail carries it.
--
-- SQLite cannot change a CHECK constraint, so `mail_outbox` is rebuilt with the new
-- kind of mail (same columns, same indexes).

CREATE TABLE invitation_tokens (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE UNIQUE INDEX invitation_tokens_hash ON invitation_tokens (token_hash);
CREATE INDEX invitation_tokens_user ON invitation_tokens (user_id);
CREATE INDEX invitation_tokens_expires ON invitation_tokens (expires_at);

CREATE TABLE mail_outbox_rebuilt (
    id BLOB PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN (
        'password_reset', 'email_verification', 'password_changed',
        'email_change_confirm', 'email_change_notice', 'email_changed_by_admin',
        'identity_linked', 'identity_unlinked', 'webhook_disabled', 'invitation')),
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
