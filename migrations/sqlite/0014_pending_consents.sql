-- Consent that cannot be forged: an authorization request waiting for the user's
-- decision is kept here, not in the consent form. The form carries only an opaque id
-- (256 random bits, stored as its SHA-256), the CSRF token and the decision; the id is
-- single-use, lives 10 minutes, and works only for the browser session it was made for
-- (`browser_session_id`, the Roster session behind the browser's cookie). `params` is
-- the request's parameters as a JSON array of [name, value] pairs.

CREATE TABLE oauth_pending_consents (
    id_hash BLOB PRIMARY KEY,
    browser_session_id BLOB NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    params TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX oauth_pending_consents_expires ON oauth_pending_consents (expires_at);
