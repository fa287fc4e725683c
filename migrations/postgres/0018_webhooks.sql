-- Webhooks: endpoints that receive events (see `src/webhooks/`). `events` is a JSON
-- array of types and `prefix.*` patterns; `secret` is the signing secret's 32 bytes,
-- sealed with ENCRYPTION_KEY (context `webhook:` and the id), shown once when made.

CREATE TABLE webhooks (
    id UUID PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT,
    ordered BOOLEAN NOT NULL,
    enabled BOOLEAN NOT NULL,
    secret BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhooks_created ON webhooks (created_at, id);
