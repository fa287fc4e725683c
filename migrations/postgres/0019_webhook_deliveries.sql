-- Webhook delivery (see `src/webhook_delivery/`).
--
-- 1. `webhooks` gains its delivery state: `fanned_out_through`, the last event
--    `sequence` turned into deliveries for it (a new endpoint starts at the current last
--    sequence: it receives events from its creation on); `failing_since`, when it began
--    failing without a success since; `disabled_reason` (`admin`, `gone` for a 410,
--    `failing` after WEBHOOK_DISABLE_AFTER_HOURS); and the secret it had before its last
--    rotation, sealed like `secret`, which signs too until `previous_secret_until`.
-- 2. `webhook_deliveries`: one row per endpoint and event it takes, made by the fan-out
--    in one transaction with the cursor's advance; claimed by one sender at a time with
--    a lease (`lease_owner`, `lease_until`). Deleted with their endpoint, and with their
--    event at EVENT_RETENTION_DAYS.
-- 3. A new kind of mail: an endpoint was disabled (to every active administrator).

ALTER TABLE webhooks ADD COLUMN fanned_out_through BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN failing_since TIMESTAMPTZ;
ALTER TABLE webhooks ADD COLUMN disabled_reason TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret BYTEA;
ALTER TABLE webhooks ADD COLUMN previous_secret_until TIMESTAMPTZ;
UPDATE webhooks SET fanned_out_through = (SELECT last FROM event_counter WHERE id = 1);
UPDATE webhooks SET disabled_reason = 'admin' WHERE NOT enabled;

CREATE TABLE webhook_deliveries (
    webhook_id UUID NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id UUID NOT NULL,
    sequence BIGINT NOT NULL,
    subject TEXT NOT NULL,
    subject_sequence BIGINT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_owner UUID,
    lease_until TIMESTAMPTZ,
    last_status_code INTEGER,
    last_error TEXT,
    delivered_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'failed');
CREATE INDEX webhook_deliveries_subject ON webhook_deliveries (webhook_id, subject, sequence) WHERE status IN ('pending', 'failed');
CREATE INDEX webhook_deliveries_listed ON webhook_deliveries (webhook_id, sequence);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN (
    'password_reset', 'email_verification', 'password_changed',
    'email_change_confirm', 'email_change_notice', 'email_changed_by_admin',
    'identity_linked', 'identity_unlinked', 'webhook_disabled'));
