-- The event log (see `src/events/`): every change that writes an audit entry also
-- writes its events, in the same transaction.
--
-- 1. `event_counter`: one row, the last `sequence` handed out. A writer increments it
--    inside its transaction; the row lock it takes is held until that transaction ends,
--    so sequences are handed out in commit order and a reader polling `after=N` never
--    sees N+1 before N (a rolled-back transaction gives its number back).
-- 2. `event_subjects`: the last `subjectsequence` per subject (an account id, or a
--    client id for client events). Kept when old events are purged, so that a
--    subject's count never starts again.
-- 3. `events`: what the CloudEvents envelope is rebuilt from; `source` is the
--    configured PUBLIC_URL and `specversion`/`datacontenttype` are constants.

CREATE TABLE event_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last BIGINT NOT NULL
);
INSERT INTO event_counter (id, last) VALUES (1, 0);

CREATE TABLE event_subjects (
    subject TEXT PRIMARY KEY,
    last BIGINT NOT NULL
);

CREATE TABLE events (
    sequence BIGINT PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    type TEXT NOT NULL,
    subject TEXT NOT NULL,
    subject_sequence BIGINT NOT NULL,
    time TIMESTAMPTZ NOT NULL,
    data JSONB NOT NULL
);
CREATE INDEX events_subject ON events (subject, sequence);
CREATE INDEX events_time ON events (time);
