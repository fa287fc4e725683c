-- Second factors, passkeys and re-authentication.
--
-- 1. A session remembers how and when its user last proved who they are
--    (`auth_time`, `amr`: RFC 8176 method names, comma-separated), so refreshed access
--    tokens carry the same `auth_time` and `amr`, and re-authentication can renew them.
--    Sessions from before this migration count as authenticated at their creation by
--    password.
-- 2. `mfa_totp`: one authenticator per account, its secret sealed with ENCRYPTION_KEY;
--    pending until confirmed; `last_step` is the last time step accepted (a code is
--    accepted once).
-- 3. `mfa_recovery_codes`: ten single-use codes per account, only their SHA-256.
-- 4. `passkeys`: WebAuthn credentials (the credential as the WebAuthn library stores it,
--    with its public key and signature counter; no secret).
-- 5. `mfa_challenges`: the `mfa_token` of a login whose password was right but which
--    still needs a second factor (only its SHA-256), with where the session will come
--    from; single-use, 5 minutes, 5 wrong codes.
-- 6. `webauthn_challenges`: the server side of a passkey ceremony in progress
--    (registration, second factor, passwordless login); single-use, 5 minutes.

ALTER TABLE sessions ADD COLUMN auth_time TIMESTAMPTZ;
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

CREATE TABLE mfa_totp (
    user_id UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    confirmed_at TIMESTAMPTZ,
    last_step BIGINT
);

CREATE TABLE mfa_recovery_codes (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX mfa_recovery_codes_user_hash ON mfa_recovery_codes (user_id, code_hash);

CREATE TABLE passkeys (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id BYTEA NOT NULL,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX passkeys_credential ON passkeys (credential_id);
CREATE INDEX passkeys_user ON passkeys (user_id);

CREATE TABLE mfa_challenges (
    id UUID PRIMARY KEY,
    token_hash BYTEA NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    throttle_key TEXT NOT NULL,
    device_name TEXT,
    ip TEXT,
    user_agent TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX mfa_challenges_hash ON mfa_challenges (token_hash);
CREATE INDEX mfa_challenges_user ON mfa_challenges (user_id);
CREATE INDEX mfa_challenges_expires ON mfa_challenges (expires_at);

CREATE TABLE webauthn_challenges (
    id UUID PRIMARY KEY,
    purpose TEXT NOT NULL CHECK (purpose IN ('register', 'second_factor', 'reauthenticate', 'login')),
    user_id UUID REFERENCES users (id) ON DELETE CASCADE,
    mfa_challenge_id UUID REFERENCES mfa_challenges (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX webauthn_challenges_expires ON webauthn_challenges (expires_at);
CREATE INDEX webauthn_challenges_user ON webauthn_challenges (user_id);
