-- Operator safety.
--
-- 1. `encryption_key_check`: one row, a check value for the ENCRYPTION_KEY that sealed
--    this database's secrets (AES-256-GCM sealing of a fixed label under that key, never
--    the key itself). Every command that seals or opens secrets, and `serve`, verify the
--    configured key against it before writing anything; `roster encryption-key rotate`
--    replaces it in the transaction that re-seals the secrets.
-- 2. `serving_instances`: every serving instance's heartbeat, as operators read it
--    (`roster instances`): its issuer and the key it signs with, so instances that
--    disagree show. Timed by the application's clock; separate from `instances`, which
--    the change feed times by the database server's clock for its cache lease.

CREATE TABLE encryption_key_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    check_value BLOB NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE serving_instances (
    id BLOB PRIMARY KEY,
    issuer TEXT NOT NULL,
    signing_kid TEXT NOT NULL,
    address TEXT NOT NULL,
    started_at TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
