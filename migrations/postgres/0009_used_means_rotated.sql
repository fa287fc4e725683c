-- A refresh token is used when it has a successor: the row whose `rotated_from` names
-- it. The unique index on `rotated_from` (migration 0007) already makes that the one
-- fact a rotation decides, so the rotation no longer also writes `used_at` into the
-- predecessor. That write was a second heap row and a second entry in each of the
-- table's indexes for every rotation, and a dead row for vacuum to clear.
-- The periodic purge therefore keeps an expired successor while its predecessor is
-- unexpired (`purge_expired` in `src/auth/sessions.rs`).
--
-- Nothing changes in this schema: `used_at` stays for rows that older versions marked
-- (each of them has a successor too) and is still honoured where a token's state is
-- read; the rotation statement in `src/auth/rotation.rs` simply stops writing it.
COMMENT ON COLUMN refresh_tokens.used_at IS
    'Written by versions before migration 0009 only; a token is used when a row''s rotated_from names it.';
