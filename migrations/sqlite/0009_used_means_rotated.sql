-- A refresh token is used when it has a successor: the row whose `rotated_from` names
-- it. The unique index on `rotated_from` (migration 0007) already makes that the one
-- fact a rotation decides, so the rotation no longer also writes `used_at` into the
-- predecessor: that was a second row write and index updates for every rotation.
-- The periodic purge therefore keeps an expired successor while its predecessor is
-- unexpired (`purge_expired` in `src/auth/sessions.rs`).
--
-- `used_at` stays for rows that older versions marked (each of them has a successor
-- too) and is still honoured where a token's state is read. The rotation's trigger now
-- only slides the session's expiry.
DROP TRIGGER refresh_tokens_rotated;

CREATE TRIGGER refresh_tokens_rotated AFTER INSERT ON refresh_tokens
    WHEN NEW.rotated_from IS NOT NULL
BEGIN
    UPDATE sessions SET last_used_at = NEW.created_at, expires_at = NEW.expires_at
        WHERE id = NEW.session_id;
END;
