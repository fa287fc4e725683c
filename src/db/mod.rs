//! The database: SQLite or PostgreSQL behind one `Db`, chosen from `DATABASE_URL`.
//!
//! Every query is written once, in SQL both engines accept (`$1` placeholders,
//! `ON CONFLICT`, `RETURNING`, timestamps bound from Rust), and run through
//! [`on_exec!`], which works on the pool or inside a transaction ([`Tx`]).
//! SQLite transactions start with `BEGIN IMMEDIATE` so that two writers queue on the
//! busy timeout instead of failing when a read lock cannot be upgraded. Within one
//! process they queue before that, for the one connection of a writer pool: SQLite's
//! busy handler polls with sleeps of up to 100 ms, so writers that met only there would
//! wait far longer than the write they wait for (and a burst of writers would spend its
//! time sleeping), and one writing connection keeps the pages it writes in its cache
//! instead of every pooled connection reading them again. The busy timeout remains for
//! writers of other processes sharing the file.

pub mod changes;

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::config::{Config, DatabaseUrl};

pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long a request waits for a pooled connection before answering 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Debug)]
pub enum Db {
    /// The pool, and the one-connection pool of this process's write transactions.
    Sqlite(SqlitePool, SqlitePool),
    Postgres(PgPool),
}

/// An open transaction on either engine; commit it or it rolls back when dropped.
#[derive(Debug)]
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Where a query runs: a pool (a connection is taken for the one statement) or a
/// connection inside a transaction. Build it with `.into()` from `&Db` or `&mut Tx`.
pub enum Exec<'a> {
    SqlitePool(&'a SqlitePool),
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
            Tx::Sqlite(t) => Exec::Sqlite(&mut **t),
            Tx::Postgres(t) => Exec::Postgres(&mut **t),
        }
    }
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
    /// Opens the pool for `config.database_url` (creating a SQLite file when missing).
    /// PostgreSQL is retried for a few seconds so that a service starting beside its
    /// database does not fail on the first refused connection.
    pub async fn connect(config: &Config) -> anyhow::Result<Db> {
        let max = config.db_max_connections();
        match &config.database_url {
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
                    .pragma("cache_size", "-2000");
                let open_error = |e: sqlx::Error| {
                    anyhow::anyhow!("cannot open the SQLite database {}: {e}", path.display())
                };
                let pool = SqlitePoolOptions::new()
                    .max_connections(max)
                    .min_connections(1)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options.clone())
                    .await
                    .map_err(open_error)?;
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(open_error)?;
                Ok(Db::Sqlite(pool, writer))
            }
            DatabaseUrl::Postgres(url) => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(|e| {
                        anyhow::anyhow!("DATABASE_URL is not a valid PostgreSQL URL: {e}")
                    })?
                    .application_name("roster");
                let pool = PgPoolOptions::new()
                    .max_connections(max)
                    .min_connections(0)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .idle_timeout(Duration::from_secs(300))
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
            Db::Sqlite(_, writer) => Tx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
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
