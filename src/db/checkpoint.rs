//! SQLite checkpoints off the writer's path.
//!
//! In WAL mode every commit appends pages to the write-ahead log, and a checkpoint copies
//! them back into the database file and syncs both files. By default the connection whose
//! commit takes the log past 1,000 pages does that itself, before its commit returns, and
//! Roster has one writing connection: each checkpoint (two `fsync`s, 6.5 ms on average and
//! up to 16 ms on this machine's disk) stalled every write queued behind it. Under a flood
//! of refreshes that was about 50 `fsync`s a second, a third of the writer's time: 4,500
//! rotations/s with p99 30 ms, against 8,000/s and 8 ms with no checkpoint at all.
//!
//! So a connection of its own checkpoints every [`INTERVAL`], `PASSIVE`ly: it copies what
//! no reader still needs without taking the write lock, so the writer goes on appending
//! meanwhile. The writer keeps SQLite's automatic checkpoint only as a backstop, at
//! [`WRITER_BACKSTOP_PAGES`], for a log that this task cannot keep short (a checkpoint
//! that fails, a reader holding an old snapshot). Measured, alternating with the old
//! build: 4,041-4,173 -> 6,000-6,213 rotations/s. The p99 stayed near 35 ms: the
//! checkpointer's `fsync`s still slow the writer's appends somehow, which is not
//! understood yet.

use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection, SqlitePool};

/// How often the checkpointing connection copies the log back.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// `wal_autocheckpoint` for every connection: the log length (in pages of 4 KiB) at which
/// a committing connection checkpoints by itself, ten times SQLite's default.
pub const WRITER_BACKSTOP_PAGES: &str = "10000";

/// What one checkpoint did: pages in the log, and pages of it now in the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Checkpoint {
    log_pages: i64,
    copied_pages: i64,
}

/// One `PASSIVE` checkpoint on `conn`.
async fn checkpoint(conn: &mut SqliteConnection) -> Result<Checkpoint, sqlx::Error> {
    let (_busy, log_pages, copied_pages): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(conn)
            .await?;
    Ok(Checkpoint {
        log_pages,
        copied_pages,
    })
}

/// Checkpoints `pool`'s database every [`INTERVAL`] on a connection of its own, until the
/// pool closes.
pub fn spawn(pool: &SqlitePool) {
    let pool = pool.clone();
    let options: SqliteConnectOptions = (*pool.connect_options()).clone();
    tokio::spawn(async move {
        let mut conn = match SqliteConnection::connect_with(&options).await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "no checkpointing connection; the writer checkpoints by itself");
                return;
            }
        };
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        while !pool.is_closed() {
            ticks.tick().await;
            match checkpoint(&mut conn).await {
                Ok(_) => failing = false,
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "checkpoint failed; retrying every interval");
                }
                Err(_) => {}
            }
        }
        let _ = conn.close().await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};

    fn options(path: &std::path::Path) -> SqliteConnectOptions {
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .pragma("wal_autocheckpoint", WRITER_BACKSTOP_PAGES)
    }

    #[tokio::test]
    async fn another_connection_copies_the_log_while_the_writer_holds_its_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let options = options(&dir.path().join("checkpoint.db"));
        let mut writer = SqliteConnection::connect_with(&options).await.unwrap();
        let mut checkpointer = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::query("CREATE TABLE t (v BLOB)")
            .execute(&mut writer)
            .await
            .unwrap();
        for _ in 0..1_100 {
            sqlx::query("INSERT INTO t VALUES (randomblob(3000))")
                .execute(&mut writer)
                .await
                .unwrap();
        }

        // Past 1,000 pages the committing connection no longer checkpoints (it would have
        // copied the log back and started it over at the next commit).
        let mut before = checkpoint(&mut checkpointer).await.unwrap();
        assert!(before.log_pages > 1_000, "{before:?}");
        assert_eq!(before.copied_pages, before.log_pages);

        // The writer in the middle of a write transaction does not block a checkpoint.
        let mut tx = writer.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (randomblob(3000))")
            .execute(&mut *tx)
            .await
            .unwrap();
        before = checkpoint(&mut checkpointer).await.unwrap();
        assert_eq!(before.copied_pages, before.log_pages);
        tx.commit().await.unwrap();

        // Everything had been copied, so the commit started the log over: it stays short.
        let after = checkpoint(&mut checkpointer).await.unwrap();
        assert!(after.log_pages < 10, "{after:?}");
        assert_eq!(after.copied_pages, after.log_pages);
    }
}
