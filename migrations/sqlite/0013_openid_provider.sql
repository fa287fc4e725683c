-- The OpenID Connect provider.
--
-- 1. `oauth_clients`: the applications that send users here to sign in (and service
--    accounts using `client_credentials`). A confidential client's secret is stored only
--    as its SHA-256 (the secret is 32 random bytes, so a fast hash is enough, as for
--    refresh tokens). Lists (redirect URIs, grant types, scopes) are JSON arrays of
--    strings.
-- 2. `oauth_codes`: authorization codes, only their SHA-256; single-use, 60 s, bound to
--    the client, the redirect URI and the PKCE challenge. `issued_session_id` is the
--    session the exchange started, so a second use can revoke it.
-- 3. `oauth_grants`: the scopes a user granted a client (consent is asked once).
-- 4. `sessions` gain the client a session was issued to (NULL for Roster's own logins),
--    its granted scope, and the browser session it came from: ending the browser session
--    ends the sessions of the applications signed in through it.
-- 5. `browser_sessions`: the cookie of a signed-in browser (only its SHA-256), pointing at
--    a Roster session that is listed and revocable like any other.
-- 6. `oauth_revoked_tokens`: `client_credentials` access tokens revoked before their
--    expiry (RFC 7009), by `jti`, kept until they would have expired.
-- 7. `signing_keys` may now hold RSA keys (`RS256`) beside the Ed25519 ones.

CREATE TABLE oauth_clients (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    client_type TEXT NOT NULL CHECK (client_type IN ('public', 'confidential')),
    secret_hash BLOB,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
    grant_types TEXT NOT NULL,
    scopes TEXT NOT NULL,
    first_party BOOLEAN NOT NULL DEFAULT FALSE,
    id_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    secret_rotated_at TEXT
);

ALTER TABLE sessions ADD COLUMN client_id TEXT;
ALTER TABLE sessions ADD COLUMN scope TEXT;
ALTER TABLE sessions ADD COLUMN browser_session_id BLOB;
CREATE INDEX sessions_client ON sessions (client_id, user_id);
CREATE INDEX sessions_browser ON sessions (browser_session_id);

CREATE TABLE oauth_codes (
    code_hash BLOB PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    browser_session_id BLOB NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    auth_time TEXT NOT NULL,
    amr TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    issued_session_id BLOB
);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);

CREATE TABLE oauth_grants (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE browser_sessions (
    token_hash BLOB PRIMARY KEY,
    session_id BLOB NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX browser_sessions_session ON browser_sessions (session_id);

CREATE TABLE oauth_revoked_tokens (
    jti TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
);
