//! Typed settings read from the environment (or a `.env` file), with defaults and
//! validation that names the offending variable. Tests build a `Config` from a map
//! through [`Config::from_lookup`] instead of touching the process environment.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    Any,
    List(Vec<String>),
}

/// A secret that never shows up in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashCost {
    /// OWASP's recommended Argon2id setting: m = 19456 KiB, t = 2, p = 1.
    fn default() -> HashCost {
        HashCost {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// The password rules applied at registration, change and reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    /// Require an upper-case letter, a lower-case letter and a digit.
    pub require_mixed: bool,
    /// Minimum zxcvbn score (0 to 4).
    pub min_score: u8,
}

impl Default for PasswordPolicy {
    fn default() -> PasswordPolicy {
        PasswordPolicy {
            min_length: 8,
            max_length: 128,
            require_mixed: true,
            min_score: 2,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub db_pool_size: u32,
    pub db_max_overflow: u32,
    pub host: IpAddr,
    pub port: u16,
    pub environment: Environment,
    pub jwt_secret_key: Option<Secret>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub allowed_origins: AllowedOrigins,
    pub password_history: u32,
    pub password_policy: PasswordPolicy,
    pub hash_cost: HashCost,
    /// `None` in development means "generate one into a key file".
    pub encryption_key: Option<[u8; 32]>,
    pub public_url: String,
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    /// At most this many reset mails, and this many verification mails, per address
    /// and hour (`MAIL_PER_ADDRESS_PER_HOUR`).
    pub mail_per_address_per_hour: u32,
    /// How often the mail worker looks for due messages besides being woken when this
    /// instance queues one (`MAIL_POLL_MILLIS`).
    pub mail_poll_interval: Duration,
    pub preferences_schema: Option<PathBuf>,
    pub rate_limit_auth_per_minute: u32,
    pub login_max_failures: u32,
    pub login_lockout: Duration,
    pub redis_url: Option<Secret>,
    pub nats_url: Option<String>,
    pub log_format: LogFormat,
    pub cleanup_interval: Duration,
    pub key_refresh_interval: Duration,
    /// Peers whose `X-Forwarded-For`/`Forwarded` headers are believed (`TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Prefix of every Redis key Roster writes (`REDIS_KEY_PREFIX`).
    pub redis_key_prefix: String,
    /// How long in-flight requests may run on after SIGTERM (`SHUTDOWN_DRAIN_SECONDS`).
    pub shutdown_drain: Duration,
    /// The longest a request may take before it is answered 503 (`REQUEST_TIMEOUT_SECONDS`).
    pub request_timeout: Duration,
    /// A pooled PostgreSQL connection idle for longer is pinged before it is handed out
    /// (`DB_PING_IDLE_MILLIS`), so that one the server or a firewall dropped meanwhile is
    /// replaced instead of failing a request.
    pub db_ping_after_idle: Duration,
}

/// A configuration value that cannot be used; start-up stops with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error in {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn invalid(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

/// Reads variables by name, treating empty values as unset.
struct Vars<F: Fn(&str) -> Option<String>>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn parse<T: std::str::FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|e| invalid(name, format!("{raw:?} is not valid: {e}"))),
        }
    }

    fn number(
        &self,
        name: &'static str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<u64, ConfigError> {
        let value: u64 = self.parse(name, default)?;
        if value < min || value > max {
            return Err(invalid(
                name,
                format!("must be between {min} and {max}, got {value}"),
            ));
        }
        Ok(value)
    }

    fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
            Some(v) => Err(invalid(
                name,
                format!("{v:?} is not a boolean (true/false)"),
            )),
        }
    }
}

impl Config {
    /// Reads `.env` (without overriding variables already set), then the environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        let _ = dotenvy::dotenv();
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds a configuration from explicit variables (tests, tools).
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let vars = Vars(lookup);

