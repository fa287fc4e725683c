-- A batch of refresh-token rotations as one set-based statement, without row triggers.
--
-- Migration 0007's row trigger ran two UPDATEs per rotated token, each a statement of
-- its own inside PostgreSQL (plan, executor start, end), and every session UPDATE ran
-- the change-feed trigger's PL/pgSQL too. The rotation statement now marks the
-- predecessors used and slides the sessions itself, in data-modifying CTEs, once per
-- batch (`src/auth/rotation.rs`). The unique index on `rotated_from` stays: it is what
-- makes a second rotation of one token a conflict.
DROP TRIGGER refresh_tokens_rotated ON refresh_tokens;
DROP FUNCTION roster_refresh_token_rotated();

-- Every rotation moves its session's expiry. With `expires_at` indexed, each of those
-- updates wrote a new entry into all three indexes of `sessions` (no HOT update) and
-- left dead entries behind for lookups by id to step over. No query needs the index:
-- the periodic purge (`expires_at <= now OR revoked_at <= a day ago`) and the count of
-- live sessions read the whole table anyway, and a user's sessions are found through
-- `sessions_user`.
DROP INDEX sessions_expires;

-- The change feed only reports revocations among updates: say so in the trigger's
-- condition, so that other updates (a rotation sliding the expiry) call no PL/pgSQL.
DROP TRIGGER sessions_change_feed ON sessions;
CREATE TRIGGER sessions_revoked_change_feed AFTER UPDATE ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION roster_notify_session_change();
CREATE TRIGGER sessions_deleted_change_feed AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION roster_notify_session_change();
