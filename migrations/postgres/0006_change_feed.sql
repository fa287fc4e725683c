-- The change feed behind the authentication cache. Every change that can make a cached
-- session or account stale notifies channel roster_changes as part of its transaction,
-- so the notification is delivered at commit, in commit order, to every instance:
--   'i s <session id>' when a session is revoked or deleted,
--   'i u <user id>'    when an account is changed or deleted.

CREATE FUNCTION roster_notify_session_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('roster_changes', 'i s ' || OLD.id::text);
    ELSIF NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL THEN
        PERFORM pg_notify('roster_changes', 'i s ' || NEW.id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_change_feed AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION roster_notify_session_change();

CREATE FUNCTION roster_notify_user_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('roster_changes', 'i u ' || OLD.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER users_change_feed AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION roster_notify_user_change();

-- Every running instance, so that a sync knows whom to wait for. Each heartbeat reads
-- the live instances, then records them in `known_peers` (ids, comma-separated); an
-- instance trusts its cache only while every live instance lists it.
CREATE TABLE instances (
    id UUID PRIMARY KEY,
    heartbeat_at TIMESTAMPTZ NOT NULL,
    processed_seq BIGINT NOT NULL,
    known_peers TEXT NOT NULL
);
