-- Where each channel that publishes the event log elsewhere has got to (see
-- `src/nats/`): one row per channel (`nats`), made by the channel when it first runs.
--
-- `published_through`: every event with a `sequence` up to this one has been
-- acknowledged by the channel's receiver (JetStream); it advances only after the
-- acknowledgements, so a crash in between publishes those events again (JetStream drops
-- the copies by their `Nats-Msg-Id`).
-- `lease_owner`, `lease_until`: the one publisher (of all instances) that may publish
-- until then; it takes the lease when events wait and renews it before every batch;
-- another takes it over once it lapses.

CREATE TABLE event_channels (
    name TEXT PRIMARY KEY,
    published_through BIGINT NOT NULL DEFAULT 0,
    lease_owner UUID,
    lease_until TIMESTAMPTZ
);
