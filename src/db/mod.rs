//! The database: SQLite or PostgreSQL behind one `Db`, chosen from `DATABASE_URL`.
//!
//! Every query is written once, in SQL both engines accept (`$1` placeholders,
//! `ON CONFLICT`, `RETURNING`, timestamps bound from Rust), and run through
//! [`on_exec!`], which works on the pool or inside a transaction ([`Tx`]).
//! SQLite transactions start with `BEGIN IMMEDIATE` so that two writers queue on the
//! busy timeout instead of failing when a read lock cannot be upgraded. Within one
//! process they queue before that, for one writing connection ([`SqliteWriter`]):
//! SQLite's busy handler polls with sleeps of up to 100 ms, so writers that met only
//! there would wait far longer than the write they wait for (and a burst of writers
//! would spend its time sleeping), and one writing connection keeps the pages it writes
//! in its cache instead of every pooled connection reading them again. The busy timeout
//! remains for writers of other processes sharing the file.
//!
//! Pools do not ping a connection before handing it out (sqlx's default): on SQLite a
//! connection cannot go away, and on PostgreSQL only one idle for a while is pinged.
//! Every ping is a round trip (to the connection's thread on SQLite, to the server on
//! PostgreSQL) on the request's path; sqlx pings again when a connection goes back to
//! its pool, which is why the writer is not a pool: that ping would lengthen the time
//! every write holds the one writing connection.

pub mod checkpoint;

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::sync::Arc;

use sqlx::{Connection, PgConnection, PgPool, Postgres, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

use crate::config::{Config, DatabaseUrl};

pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long a request waits for a pooled connection before answering 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Debug)]
pub enum Db {
    /// The pool, and the one connection this process writes through.
    Sqlite(SqlitePool, SqliteWriter),
    Postgres(PgPool),
}

