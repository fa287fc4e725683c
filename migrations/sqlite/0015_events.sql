-- The event log (see `src/events/`): every change that writes an audit entry also
-- writes its events, in the same transaction.
--
-- 1. `events`: what the CloudEvents envelope is rebuilt from; `source` is the
--    configured PUBLIC_URL and `specversion`/`datacontenttype` are constants. A change's
--    transaction inserts its events unnumbered (`sequence` NULL), in `position` order;
--    it takes no lock that other writers wait for.
-- 2. `event_counter`: one row, the last `sequence` handed out. The sequencer
--    (`events::log::sequence_pending`, run in the background and before every read)
--    locks it, numbers the committed unnumbered events in `position` order, and commits.
--    Numbers therefore follow the order in which events became visible: a reader
--    polling `after=N` never misses an event that committed late (it gets a later
--    number), and no change's transaction holds a lock that could deadlock with another.
-- 3. `event_subjects`: the last `subjectsequence` per subject (an account id, or a
--    client id for client events), also advanced by the sequencer only. Kept when old
--    events are purged, so that a subject's count never starts again.

CREATE TABLE event_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last INTEGER NOT NULL
);
INSERT INTO event_counter (id, last) VALUES (1, 0);

CREATE TABLE event_subjects (
    subject TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);

CREATE TABLE events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    sequence INTEGER UNIQUE,
    id BLOB NOT NULL UNIQUE,
    type TEXT NOT NULL,
    subject TEXT NOT NULL,
    subject_sequence INTEGER,
    time TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_unsequenced ON events (position) WHERE sequence IS NULL;
CREATE INDEX events_subject ON events (subject, sequence);
CREATE INDEX events_time ON events (time);
