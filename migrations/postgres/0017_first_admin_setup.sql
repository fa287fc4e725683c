-- The first administrator without a shell: while the database has no administrator,
-- `roster serve` prints a one-time link PUBLIC_URL/setup?token=... whose page creates
-- one. Only the token's SHA-256 is kept; a token lives an hour and is spent by its use
-- (and every other one with it, since an administrator then exists). Each instance
-- that starts without an administrator adds its own token.

CREATE TABLE setup_tokens (
    token_hash BYTEA PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
