-- Bulk-seeds users straight into a migrated Roster SQLite database, for benchmarks.
--
-- The caller says how many, and with which username prefix, in a table it creates
-- first (in the same connection):
--
--   CREATE TEMP TABLE bench_seed (n INTEGER NOT NULL, prefix TEXT NOT NULL);
--   INSERT INTO bench_seed VALUES (1000000, 'bench');
--
-- then runs this file (sqlite3 >= 3.41 for unhex(), or through the application's own
-- SQLite via sqlx). Every account gets a UUIDv7 id (time-ordered, creation times
-- spread over the past N seconds), a unique username `<prefix>0000001`..., an email,
-- a full name, and three in four an extended profile with occupation, location and
-- current title drawn from small lists, so searches find both common and rare text.
-- Triggers keep the search index (user_search, user_search_fts) current as rows land.
-- Seeded accounts have no password: they are data to search, list and page through.

-- Profiles are inserted before their accounts (foreign keys checked at COMMIT), so each
-- account's search text is indexed once, complete.
BEGIN IMMEDIATE;
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE bench_first (k INTEGER PRIMARY KEY, v TEXT);
INSERT INTO bench_first (k, v) VALUES
    (0, 'Ada'), (1, 'Grace'), (2, 'Alan'), (3, 'Edsger'), (4, 'Barbara'), (5, 'Donald'),
    (6, 'Frances'), (7, 'Ken'), (8, 'Margaret'), (9, 'Dennis'), (10, 'Radia'), (11, 'Linus'),
    (12, 'Hedy'), (13, 'Tim'), (14, 'Katherine'), (15, 'John'), (16, 'Sophie'), (17, 'Guido'),
    (18, 'Lovelace'), (19, 'Niklaus');
CREATE TEMP TABLE bench_last (k INTEGER PRIMARY KEY, v TEXT);
INSERT INTO bench_last (k, v) VALUES
    (0, 'Hopper'), (1, 'Turing'), (2, 'Dijkstra'), (3, 'Liskov'), (4, 'Knuth'), (5, 'Allen'),
    (6, 'Thompson'), (7, 'Hamilton'), (8, 'Ritchie'), (9, 'Perlman'), (10, 'Torvalds'),
    (11, 'Lamarr'), (12, 'Berners-Lee'), (13, 'Johnson'), (14, 'McCarthy'), (15, 'Wilson'),
    (16, 'van Rossum'), (17, 'Wirth'), (18, 'Kernighan'), (19, 'Stroustrup'), (20, 'Goldberg'),
    (21, 'Backus'), (22, 'Sammet'), (23, 'Floyd'), (24, 'Hoare'), (25, 'Lampson'), (26, 'Kay'),
    (27, 'Engelbart'), (28, 'Cerf'), (29, 'Kahn'), (30, 'Shannon');
CREATE TEMP TABLE bench_job (k INTEGER PRIMARY KEY, occupation TEXT, title TEXT);
INSERT INTO bench_job (k, occupation, title) VALUES
    (0, 'Software Engineer', 'Senior Engineer'), (1, 'Teacher', 'Head of Mathematics'),
    (2, 'Nurse', 'Charge Nurse'), (3, 'Designer', 'Product Designer'),
    (4, 'Student', 'Graduate Researcher'), (5, 'Accountant', 'Controller'),
    (6, 'Chef', 'Sous Chef'), (7, 'Architect', 'Project Architect'),
    (8, 'Data Scientist', 'Staff Data Scientist'), (9, 'Librarian', 'Archivist'),
    (10, 'Pharmacist', 'Clinical Pharmacist'), (11, 'Lawyer', 'Associate');
CREATE TEMP TABLE bench_city (k INTEGER PRIMARY KEY, v TEXT);
INSERT INTO bench_city (k, v) VALUES
    (0, 'New York'), (1, 'Brooklyn'), (2, 'Queens'), (3, 'Jersey City'), (4, 'Boston'),
    (5, 'Philadelphia'), (6, 'Chicago'), (7, 'San Francisco'), (8, 'Seattle'), (9, 'Austin'),
    (10, 'Toronto'), (11, 'London'), (12, 'Berlin'), (13, 'Paris'), (14, 'Zürich');

CREATE TEMP TABLE bench_rows AS
WITH RECURSIVE counter (i) AS (
    SELECT 1 UNION ALL SELECT i + 1 FROM counter WHERE i < (SELECT n FROM bench_seed)
)
SELECT
    i,
    (SELECT prefix FROM bench_seed) || printf('%07d', i) AS username,
    unhex(
        printf('%012x', CAST(unixepoch('subsec') * 1000 AS INTEGER) - ((SELECT n FROM bench_seed) - i) * 1000)
        || '7' || printf('%03x', abs(random()) % 4096)
        || substr('89ab', 1 + abs(random()) % 4, 1)
        || printf('%015x', abs(random()) % 1152921504606846976)
    ) AS id,
    strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-' || ((SELECT n FROM bench_seed) - i) || ' seconds') AS at
FROM counter;

INSERT INTO user_profiles (user_id, occupation, location, current_title, updated_at)
SELECT r.id, j.occupation, c.v, j.title, r.at
FROM bench_rows r
JOIN bench_job j ON j.k = r.i % 12
JOIN bench_city c ON c.k = r.i % 15
WHERE r.i % 4 <> 3;

INSERT INTO users (id, username, username_key, email, full_name, role, tier, is_active,
                   email_verified, login_count, created_at, updated_at)
SELECT r.id, r.username, lower(r.username), lower(r.username) || '@bench.example',
       f.v || ' ' || l.v,
       'user', CASE WHEN r.i % 10 = 0 THEN 'premium' ELSE 'basic' END, r.i % 50 <> 0,
       r.i % 3 = 0, 0, r.at, r.at
FROM bench_rows r
JOIN bench_first f ON f.k = r.i % 20
JOIN bench_last l ON l.k = (r.i / 20) % 31
ORDER BY r.i;

DROP TABLE bench_rows;
DROP TABLE bench_first;
DROP TABLE bench_last;
DROP TABLE bench_job;
DROP TABLE bench_city;
COMMIT;
