-- A refresh-token rotation in one statement: inserting a successor (a row with
-- `rotated_from`) marks its predecessor used and slides its session's expiry, in the
-- same statement, so that a rotation needs no explicit transaction and, on SQLite,
-- holds the write lock for one statement instead of five round trips.
--
-- A token has at most one successor: the unique index makes a second rotation of one
-- token impossible even where two writers race (PostgreSQL under READ COMMITTED).

CREATE UNIQUE INDEX refresh_tokens_successor ON refresh_tokens (rotated_from);

CREATE TRIGGER refresh_tokens_rotated AFTER INSERT ON refresh_tokens
    WHEN NEW.rotated_from IS NOT NULL
BEGIN
    UPDATE refresh_tokens SET used_at = NEW.created_at WHERE id = NEW.rotated_from;
    UPDATE sessions SET last_used_at = NEW.created_at, expires_at = NEW.expires_at
        WHERE id = NEW.session_id;
END;
