-- The change feed behind the authentication cache. Every change that can make a cached
-- session or account stale appends a row in its own transaction; each instance reads
-- the rows after the last one it applied (SQLite commits one writer at a time, so
-- sequence order is commit order), and records how far it got in `instances`.

CREATE TABLE cache_invalidations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BLOB,
    session_id BLOB
);

-- Every running instance, so that a sync knows whom to wait for. Each heartbeat reads
-- the live instances, then records them in `known_peers` (ids, comma-separated); an
-- instance trusts its cache only while every live instance lists it.
CREATE TABLE instances (
    id BLOB PRIMARY KEY,
    heartbeat_at TEXT NOT NULL,
    processed_seq INTEGER NOT NULL,
    known_peers TEXT NOT NULL
);

CREATE TRIGGER sessions_revoked_change_feed AFTER UPDATE OF revoked_at ON sessions
    WHEN NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL
BEGIN
    INSERT INTO cache_invalidations (session_id) VALUES (NEW.id);
END;

CREATE TRIGGER sessions_deleted_change_feed AFTER DELETE ON sessions
BEGIN
    INSERT INTO cache_invalidations (session_id) VALUES (OLD.id);
END;

CREATE TRIGGER users_updated_change_feed AFTER UPDATE ON users
BEGIN
    INSERT INTO cache_invalidations (user_id) VALUES (OLD.id);
END;

CREATE TRIGGER users_deleted_change_feed AFTER DELETE ON users
BEGIN
    INSERT INTO cache_invalidations (user_id) VALUES (OLD.id);
END;
