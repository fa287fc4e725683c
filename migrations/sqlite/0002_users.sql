-- Extended profiles, preferences, the payment vault, and the search index over
-- username, full name, occupation, location and current title.
--
-- Search: `user_search` holds one row per account, kept current by triggers, whose
-- `seq` is the stable keyset-pagination key of user listings; `user_search_fts` is an
-- FTS5 trigram index over it (external content), so a case-insensitive substring
-- lookup reads the index instead of every row.

CREATE TABLE user_profiles (
    user_id BLOB PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    date_of_birth TEXT,
    occupation TEXT,
    location TEXT,
    phone TEXT,
    current_title TEXT,
    bio TEXT,
    avatar_url TEXT,
    shipping_address TEXT,
    updated_at TEXT NOT NULL
);

CREATE TABLE user_preferences (
    user_id BLOB PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    document TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The payment token sealed with AES-256-GCM (nonce || ciphertext || tag), bound to the
-- user id; nothing of the token is stored in clear.
CREATE TABLE payment_info (
    user_id BLOB PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_ciphertext BLOB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE user_search (
    seq INTEGER PRIMARY KEY,
    user_id BLOB NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    doc TEXT NOT NULL
);

CREATE VIRTUAL TABLE user_search_fts USING fts5 (
    doc,
    content = 'user_search',
    content_rowid = 'seq',
    tokenize = 'trigram'
);

CREATE TRIGGER user_search_fts_insert AFTER INSERT ON user_search BEGIN
    INSERT INTO user_search_fts (rowid, doc) VALUES (new.seq, new.doc);
END;
CREATE TRIGGER user_search_fts_delete AFTER DELETE ON user_search BEGIN
    INSERT INTO user_search_fts (user_search_fts, rowid, doc) VALUES ('delete', old.seq, old.doc);
END;
CREATE TRIGGER user_search_fts_update AFTER UPDATE OF doc ON user_search BEGIN
    INSERT INTO user_search_fts (user_search_fts, rowid, doc) VALUES ('delete', old.seq, old.doc);
    INSERT INTO user_search_fts (rowid, doc) VALUES (new.seq, new.doc);
END;

-- The searchable text of an account: its five fields, one per line.
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_search (user_id, doc)
    SELECT u.id, u.username || char(10) || coalesce(u.full_name, '') || char(10) || coalesce(p.occupation, '')
        || char(10) || coalesce(p.location, '') || char(10) || coalesce(p.current_title, '')
    FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id WHERE u.id = new.id;
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF username, full_name ON users BEGIN
    UPDATE user_search SET doc = coalesce((
        SELECT u.username || char(10) || coalesce(u.full_name, '') || char(10) || coalesce(p.occupation, '')
            || char(10) || coalesce(p.location, '') || char(10) || coalesce(p.current_title, '')
        FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id WHERE u.id = new.id), doc)
    WHERE user_id = new.id;
END;
CREATE TRIGGER user_profiles_search_insert AFTER INSERT ON user_profiles BEGIN
    UPDATE user_search SET doc = coalesce((
        SELECT u.username || char(10) || coalesce(u.full_name, '') || char(10) || coalesce(p.occupation, '')
            || char(10) || coalesce(p.location, '') || char(10) || coalesce(p.current_title, '')
        FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id WHERE u.id = new.user_id), doc)
    WHERE user_id = new.user_id;
END;
CREATE TRIGGER user_profiles_search_update AFTER UPDATE OF occupation, location, current_title ON user_profiles BEGIN
    UPDATE user_search SET doc = coalesce((
        SELECT u.username || char(10) || coalesce(u.full_name, '') || char(10) || coalesce(p.occupation, '')
            || char(10) || coalesce(p.location, '') || char(10) || coalesce(p.current_title, '')
        FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id WHERE u.id = new.user_id), doc)
    WHERE user_id = new.user_id;
END;
CREATE TRIGGER user_profiles_search_delete AFTER DELETE ON user_profiles BEGIN
    UPDATE user_search SET doc = coalesce((
        SELECT u.username || char(10) || coalesce(u.full_name, '') || char(10) || coalesce(p.occupation, '')
            || char(10) || coalesce(p.location, '') || char(10) || coalesce(p.current_title, '')
        FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id WHERE u.id = old.user_id), doc)
    WHERE user_id = old.user_id;
END;

-- Accounts that exist already, in creation order.
INSERT INTO user_search (user_id, doc)
SELECT id, username || char(10) || coalesce(full_name, '') || char(10) || char(10) || char(10)
FROM users ORDER BY id;

CREATE INDEX users_role_active ON users (role, is_active);