        let environment = match vars.get("ROSTER_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(invalid(
                    "ROSTER_ENV",
                    format!("{other:?} is not one of development, production"),
                ));
            }
        };

        let database_url = parse_database_url(vars.get("DATABASE_URL"))?;
        let host: IpAddr = vars.parse("HOST", IpAddr::from([127, 0, 0, 1]))?;
        let port = vars.number("PORT", 8001, 0, 65_535)? as u16;

        let jwt_secret_key = vars.get("JWT_SECRET_KEY").map(Secret::new);
        let public_url = vars
            .get("PUBLIC_URL")
            .map(|url| url.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{}:{port}", display_host(host)));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(invalid("PUBLIC_URL", "must start with http:// or https://"));
        }

        let allowed_origins = match vars.get("ALLOWED_ORIGINS") {
            None => AllowedOrigins::Any,
            Some(v) if v == "*" => AllowedOrigins::Any,
            Some(v) => {
                let origins: Vec<String> = v
                    .split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect();
                for origin in &origins {
                    if !(origin.starts_with("http://") || origin.starts_with("https://"))
                        || origin == "*"
                    {
                        return Err(invalid(
                            "ALLOWED_ORIGINS",
                            format!("{origin:?} is not an http(s) origin"),
                        ));
                    }
                    if axum::http::HeaderValue::from_str(origin).is_err() {
                        return Err(invalid(
                            "ALLOWED_ORIGINS",
                            format!("{origin:?} is not a valid header value"),
                        ));
                    }
                }
                AllowedOrigins::List(origins)
            }
        };

        let encryption_key = match vars.get("ENCRYPTION_KEY") {
            None => None,
            Some(encoded) => Some(decode_key(&encoded).map_err(|m| invalid("ENCRYPTION_KEY", m))?),
        };

        let log_format = match vars.get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    "LOG_FORMAT",
                    format!("{other:?} is not one of pretty, json"),
                ));
            }
        };

        let mail_from = vars
            .get("MAIL_FROM")
            .unwrap_or_else(|| "Roster <no-reply@localhost>".to_owned());
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "MAIL_FROM",
                format!("{mail_from:?} is not an email address"),
            ));
        }

        let smtp_url = vars.get("SMTP_URL");
        if let Some(url) = &smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(invalid("SMTP_URL", "must start with smtp:// or smtps://"));
            }
            // lettre's own parser decides what it can connect to (host, port, `tls=`);
            // its messages never repeat the URL, so no password reaches the error.
            if let Err(e) = crate::mail::smtp_transport(url) {
                return Err(invalid("SMTP_URL", format!("cannot be used: {e}")));
            }
        }

        let preferences_schema = vars.get("PREFERENCES_SCHEMA").map(PathBuf::from);
        if let Some(path) = &preferences_schema {
            if !path.is_file() {
                return Err(invalid(
                    "PREFERENCES_SCHEMA",
                    format!("{} is not a readable file", path.display()),
                ));
            }
        }

        let redis_url = vars.get("REDIS_URL");
        if let Some(url) = &redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(invalid(
                    "REDIS_URL",
                    "must start with redis:// or rediss://",
                ));
            }
        }
        let nats_url = vars.get("NATS_URL");
        if let Some(url) = &nats_url {
            if !(url.starts_with("nats://") || url.starts_with("tls://")) {
                return Err(invalid("NATS_URL", "must start with nats:// or tls://"));
            }
        }

        let trusted_proxies = parse_trusted_proxies(vars.get("TRUSTED_PROXIES"))?;
        let redis_key_prefix = vars
            .get("REDIS_KEY_PREFIX")
            .unwrap_or_else(|| "roster:".to_owned());
        if redis_key_prefix.len() > 100 || redis_key_prefix.chars().any(char::is_whitespace) {
            return Err(invalid(
                "REDIS_KEY_PREFIX",
                "must be at most 100 characters without spaces",
            ));
        }

        let min_length = vars.number("PASSWORD_MIN_LENGTH", 8, 1, 128)? as usize;
        let max_length = vars.number("PASSWORD_MAX_LENGTH", 128, 8, 1024)? as usize;
        if min_length > max_length {
            return Err(invalid(
                "PASSWORD_MIN_LENGTH",
                "must not exceed PASSWORD_MAX_LENGTH",
            ));
        }
        let password_policy = PasswordPolicy {
            min_length,
            max_length,
            require_mixed: vars.flag("PASSWORD_REQUIRE_MIXED", true)?,
            min_score: vars.number("PASSWORD_MIN_SCORE", 2, 0, 4)? as u8,
        };

        let defaults = HashCost::default();
        let hash_cost = HashCost {
            memory_kib: vars.number(
                "ARGON2_MEMORY_KIB",
                defaults.memory_kib.into(),
                8,
                4 * 1024 * 1024,
            )? as u32,
            iterations: vars.number("ARGON2_ITERATIONS", defaults.iterations.into(), 1, 100)?
                as u32,
            parallelism: vars.number("ARGON2_PARALLELISM", defaults.parallelism.into(), 1, 64)?
                as u32,
        };
        if hash_cost.memory_kib < 8 * hash_cost.parallelism {
            return Err(invalid(
                "ARGON2_MEMORY_KIB",
                "must be at least 8 × ARGON2_PARALLELISM",
            ));
        }

        let config = Config {
            database_url,
            db_pool_size: vars.number("DB_POOL_SIZE", 10, 1, 1000)? as u32,
            db_max_overflow: vars.number("DB_MAX_OVERFLOW", 20, 0, 1000)? as u32,
            host,
            port,
            environment,
            jwt_issuer: vars.get("JWT_ISSUER").unwrap_or_else(|| public_url.clone()),
            jwt_audience: vars
                .get("JWT_AUDIENCE")
                .unwrap_or_else(|| "roster".to_owned()),
            jwt_secret_key,
            access_token_ttl: Duration::from_secs(
                60 * vars.number("ACCESS_TOKEN_EXPIRE_MINUTES", 15, 1, 24 * 60)?,
            ),
            refresh_token_ttl: Duration::from_secs(
                86_400 * vars.number("REFRESH_TOKEN_EXPIRE_DAYS", 7, 1, 365)?,
            ),
            allowed_origins,
            password_history: vars.number("PASSWORD_HISTORY", 5, 1, 100)? as u32,
            password_policy,
            hash_cost,
            encryption_key,
            public_url,
            smtp_url: smtp_url.map(Secret::new),
            mail_from,
            mail_per_address_per_hour: vars.number("MAIL_PER_ADDRESS_PER_HOUR", 5, 1, 1000)? as u32,
            mail_poll_interval: Duration::from_millis(vars.number(
                "MAIL_POLL_MILLIS",
                5_000,
                10,
                600_000,
            )?),
            preferences_schema,
            rate_limit_auth_per_minute: vars.number(
                "RATE_LIMIT_AUTH_PER_MINUTE",
                60,
                1,
                1_000_000,
            )? as u32,
            login_max_failures: vars.number("LOGIN_MAX_FAILURES", 5, 1, 1000)? as u32,
            login_lockout: Duration::from_secs(vars.number(
                "LOGIN_LOCKOUT_SECONDS",
                60,
                1,
                86_400,
            )?),
            redis_url: redis_url.map(Secret::new),
            nats_url,
            log_format,
            cleanup_interval: Duration::from_secs(vars.number(
                "CLEANUP_INTERVAL_SECONDS",
                600,
                1,
                86_400,
            )?),
            key_refresh_interval: Duration::from_secs(vars.number(
                "KEY_REFRESH_SECONDS",
                5,
                1,
                10,
            )?),
            trusted_proxies,
            redis_key_prefix,
            shutdown_drain: Duration::from_secs(vars.number(
                "SHUTDOWN_DRAIN_SECONDS",
                20,
                0,
                3_600,
            )?),
            request_timeout: Duration::from_secs(vars.number(
                "REQUEST_TIMEOUT_SECONDS",
                6,
                1,
                600,
            )?),
            db_ping_after_idle: Duration::from_millis(vars.number(
                "DB_PING_IDLE_MILLIS",
                1_000,
                0,
                3_600_000,
            )?),
        };
        config.check_environment()?;
        Ok(config)
    }

    /// Production refuses settings that are only acceptable on a developer's machine.
    fn check_environment(&self) -> Result<(), ConfigError> {
        if let Some(secret) = &self.jwt_secret_key {
            if secret.expose().len() < 32 && self.environment == Environment::Production {
                return Err(invalid(
                    "JWT_SECRET_KEY",
                    "must be at least 32 bytes in production",
                ));
            }
        }
        if self.environment != Environment::Production {
            return Ok(());
        }
        if self.encryption_key.is_none() {
            return Err(invalid(
                "ENCRYPTION_KEY",
                "must be set in production (base64 of 32 random bytes)",
            ));
        }
        if self.allowed_origins == AllowedOrigins::Any {
            return Err(invalid(
                "ALLOWED_ORIGINS",
                "must list the allowed origins in production, not *",
            ));
        }
        if self.smtp_url.is_none() {
            return Err(invalid(
                "SMTP_URL",
                "must be set in production (without it, mail would only be written to the log)",
            ));
        }
        Ok(())
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    /// The most connections the pool opens: `DB_POOL_SIZE + DB_MAX_OVERFLOW`.
    pub fn db_max_connections(&self) -> u32 {
        self.db_pool_size + self.db_max_overflow
    }

    /// Where the development encryption key is kept when `ENCRYPTION_KEY` is unset:
    /// beside the SQLite file, or in the working directory for PostgreSQL.
    pub fn key_file_path(&self) -> PathBuf {
        match &self.database_url {
            DatabaseUrl::Sqlite(path) => {
                let mut name = path
                    .file_name()
                    .map(|n| n.to_os_string())
                    .unwrap_or_else(|| "roster.db".into());
                name.push(".key");
                path.with_file_name(name)
            }
            DatabaseUrl::Postgres(_) => PathBuf::from("roster.key"),
        }
    }
}

