-- Password-reset and email-verification tokens (only their SHA-256 is stored), the
-- mail outbox, and one row per recipient address whose lock serialises the
-- per-address quota check.

CREATE TABLE password_reset_tokens (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The address the token was mailed to; the token stops working if it changes.
    email TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE UNIQUE INDEX password_reset_tokens_hash ON password_reset_tokens (token_hash);
CREATE INDEX password_reset_tokens_user ON password_reset_tokens (user_id);
CREATE INDEX password_reset_tokens_expires ON password_reset_tokens (expires_at);

CREATE TABLE email_verification_tokens (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The address being verified; the token verifies only this address.
    email TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE UNIQUE INDEX email_verification_tokens_hash ON email_verification_tokens (token_hash);
CREATE INDEX email_verification_tokens_user ON email_verification_tokens (user_id);
CREATE INDEX email_verification_tokens_expires ON email_verification_tokens (expires_at);

CREATE TABLE mail_outbox (
    id BLOB PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('password_reset', 'email_verification', 'password_changed')),
    user_id BLOB REFERENCES users (id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    -- AES-256-GCM sealed JSON {subject, text, html}; NULL for a reset request not yet
    -- composed, and again once the message is sent or abandoned.
    message BLOB,
    created_at TEXT NOT NULL,
    -- Not worth sending after this (the token in it has expired).
    discard_after TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until TEXT,
    last_error TEXT,
    sent_at TEXT,
    failed_at TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX mail_outbox_recipient ON mail_outbox (recipient, kind, created_at);
CREATE INDEX mail_outbox_user ON mail_outbox (user_id);

CREATE TABLE mail_recipients (
    address TEXT PRIMARY KEY,
    last_queued_at TEXT NOT NULL
);
CREATE INDEX mail_recipients_last_queued ON mail_recipients (last_queued_at);
