//! Where the data lives (`DATABASE_URL`) and the connection pool.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::vars::{ConfigError, Vars, invalid};

/// Where the data lives, decided by the scheme of `DATABASE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file, created when missing.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl DatabaseUrl {
    pub fn backend(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    /// Never prints a PostgreSQL password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres(_) => f.write_str("postgres://<redacted>"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: DatabaseUrl,
    /// `DB_POOL_SIZE`: connections kept open.
    pub pool_size: u32,
    /// `DB_MAX_OVERFLOW`: connections opened beyond the pool under load.
    pub max_overflow: u32,
    /// A pooled PostgreSQL connection idle for longer is pinged before it is handed out
    /// (`DB_PING_IDLE_MILLIS`), so that one the server or a firewall dropped meanwhile is
    /// replaced instead of failing a request.
    pub ping_after_idle: Duration,
}

impl DatabaseConfig {
    pub(super) fn parse(vars: &Vars) -> Result<DatabaseConfig, ConfigError> {
        Ok(DatabaseConfig {
            url: parse_url(vars.get("DATABASE_URL"))?,
            pool_size: vars.number("DB_POOL_SIZE", 10, 1, 1000)? as u32,
            max_overflow: vars.number("DB_MAX_OVERFLOW", 20, 0, 1000)? as u32,
            ping_after_idle: vars.duration(
                "DB_PING_IDLE_MILLIS",
                Duration::from_millis(1),
                1_000,
                0,
                3_600_000,
            )?,
        })
    }

    /// The most connections the pool opens: `DB_POOL_SIZE + DB_MAX_OVERFLOW`.
    pub fn max_connections(&self) -> u32 {
        self.pool_size + self.max_overflow
    }
}

fn parse_url(raw: Option<String>) -> Result<DatabaseUrl, ConfigError> {
    let Some(raw) = raw else {
        return Ok(DatabaseUrl::Sqlite(PathBuf::from("roster.db")));
    };
    if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        return Ok(DatabaseUrl::Postgres(raw));
    }
    if let Some(rest) = raw
        .strip_prefix("sqlite://")
        .or_else(|| raw.strip_prefix("sqlite:"))
    {
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            return Err(invalid(
                "DATABASE_URL",
                "a SQLite URL needs a file path, e.g. sqlite://roster.db",
            ));
        }
        return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
    }
    Err(invalid(
        "DATABASE_URL",
        "must start with sqlite:// or postgres://",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<DatabaseConfig, ConfigError> {
        let lookup = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        DatabaseConfig::parse(&Vars(&lookup))
    }

    #[test]
    fn the_default_is_a_sqlite_file_and_the_pool_has_thirty_connections() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.url, DatabaseUrl::Sqlite("roster.db".into()));
        assert_eq!(c.max_connections(), 30);
        assert_eq!(c.ping_after_idle, Duration::from_secs(1));
        assert_eq!(
            parse(&[("DB_PING_IDLE_MILLIS", "0")])
                .unwrap()
                .ping_after_idle,
            Duration::ZERO
        );
    }

    #[test]
    fn sqlite_urls_name_a_file_and_postgres_passwords_stay_hidden() {
        assert_eq!(
            parse(&[("DATABASE_URL", "sqlite://data/x.db")])
                .unwrap()
                .url,
            DatabaseUrl::Sqlite("data/x.db".into())
        );
        let c = parse(&[("DATABASE_URL", "postgres://u:hunter2@h/db")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        for bad in ["mysql://x", "sqlite://", "sqlite::memory:"] {
            assert_eq!(
                parse(&[("DATABASE_URL", bad)]).unwrap_err().variable,
                "DATABASE_URL"
            );
        }
    }
}