/// An open transaction on either engine; commit it or it rolls back when dropped.
#[derive(Debug)]
pub enum Tx {
    Sqlite(SqliteTx),
    Postgres(Transaction<'static, Postgres>),
}

/// The one SQLite connection of this process that writes, taken in turn (first come,
/// first served) by write transactions and single writing statements.
#[derive(Clone, Debug)]
pub struct SqliteWriter(Arc<Mutex<Option<WriterConnection>>>);

#[derive(Debug)]
pub struct WriterConnection {
    conn: SqliteConnection,
    /// The connection may be inside a transaction that nobody will end: one was
    /// dropped without committing, or a `BEGIN` or `COMMIT` was cancelled while it
    /// waited for the lock (it still runs). The next user rolls back first.
    unsettled: bool,
}

impl WriterConnection {
    pub(crate) fn connection(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

pub(crate) type WriterGuard = OwnedMappedMutexGuard<Option<WriterConnection>, WriterConnection>;

impl SqliteWriter {
    /// Waits (at most [`ACQUIRE_TIMEOUT`]) for the writing connection; for a
    /// transaction, or for one statement outside one (`on_exec!` with [`Db::writer`]).
    pub(crate) async fn take(&self) -> Result<WriterGuard, sqlx::Error> {
        let guard = tokio::time::timeout(ACQUIRE_TIMEOUT, self.0.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        let mut writer =
            OwnedMutexGuard::try_map(guard, Option::as_mut).map_err(|_| sqlx::Error::PoolClosed)?;
        if writer.unsettled {
            // Runs after whatever was cancelled: the connection's thread takes its
            // commands in order.
            match sqlx::query("ROLLBACK").execute(&mut writer.conn).await {
                Ok(_) => {}
                Err(e) if is_no_transaction(&e) => {}
                Err(e) => return Err(e),
            }
            writer.unsettled = false;
        }
        Ok(writer)
    }

    async fn close(&self) {
        if let Some(writer) = self.0.lock().await.take() {
            let _ = writer.conn.close().await;
        }
    }
}

/// SQLite's answer to a `ROLLBACK` outside a transaction.
fn is_no_transaction(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.message().contains("no transaction is active"))
}

/// A write transaction on the writing connection, which it holds until it ends.
#[derive(Debug)]
pub struct SqliteTx {
    writer: WriterGuard,
    owner: SqliteWriter,
}

impl SqliteTx {
    async fn begin(owner: &SqliteWriter) -> Result<SqliteTx, sqlx::Error> {
        let mut writer = owner.take().await?;
        writer.unsettled = true;
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut writer.conn)
            .await?;
        Ok(SqliteTx {
            writer,
            owner: owner.clone(),
        })
    }

    async fn commit(mut self) -> Result<(), sqlx::Error> {
        sqlx::query("COMMIT").execute(&mut self.writer.conn).await?;
        self.writer.unsettled = false;
        Ok(())
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        // Roll back now rather than at the next write, which may be far off while
        // other processes wait for the lock: whoever takes the connection next rolls
        // back first (`take`), and if nobody else is waiting, this task does.
        if self.writer.unsettled
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let owner = self.owner.clone();
            runtime.spawn(async move {
                if let Err(e) = owner.take().await {
                    tracing::warn!(error = %e, "rolling back an abandoned SQLite transaction failed");
                }
            });
        }
    }
}

/// Where a query runs: a pool (a connection is taken for the one statement) or a
/// connection inside a transaction. Build it with `.into()` from `&Db` or `&mut Tx`.
pub enum Exec<'a> {
    SqlitePool(&'a SqlitePool),
    SqliteWriter(&'a SqliteWriter),
    PgPool(&'a PgPool),
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

impl<'a> From<&'a Db> for Exec<'a> {
    fn from(db: &'a Db) -> Exec<'a> {
        match db {
            Db::Sqlite(pool, _) => Exec::SqlitePool(pool),
            Db::Postgres(pool) => Exec::PgPool(pool),
        }
    }
}

impl<'a> From<&'a mut Tx> for Exec<'a> {
    fn from(tx: &'a mut Tx) -> Exec<'a> {
        match tx {
            Tx::Sqlite(t) => Exec::Sqlite(&mut t.writer.conn),
            Tx::Postgres(t) => Exec::Postgres(t),
        }
    }
}

/// `$first, $first+1, ...` for `count` values: the placeholders of an `IN (...)` list,
/// the same text on both engines.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `$body` with `$c` bound to a `&mut SqliteConnection` or `&mut PgConnection`.
/// The body is the same text for both engines; `?` on acquiring a pooled connection
/// needs the enclosing function's error type to accept `sqlx::Error`.
#[macro_export]
macro_rules! on_exec {
    ($ex:expr, $c:ident => $body:expr) => {
        match Into::<$crate::db::Exec<'_>>::into($ex) {
            $crate::db::Exec::SqlitePool(pool) => {
                let mut pooled = pool.acquire().await?;
                let $c = &mut *pooled;
                $body
            }
            $crate::db::Exec::SqliteWriter(writer) => {
                let mut taken = writer.take().await?;
                let $c = taken.connection();
                $body
            }
            $crate::db::Exec::PgPool(pool) => {
                let mut pooled = pool.acquire().await?;
                let $c = &mut *pooled;
                $body
            }
            $crate::db::Exec::Sqlite($c) => $body,
            $crate::db::Exec::Postgres($c) => $body,
        }
    };
}

/// Pool occupancy for `/db/status`.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

impl Db {
    /// Opens the pool for `config.database.url` (creating a SQLite file when missing).
    /// PostgreSQL is retried for a few seconds so that a service starting beside its
    /// database does not fail on the first refused connection.
    pub async fn connect(config: &Config) -> anyhow::Result<Db> {
        let max = config.database.max_connections();
        match &config.database.url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        anyhow::anyhow!("cannot create the directory for {}: {e}", path.display())
                    })?;
                }
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5))
                    .pragma("cache_size", "-2000")
                    .pragma("wal_autocheckpoint", checkpoint::WRITER_BACKSTOP_PAGES);
                let open_error = |e: sqlx::Error| {
                    anyhow::anyhow!("cannot open the SQLite database {}: {e}", path.display())
                };
                let pool = SqlitePoolOptions::new()
                    .max_connections(max)
                    .min_connections(1)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .test_before_acquire(false)
                    .connect_with(options.clone())
                    .await
                    .map_err(open_error)?;
                let conn = SqliteConnection::connect_with(&options)
                    .await
                    .map_err(open_error)?;
                let writer = WriterConnection {
                    conn,
                    unsettled: false,
                };
                Ok(Db::Sqlite(
                    pool,
                    SqliteWriter(Arc::new(Mutex::new(Some(writer)))),
                ))
            }
            DatabaseUrl::Postgres(url) => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(|e| {
                        anyhow::anyhow!("DATABASE_URL is not a valid PostgreSQL URL: {e}")
                    })?
                    .application_name("roster");
                let ping_after_idle = config.database.ping_after_idle;
                let pool = PgPoolOptions::new()
                    .max_connections(max)
                    // Kept open (see `open_pool_in_background`); the overflow closes when idle.
                    .min_connections(config.database.pool_size.min(max))
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .idle_timeout(Duration::from_secs(300))
                    .test_before_acquire(false)
                    .before_acquire(move |conn, meta| {
                        Box::pin(async move {
                            // One the server dropped meanwhile (a restart, an idle
                            // timeout) is replaced instead of failing a request.
                            if meta.idle_for >= ping_after_idle {
                                conn.ping().await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect_lazy_with(options);
                let deadline = Instant::now() + Duration::from_secs(10);
                loop {
                    match pool.acquire().await {
                        Ok(_) => break,
                        Err(e) if Instant::now() < deadline => {
                            tracing::warn!(error = %e, "PostgreSQL is not reachable yet, retrying");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                        Err(e) => return Err(anyhow::anyhow!("cannot connect to PostgreSQL: {e}")),
                    }
                }
                Ok(Db::Postgres(pool))
            }
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(..) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Opens, in the background, the PostgreSQL connections the pool keeps
    /// (`DB_POOL_SIZE`), so that the first burst of requests after a start does not wait
    /// for new server processes: eight requests at once on a fresh pool took ~100 ms each
    /// here, against under 1 ms with the connections open. (sqlx keeps `min_connections`
    /// only after its idle reaper has closed one; it does not open them at start.)
    pub fn open_pool_in_background(&self) {
        let Db::Postgres(pool) = self else {
            return;
        };
        let pool = pool.clone();
        let keep = pool.options().get_min_connections() as usize;
        tokio::spawn(async move {
            let opened = futures::future::join_all((0..keep).map(|_| pool.acquire())).await;
            if let Some(Err(e)) = opened.iter().find(|c| c.is_err()) {
                tracing::debug!(error = %e, "could not open every pooled connection yet");
            }
        });
    }

    /// Starts checkpointing a SQLite database on a connection of its own, so that the
    /// writing connection does not stop for it (see [`checkpoint`]).
    pub fn checkpoint_in_background(&self) {
        if let Db::Sqlite(pool, _) = self {
            checkpoint::spawn(pool);
        }
    }

    /// Applies pending migrations (PostgreSQL serialises concurrent runs with a lock).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(pool, _) => SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(_, writer) => Tx::Sqlite(SqliteTx::begin(writer).await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Where a single writing statement runs outside a transaction: on SQLite the
    /// writing connection, so that it queues with the write transactions instead of
    /// meeting them in SQLite's busy handler; on PostgreSQL the pool.
    pub fn writer(&self) -> Exec<'_> {
        match self {
            Db::Sqlite(_, writer) => Exec::SqliteWriter(writer),
            Db::Postgres(pool) => Exec::PgPool(pool),
        }
    }

    /// Whether the database can serve a login: it starts a write transaction (on SQLite
    /// that takes the write lock, which readers alone would never notice missing), reads
    /// a table, and rolls back.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        on_exec!(&mut tx, c => sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations").execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub fn pool_stats(&self) -> PoolStats {
        let (size, idle, max) = match self {
            Db::Sqlite(p, _) => (p.size(), p.num_idle(), p.options().get_max_connections()),
            Db::Postgres(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
        };
        PoolStats {
            size,
            idle: idle as u32,
            max,
        }
    }

    /// How many migrations are applied to this database, and how many this binary knows
    /// (equal when it is up to date). Counted, not compared by version number, because
    /// versions need not be contiguous (features number theirs ahead of merging).
    pub async fn migration_status(&self) -> Result<(i64, i64), sqlx::Error> {
        let latest = match self {
            Db::Sqlite(..) => SQLITE_MIGRATIONS.iter().count(),
            Db::Postgres(_) => POSTGRES_MIGRATIONS.iter().count(),
        } as i64;
        let applied: i64 = on_exec!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").fetch_one(c).await)?;
        Ok((applied, latest))
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p, writer) => {
                p.close().await;
                writer.close().await;
            }
            Db::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_have_the_same_migrations() {
        let sqlite: Vec<_> = SQLITE_MIGRATIONS
            .iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect();
        let postgres: Vec<_> = POSTGRES_MIGRATIONS
            .iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect();
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, postgres);
    }
}
