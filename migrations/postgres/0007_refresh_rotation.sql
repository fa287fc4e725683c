-- A refresh-token rotation in one statement: inserting a successor (a row with
-- `rotated_from`) marks its predecessor used and slides its session's expiry, in the
-- same statement, so that a rotation is one round trip without an explicit transaction.
--
-- A token has at most one successor: the unique index makes a second rotation of one
-- token impossible even where two writers race under READ COMMITTED (the second
-- insert waits for the first and then finds the conflict).

CREATE UNIQUE INDEX refresh_tokens_successor ON refresh_tokens (rotated_from);

CREATE FUNCTION roster_refresh_token_rotated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE refresh_tokens SET used_at = NEW.created_at WHERE id = NEW.rotated_from;
    UPDATE sessions SET last_used_at = NEW.created_at, expires_at = NEW.expires_at
        WHERE id = NEW.session_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER refresh_tokens_rotated AFTER INSERT ON refresh_tokens
    FOR EACH ROW WHEN (NEW.rotated_from IS NOT NULL)
    EXECUTE FUNCTION roster_refresh_token_rotated();
