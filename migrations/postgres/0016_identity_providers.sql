-- Sign in with other identity providers (federation).
--
-- 1. `identity_providers`: the OpenID providers users may sign in with. The client
--    secret is sealed with the database's encryption key (`client_secret_sealed`,
--    AES-256-GCM bound to the provider's id) and never shown again. The endpoints are
--    read from the issuer's discovery document (kind `oidc`) or filled in by a preset
--    when the provider is added. `scopes` is a JSON array of strings.
-- 2. `user_identities`: an account elsewhere, keyed by (issuer, subject), never by
--    email; `email` is the address the provider last told us, for display only.
--    A provider that is removed leaves its identities (provider_id becomes NULL): one
--    added again with the same issuer signs them in again.
-- 3. `federation_logins`: a sign-in sent to a provider and not yet back. Only the
--    SHA-256 of the `state` and of the browser's cookie are stored; the nonce and the
--    PKCE verifier are sealed. Single use: the callback deletes the row it uses.
-- 4. `identity_link_offers`: an identity whose email matched an existing account,
--    waiting for the browser to sign in to that account with its own credentials.
--    Only the SHA-256 of the browser's cookie is stored.
-- 5. Two new kinds of mail: an identity was linked to, or removed from, the account.
-- 6. A second-factor challenge remembers how its first step was made (`pwd`, or `fed`
--    when an identity provider vouched for the account), for the session's `amr`.

CREATE TABLE identity_providers (
    id UUID PRIMARY KEY,
    slug TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('oidc', 'google', 'apple', 'microsoft', 'github', 'gitlab')),
    display_name TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret_sealed BYTEA NOT NULL,
    issuer TEXT NOT NULL,
    authorization_endpoint TEXT NOT NULL,
    token_endpoint TEXT NOT NULL,
    jwks_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    trust_email TEXT NOT NULL CHECK (trust_email IN ('never', 'verified', 'authoritative')),
    allow_signup BOOLEAN NOT NULL DEFAULT TRUE,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX identity_providers_slug ON identity_providers (slug);

CREATE TABLE user_identities (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_id UUID REFERENCES identity_providers (id) ON DELETE SET NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT,
    linked_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX user_identities_subject ON user_identities (issuer, subject);
CREATE INDEX user_identities_user ON user_identities (user_id);
CREATE INDEX user_identities_provider ON user_identities (provider_id);

CREATE TABLE federation_logins (
    id UUID PRIMARY KEY,
    provider_id UUID NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
    state_hash BYTEA NOT NULL,
    browser_hash BYTEA NOT NULL,
    sealed_secrets BYTEA NOT NULL,
    return_to TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX federation_logins_state ON federation_logins (state_hash);
CREATE INDEX federation_logins_expires ON federation_logins (expires_at);

CREATE TABLE identity_link_offers (
    id UUID PRIMARY KEY,
    token_hash BYTEA NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_id UUID NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT,
    return_to TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX identity_link_offers_token ON identity_link_offers (token_hash);
CREATE INDEX identity_link_offers_expires ON identity_link_offers (expires_at);

ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN (
    'password_reset', 'email_verification', 'password_changed',
    'email_change_confirm', 'email_change_notice', 'email_changed_by_admin',
    'identity_linked', 'identity_unlinked'));

ALTER TABLE mfa_challenges ADD COLUMN first_factor TEXT NOT NULL DEFAULT 'pwd';
