-- GitHub sign-in (kind `github`, see `src/federation/github.rs`): OAuth 2 without ID tokens.
-- Who signed in is asked of its API's user endpoint, kept here; such a provider has no
-- keys, and its `jwks_uri` is stored empty.

ALTER TABLE identity_providers ADD COLUMN userinfo_endpoint TEXT;

-- Linking from `/account/security`: a signed-in user leaves for a provider to link an
-- identity to their account; the pending sign-in remembers whose account it is for.
ALTER TABLE federation_logins ADD COLUMN link_user_id BLOB REFERENCES users (id) ON DELETE CASCADE;
