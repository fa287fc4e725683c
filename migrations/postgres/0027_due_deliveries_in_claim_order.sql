-- The claim takes due deliveries in (next_attempt_at, sequence) order with a limit: an
-- index in that order lets it stop after the limit instead of sorting every due row
-- (with 20,000 waiting, one claim took 197 ms on PostgreSQL and 40 ms on SQLite; with
-- this index 0.27 ms and 0.04 ms).
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, sequence) WHERE status IN ('pending', 'failed');
