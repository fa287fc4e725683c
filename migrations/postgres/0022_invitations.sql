-- Invitations: an administrator creates an account without a password
-- (POST /api/v1/admin/users) and its address is mailed a link to set one. The link's
-- token is stored as its SHA-256 only, works once, for 7 days, and only while the
-- account still has the address it was mailed to (like a reset token).
-- A new kind of mail carries it.

CREATE TABLE invitation_tokens (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    token_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX invitation_tokens_hash ON invitation_tokens (token_hash);
CREATE INDEX invitation_tokens_user ON invitation_tokens (user_id);
CREATE INDEX invitation_tokens_expires ON invitation_tokens (expires_at);

ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN (
    'password_reset', 'email_verification', 'password_changed',
    'email_change_confirm', 'email_change_notice', 'email_changed_by_admin',
    'identity_linked', 'identity_unlinked', 'webhook_disabled', 'invitation'));
