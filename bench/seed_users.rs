//! Bulk-seeds accounts into a migrated Roster database through SQL (never the API), for
//! the benchmark harness: `roster-bench-seed DATABASE_URL COUNT PREFIX`. It runs
//! `bench/seed_users_{sqlite,postgres}.sql` on the same drivers the service uses (the
//! SQLite script needs the bundled SQLite's `unhex`, newer than many system builds).
//!
//! Then it brings the database to the state routine maintenance keeps a large one in,
//! so that the runs measure Roster rather than a backlog: on PostgreSQL `VACUUM
//! ANALYZE` (which autovacuum would otherwise start in the middle of the runs, after a
//! million inserts), on SQLite the full-text index merged into one segment (a bulk load
//! leaves it in many, which incremental merging would fold over time) and `ANALYZE`.
//! Last, everything written is flushed (a PostgreSQL `CHECKPOINT`, a SQLite WAL
//! checkpoint): otherwise the server writes back a gigabyte of seeding while the runs
//! measure, and commits queue behind it.

use std::time::Instant;

use sqlx::{AssertSqlSafe, Connection};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, count, prefix] = args.as_slice() else {
        anyhow::bail!("usage: roster-bench-seed DATABASE_URL COUNT PREFIX");
    };
    let count: u64 = count.parse()?;
    anyhow::ensure!(
        prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "PREFIX must be letters, digits or '_'"
    );
    let setup = format!(
        "CREATE TEMP TABLE bench_seed (n INTEGER NOT NULL, prefix TEXT NOT NULL); INSERT INTO bench_seed VALUES ({count}, '{prefix}');"
    );
    let started = Instant::now();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{path}")).await?;
        sqlx::raw_sql(AssertSqlSafe(setup))
            .execute(&mut connection)
            .await?;
        if count > 0 {
            sqlx::raw_sql(include_str!("seed_users_sqlite.sql"))
                .execute(&mut connection)
                .await?;
        }
        sqlx::raw_sql(
            "INSERT INTO user_search_fts (user_search_fts) VALUES ('optimize'); ANALYZE; \
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .execute(&mut connection)
        .await?;
    } else {
        let mut connection = sqlx::PgConnection::connect(url).await?;
        sqlx::raw_sql(AssertSqlSafe(setup))
            .execute(&mut connection)
            .await?;
        if count > 0 {
            sqlx::raw_sql(include_str!("seed_users_postgres.sql"))
                .execute(&mut connection)
                .await?;
        }
        // Its own statement: VACUUM cannot run inside the script's implicit transaction.
        sqlx::raw_sql("VACUUM (ANALYZE) users, user_profiles, user_search")
            .execute(&mut connection)
            .await?;
        sqlx::raw_sql("CHECKPOINT").execute(&mut connection).await?;
    }
    println!(
        "{{\"seeded\": {count}, \"seconds\": {:.1}}}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
