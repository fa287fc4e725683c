-- Bulk-seeds users straight into a migrated Roster PostgreSQL database, for benchmarks.
--
-- The caller says how many, and with which username prefix, in a table it creates
-- first (in the same session):
--
--   CREATE TEMP TABLE bench_seed (n INTEGER NOT NULL, prefix TEXT NOT NULL);
--   INSERT INTO bench_seed VALUES (1000000, 'bench');
--
-- e.g. psql -c "CREATE TEMP TABLE ...; INSERT ..." -f bench/seed_users_postgres.sql.
-- Every account gets a UUIDv7 id (time-ordered, creation times spread over the past
-- N seconds), a unique username `<prefix>0000001`..., an email, a full name, and three
-- in four an extended profile with occupation, location and current title drawn from
-- small lists, so searches find both common and rare text. For speed the search-index
-- triggers are switched off inside the seeding transaction and the index rows
-- (user_search) are written in one statement with the same text the triggers compute.
-- Seeded accounts have no password: they are data to search, list and page through.

BEGIN;

CREATE TEMP TABLE bench_rows AS
SELECT
    i,
    (SELECT prefix FROM bench_seed) || lpad(i::text, 7, '0') AS username,
    (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint - ((SELECT n FROM bench_seed) - i) * 1000), 12, '0')
        || '7' || lpad(to_hex((random() * 4095)::int), 3, '0')
        || substr('89ab', 1 + (random() * 3)::int, 1)
        || lpad(to_hex((random() * 2147483647)::bigint), 8, '0')
        || lpad(to_hex((random() * 268435455)::bigint), 7, '0'))::uuid AS id,
    now() - make_interval(secs => (SELECT n FROM bench_seed) - i) AS at
FROM generate_series(1, (SELECT n FROM bench_seed)) AS i;

ALTER TABLE users DISABLE TRIGGER users_search;
ALTER TABLE user_profiles DISABLE TRIGGER user_profiles_search;

INSERT INTO users (id, username, username_key, email, full_name, role, tier, is_active,
                   email_verified, login_count, created_at, updated_at)
SELECT r.id, r.username, lower(r.username), lower(r.username) || '@bench.example',
       (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances','Ken','Margaret','Dennis',
              'Radia','Linus','Hedy','Tim','Katherine','John','Sophie','Guido','Lovelace','Niklaus'])[1 + r.i % 20]
       || ' ' ||
       (ARRAY['Hopper','Turing','Dijkstra','Liskov','Knuth','Allen','Thompson','Hamilton','Ritchie',
              'Perlman','Torvalds','Lamarr','Berners-Lee','Johnson','McCarthy','Wilson','van Rossum',
              'Wirth','Kernighan','Stroustrup','Goldberg','Backus','Sammet','Floyd','Hoare','Lampson',
              'Kay','Engelbart','Cerf','Kahn','Shannon'])[1 + (r.i / 20) % 31],
       'user', CASE WHEN r.i % 10 = 0 THEN 'premium' ELSE 'basic' END, r.i % 50 <> 0,
       r.i % 3 = 0, 0, r.at, r.at
FROM bench_rows r
ORDER BY r.i;

INSERT INTO user_profiles (user_id, occupation, location, current_title, updated_at)
SELECT r.id,
       (ARRAY['Software Engineer','Teacher','Nurse','Designer','Student','Accountant','Chef',
              'Architect','Data Scientist','Librarian','Pharmacist','Lawyer'])[1 + r.i % 12],
       (ARRAY['New York','Brooklyn','Queens','Jersey City','Boston','Philadelphia','Chicago',
              'San Francisco','Seattle','Austin','Toronto','London','Berlin','Paris','Zürich'])[1 + r.i % 15],
       (ARRAY['Senior Engineer','Head of Mathematics','Charge Nurse','Product Designer',
              'Graduate Researcher','Controller','Sous Chef','Project Architect',
              'Staff Data Scientist','Archivist','Clinical Pharmacist','Associate'])[1 + r.i % 12],
       r.at
FROM bench_rows r
WHERE r.i % 4 <> 3
ORDER BY r.i;

INSERT INTO user_search (user_id, doc)
SELECT r.id, user_search_doc(r.id) FROM bench_rows r ORDER BY r.i;

ALTER TABLE users ENABLE TRIGGER users_search;
ALTER TABLE user_profiles ENABLE TRIGGER user_profiles_search;

DROP TABLE bench_rows;
COMMIT;