fn display_host(host: IpAddr) -> String {
    match host {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

fn parse_database_url(raw: Option<String>) -> Result<DatabaseUrl, ConfigError> {
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

/// `TRUSTED_PROXIES`: comma-separated CIDR blocks or single addresses.
fn parse_trusted_proxies(raw: Option<String>) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| {
                    invalid(
                        "TRUSTED_PROXIES",
                        format!("{entry:?} is not an IP address or CIDR block"),
                    )
                })
        })
        .collect()
}

/// Decodes `ENCRYPTION_KEY`: standard or URL-safe base64 of exactly 32 bytes.
pub fn decode_key(encoded: &str) -> Result<[u8; 32], String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .or_else(|_| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('='))
        })
        .map_err(|_| "is not base64".to_owned())?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("must decode to 32 bytes, got {}", bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_map(&map)
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, DatabaseUrl::Sqlite("roster.db".into()));
        assert_eq!(c.port, 8001);
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert_eq!(c.refresh_token_ttl, Duration::from_secs(7 * 86_400));
        assert_eq!(c.password_history, 5);
        assert_eq!(c.db_max_connections(), 30);
        assert_eq!(c.public_url, "http://127.0.0.1:8001");
        assert_eq!(
            c.hash_cost,
            HashCost {
                memory_kib: 19_456,
                iterations: 2,
                parallelism: 1
            }
        );
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (var, value) in [
            ("PORT", "http"),
            ("PORT", "70000"),
            ("ACCESS_TOKEN_EXPIRE_MINUTES", "0"),
            ("DATABASE_URL", "mysql://x"),
            ("ENCRYPTION_KEY", "c2hvcnQ="),
            ("LOG_FORMAT", "xml"),
            ("ROSTER_ENV", "staging"),
            ("ALLOWED_ORIGINS", "ftp://x"),
            ("PASSWORD_REQUIRE_MIXED", "maybe"),
            ("PREFERENCES_SCHEMA", "/nonexistent/schema.json"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal"),
            ("TRUSTED_PROXIES", "10.0.0.0/33"),
            ("REDIS_KEY_PREFIX", "roster prod:"),
            ("SHUTDOWN_DRAIN_SECONDS", "-1"),
            ("SHUTDOWN_DRAIN_SECONDS", "soon"),
            ("REQUEST_TIMEOUT_SECONDS", "0"),
            ("MAIL_PER_ADDRESS_PER_HOUR", "0"),
            ("MAIL_POLL_MILLIS", "soon"),
            ("SMTP_URL", "smtp://smtp.example:587?tls=sometimes"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{value}");
            assert!(err.to_string().contains(var));
        }
    }

    #[test]
    fn trusted_proxies_are_cidr_blocks_or_addresses_and_empty_by_default() {
        assert!(config(&[]).unwrap().trusted_proxies.is_empty());
        let c = config(&[("TRUSTED_PROXIES", " 10.1.2.3/8, 192.168.0.1 ,fd00::/8,")]).unwrap();
        let nets: Vec<String> = c.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(nets, ["10.0.0.0/8", "192.168.0.1/32", "fd00::/8"]);
    }

    #[test]
    fn shutdown_drain_request_timeout_redis_prefix_and_db_ping_have_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.shutdown_drain, Duration::from_secs(20));
        assert_eq!(c.request_timeout, Duration::from_secs(6));
        assert_eq!(c.redis_key_prefix, "roster:");
        assert_eq!(c.db_ping_after_idle, Duration::from_secs(1));
        let c = config(&[
            ("DB_PING_IDLE_MILLIS", "0"),
            ("SHUTDOWN_DRAIN_SECONDS", "0"),
            ("REQUEST_TIMEOUT_SECONDS", "30"),
            ("REDIS_KEY_PREFIX", "staging:roster:"),
        ])
        .unwrap();
        assert_eq!(c.shutdown_drain, Duration::ZERO);
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.redis_key_prefix, "staging:roster:");
        assert_eq!(c.db_ping_after_idle, Duration::ZERO);
    }

    #[test]
    fn production_refuses_insecure_settings() {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let ok = [
            ("ROSTER_ENV", "production"),
            ("ENCRYPTION_KEY", key.as_str()),
            ("ALLOWED_ORIGINS", "https://app.example"),
            (
                "SMTP_URL",
                "smtp://mailer:secret@smtp.example:587?tls=required",
            ),
        ];
        assert!(config(&ok).is_ok());
        assert_eq!(config(&ok[..2]).unwrap_err().variable, "ALLOWED_ORIGINS");
        assert_eq!(
            config(&[ok[0], ok[2]]).unwrap_err().variable,
            "ENCRYPTION_KEY"
        );
        let mut short = ok.to_vec();
        short.push(("JWT_SECRET_KEY", "too-short"));
        assert_eq!(config(&short).unwrap_err().variable, "JWT_SECRET_KEY");
    }

    #[test]
    fn sqlite_urls_name_a_file_and_postgres_passwords_stay_hidden() {
        assert_eq!(
            config(&[("DATABASE_URL", "sqlite://data/x.db")])
                .unwrap()
                .database_url,
            DatabaseUrl::Sqlite("data/x.db".into())
        );
        let c = config(&[("DATABASE_URL", "postgres://u:hunter2@h/db")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(
            config(&[("DATABASE_URL", "sqlite://data/x.db")])
                .unwrap()
                .key_file_path(),
            PathBuf::from("data/x.db.key")
        );
    }

    #[test]
    fn production_refuses_to_start_without_smtp() {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let production = [
            ("ROSTER_ENV", "production"),
            ("ENCRYPTION_KEY", key.as_str()),
            ("ALLOWED_ORIGINS", "https://app.example"),
        ];
        let err = config(&production).unwrap_err();
        assert_eq!(err.variable, "SMTP_URL");
        assert!(err.to_string().contains("SMTP_URL"));
        // Development without SMTP_URL writes mail to the log instead.
        assert!(config(&[]).unwrap().smtp_url.is_none());
        for url in [
            "smtp://user:pass@smtp.example:587?tls=required",
            "smtp://smtp.example:587?tls=opportunistic",
            "smtps://user:pass@smtp.example",
            "smtp://127.0.0.1:2525",
        ] {
            let mut with_smtp = production.to_vec();
            with_smtp.push(("SMTP_URL", url));
            assert!(config(&with_smtp).is_ok(), "{url}");
        }
    }

    #[test]
    fn mail_settings_have_defaults_and_an_invalid_smtp_url_hides_its_password() {
        let c = config(&[]).unwrap();
        assert_eq!(c.mail_per_address_per_hour, 5);
        assert_eq!(c.mail_poll_interval, Duration::from_secs(5));
        let err =
            config(&[("SMTP_URL", "smtp://user:hunter2@smtp.example?tls=bogus")]).unwrap_err();
        assert_eq!(err.variable, "SMTP_URL");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let c = config(&[("SMTP_URL", "smtp://user:hunter2@smtp.example")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
