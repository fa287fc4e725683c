-- Extended profiles, preferences, the payment vault, and the search index over
-- username, full name, occupation, location and current title.
--
-- Search: `user_search` holds one row per account, kept current by triggers, whose
-- `seq` is the stable keyset-pagination key of user listings; its text is stored
-- lower-cased, and a pg_trgm GIN index on it answers substring lookups (LIKE with a
-- lower-cased pattern) from the index.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE user_profiles (
    user_id UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    date_of_birth DATE,
    occupation TEXT,
    location TEXT,
    phone TEXT,
    current_title TEXT,
    bio TEXT,
    avatar_url TEXT,
    shipping_address JSONB,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE user_preferences (
    user_id UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    document JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- The payment token sealed with AES-256-GCM (nonce || ciphertext || tag), bound to the
-- user id; nothing of the token is stored in clear.
CREATE TABLE payment_info (
    user_id UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_ciphertext BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE user_search (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id UUID NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    doc TEXT NOT NULL
);
CREATE INDEX user_search_doc_trgm ON user_search USING gin (doc gin_trgm_ops);

-- The searchable text of an account: its five fields, one per line, lower-cased.
CREATE FUNCTION user_search_doc(uid UUID) RETURNS TEXT LANGUAGE sql STABLE AS $$
    SELECT lower(u.username || E'\n' || coalesce(u.full_name, '') || E'\n' || coalesce(p.occupation, '')
        || E'\n' || coalesce(p.location, '') || E'\n' || coalesce(p.current_title, ''))
    FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id WHERE u.id = uid
$$;

CREATE FUNCTION user_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    uid UUID;
BEGIN
    IF TG_TABLE_NAME = 'users' THEN
        uid := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        uid := OLD.user_id;
    ELSE
        uid := NEW.user_id;
    END IF;
    INSERT INTO user_search (user_id, doc)
    SELECT uid, user_search_doc(uid) WHERE EXISTS (SELECT 1 FROM users WHERE id = uid)
    ON CONFLICT (user_id) DO UPDATE SET doc = EXCLUDED.doc
        WHERE user_search.doc IS DISTINCT FROM EXCLUDED.doc;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_search AFTER INSERT OR UPDATE OF username, full_name ON users
    FOR EACH ROW EXECUTE FUNCTION user_search_sync();
CREATE TRIGGER user_profiles_search AFTER INSERT OR DELETE OR UPDATE OF occupation, location, current_title ON user_profiles
    FOR EACH ROW EXECUTE FUNCTION user_search_sync();

-- Accounts that exist already, in creation order.
INSERT INTO user_search (user_id, doc)
SELECT id, user_search_doc(id) FROM users ORDER BY id;

CREATE INDEX users_role_active ON users (role, is_active);
