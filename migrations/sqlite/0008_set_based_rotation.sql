-- The PostgreSQL migration of this number replaces the rotation's row trigger with a
-- set-based statement. SQLite keeps migration 0007's trigger: it has no data-modifying
-- CTEs, and its trigger programs run inside the one statement without further planning.
--
-- Both engines drop the index on the sessions' expiry. Every rotation moves its
-- session's expiry, so every rotation also rewrote the session's entry in this index,
-- and no query needs it: the periodic purge (`expires_at <= now OR revoked_at <= a day
-- ago`) and the count of live sessions read the whole table anyway, and a user's
-- sessions are found through `sessions_user`.
DROP INDEX sessions_expires;
