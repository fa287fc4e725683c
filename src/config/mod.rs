//! Typed settings read from the environment (or a `.env` file), with defaults and
//! validation that names the offending variable, one file per concern: the database,
//! HTTP serving and rate limits, tokens, passwords and lockout, mail, events, webhooks,
//! NATS, and the brand (name, logo, colour, templates). Tests build a `Config` from a map through [`Config::from_map`] instead of
//! touching the process environment.

mod brand;
mod database;
mod events;
mod features;
mod http;
mod mail;
mod mfa;
mod nats;
mod passwords;
mod tokens;
mod vars;
mod webhooks;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;

pub use brand::{BrandConfig, DEFAULT_COLOR, Logo, MAX_LOGO_BYTES, TemplateArea, TemplateFile};
pub use database::{DatabaseConfig, DatabaseUrl};
pub use events::EventsConfig;
pub use features::Features;
pub use http::{AllowedOrigins, HttpConfig};
pub use mail::MailConfig;
pub use mfa::MfaConfig;
pub use nats::NatsConfig;
pub use passwords::{HashCost, PasswordConfig, PasswordPolicy};
pub use tokens::{AccessTokenAlgorithm, TokenConfig};
pub use vars::{ConfigError, Secret};
use vars::{Vars, invalid};
pub use webhooks::{AllowedHosts, WebhookConfig};

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

#[derive(Debug, Clone)]
pub struct Config {
    /// `ROSTER_ENV`: production refuses settings only fit for a developer's machine.
    pub environment: Environment,
    pub log_format: LogFormat,
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub tokens: TokenConfig,
    pub passwords: PasswordConfig,
    pub mail: MailConfig,
    pub mfa: MfaConfig,
    pub events: EventsConfig,
    pub webhooks: WebhookConfig,
    /// `BRAND_*`, `MAIL_FROM_NAME`, `TEMPLATES_DIR`: the name, look and words of the pages
    /// and mails.
    pub brand: BrandConfig,
    /// `FEATURES` and `PREMIUM_SELF_SERVICE`: the optional modules served.
    pub features: Features,
    /// Publishing events to NATS JetStream (`NATS_URL` unset: none).
    pub nats: NatsConfig,
    /// `ENCRYPTION_KEY`; `None` in development means "generate one into a key file".
    pub encryption_key: Option<[u8; 32]>,
    /// `PREFERENCES_SCHEMA`: the preferences JSON Schema, instead of the built-in one.
    pub preferences_schema: Option<PathBuf>,
    /// How often expired rows are purged (`CLEANUP_INTERVAL_SECONDS`).
    pub cleanup_interval: Duration,
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
        let vars = Vars(&lookup);
        let environment = vars.choice(
            "ROSTER_ENV",
            &[
                ("development", Environment::Development),
                ("production", Environment::Production),
            ],
        )?;
        let log_format = vars.choice(
            "LOG_FORMAT",
            &[("pretty", LogFormat::Pretty), ("json", LogFormat::Json)],
        )?;
        let encryption_key = match vars.get("ENCRYPTION_KEY") {
            None => None,
            Some(encoded) => Some(decode_key(&encoded).map_err(|m| invalid("ENCRYPTION_KEY", m))?),
        };
        let preferences_schema = vars.get("PREFERENCES_SCHEMA").map(PathBuf::from);
        if let Some(path) = preferences_schema.as_ref().filter(|path| !path.is_file()) {
            return Err(invalid(
                "PREFERENCES_SCHEMA",
                format!("{} is not a readable file", path.display()),
            ));
        }
        let http = HttpConfig::parse(&vars)?;
        let config = Config {
            environment,
            log_format,
            database: DatabaseConfig::parse(&vars)?,
            tokens: TokenConfig::parse(&vars, &http.public_url)?,
            mfa: MfaConfig::parse(&vars, &http.public_url)?,
            http,
            passwords: PasswordConfig::parse(&vars)?,
            mail: MailConfig::parse(&vars)?,
            events: EventsConfig::parse(&vars)?,
            webhooks: WebhookConfig::parse(&vars)?,
            brand: BrandConfig::parse(&vars)?,
            features: Features::parse(&vars)?,
            nats: NatsConfig::parse(&vars)?,
            encryption_key,
            preferences_schema,
            cleanup_interval: vars.duration(
                "CLEANUP_INTERVAL_SECONDS",
                Duration::from_secs(1),
                600,
                1,
                86_400,
            )?,
        };
        config.check_environment()?;
        Ok(config)
    }

    /// Production refuses settings that are only acceptable on a developer's machine, and
    /// names every one of them at once, so that one start tells the operator all there is
    /// to fix (the first is the error's variable; the others follow in its message).
    fn check_environment(&self) -> Result<(), ConfigError> {
        let production = self.is_production();
        let mut refused = Vec::new();
        if let Some(secret) = &self.tokens.jwt_secret_key
            && secret.expose().len() < 32
            && production
        {
            refused.push(invalid(
                "JWT_SECRET_KEY",
                "must be at least 32 bytes in production",
            ));
        }
        if production {
            refused.extend(self.production_refusals());
        }
        let mut refused = refused.into_iter();
        let Some(mut first) = refused.next() else {
            return Ok(());
        };
        for other in refused {
            first.message = format!(
                "{}; also {}: {}",
                first.message, other.variable, other.message
            );
        }
        Err(first)
    }

    /// What production refuses besides a short `JWT_SECRET_KEY`, every one of them.
    fn production_refusals(&self) -> Vec<ConfigError> {
        let mut refused = Vec::new();
        if self.encryption_key.is_none() {
            refused.push(invalid(
                "ENCRYPTION_KEY",
                "must be set in production (base64 of 32 random bytes)",
            ));
        }
        if self.http.allowed_origins == AllowedOrigins::Any {
            refused.push(invalid(
                "ALLOWED_ORIGINS",
                "must list the allowed origins in production, not *",
            ));
        }
        if self.mail.smtp_url.is_none() {
            refused.push(invalid(
                "SMTP_URL",
                "must be set in production (without it, mail would only be written to the log)",
            ));
        }
        if !self.http.public_url_configured {
            refused.push(invalid(
                "PUBLIC_URL",
                "must be set in production: it is the issuer of every token and the origin of the cookies",
            ));
        } else if !http::is_https_or_loopback(&self.http.public_url) {
            refused.push(invalid(
                "PUBLIC_URL",
                "must be https:// in production (plain http only on a loopback host): over http, session cookies go without Secure",
            ));
        }
        refused
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    /// Where the development encryption key is kept when `ENCRYPTION_KEY` is unset:
    /// beside the SQLite file, or in the working directory for PostgreSQL.
    pub fn key_file_path(&self) -> PathBuf {
        match &self.database.url {
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
pub(crate) mod tests {
    use super::*;

    /// The configuration of exactly these variables (the other rooms' tests use it too).
    pub(crate) fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_map(&map)
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database.url, DatabaseUrl::Sqlite("roster.db".into()));
        assert_eq!(c.http.port, 8001);
        assert_eq!(c.tokens.access_ttl, Duration::from_secs(900));
        assert_eq!(c.tokens.refresh_ttl, Duration::from_secs(7 * 86_400));
        assert_eq!(c.tokens.refresh_reuse_grace, Duration::from_secs(10));
        assert_eq!(c.passwords.history, 5);
        assert_eq!(c.database.max_connections(), 30);
        assert_eq!(c.http.public_url, "http://127.0.0.1:8001");
        assert_eq!(
            c.passwords.cost,
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
            ("REFRESH_REUSE_GRACE_SECONDS", "-1"),
            ("REFRESH_REUSE_GRACE_SECONDS", "301"),
            ("MAIL_PER_ADDRESS_PER_HOUR", "0"),
            ("MAIL_POLL_MILLIS", "soon"),
            ("EVENT_POLL_MILLIS", "0"),
            ("SMTP_URL", "smtp://smtp.example:587?tls=sometimes"),
            ("NATS_URL", "http://127.0.0.1:4222"),
            ("NATS_URL", "nats://127.0.0.1:4222,,"),
            ("NATS_URL", "nats://:4222"),
            ("NATS_SUBJECT_PREFIX", "roster.>"),
            ("NATS_SUBJECT_PREFIX", "roster..x"),
            ("NATS_SUBJECT_PREFIX", "ros ter"),
            ("NATS_STREAM", "ROSTER.EVENTS"),
            ("NATS_STREAM", "a b"),
            ("BRAND_COLOR", "#ffcc00"),
            ("BRAND_COLOR", "blue"),
            ("BRAND_LOGO", "/nonexistent/logo.png"),
            ("BRAND_LOGO", "Cargo.toml"),
            ("BRAND_NAME", "Acme: Accounts"),
            ("TEMPLATES_DIR", "/nonexistent/templates"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{value}");
            assert!(err.to_string().contains(var));
        }
    }

    #[test]
    fn trusted_proxies_are_cidr_blocks_or_addresses_and_empty_by_default() {
        assert!(config(&[]).unwrap().http.trusted_proxies.is_empty());
        let c = config(&[("TRUSTED_PROXIES", " 10.1.2.3/8, 192.168.0.1 ,fd00::/8,")]).unwrap();
        let nets: Vec<String> = c
            .http
            .trusted_proxies
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(nets, ["10.0.0.0/8", "192.168.0.1/32", "fd00::/8"]);
    }

    #[test]
    fn shutdown_drain_request_timeout_redis_prefix_and_db_ping_have_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.http.shutdown_drain, Duration::from_secs(20));
        assert_eq!(c.http.request_timeout, Duration::from_secs(6));
        assert_eq!(c.http.redis_key_prefix, "roster:");
        assert_eq!(c.database.ping_after_idle, Duration::from_secs(1));
        let c = config(&[
            ("DB_PING_IDLE_MILLIS", "0"),
            ("SHUTDOWN_DRAIN_SECONDS", "0"),
            ("REQUEST_TIMEOUT_SECONDS", "30"),
            ("REDIS_KEY_PREFIX", "staging:roster:"),
        ])
        .unwrap();
        assert_eq!(c.http.shutdown_drain, Duration::ZERO);
        assert_eq!(c.http.request_timeout, Duration::from_secs(30));
        assert_eq!(c.http.redis_key_prefix, "staging:roster:");
        assert_eq!(c.database.ping_after_idle, Duration::ZERO);
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
            ("PUBLIC_URL", "https://id.example"),
        ];
        assert!(config(&ok).is_ok());
        assert_eq!(config(&ok[..4]).unwrap_err().variable, "PUBLIC_URL");
        for (public_url, refused) in [
            ("http://id.example", true),
            ("http://10.0.0.7:8001", true),
            ("http://127.0.0.1:8001", false),
            ("http://localhost:8001", false),
            ("http://[::1]:8001", false),
            ("https://id.example/roster", false),
        ] {
            let mut with_url = ok[..4].to_vec();
            with_url.push(("PUBLIC_URL", public_url));
            let result = config(&with_url);
            assert_eq!(
                result.err().map(|e| e.variable),
                refused.then_some("PUBLIC_URL"),
                "{public_url}"
            );
        }
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
                .database
                .url,
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
    fn production_names_every_refused_setting_at_once() {
        let err = config(&[("ROSTER_ENV", "production")]).unwrap_err();
        assert_eq!(err.variable, "ENCRYPTION_KEY");
        let text = err.to_string();
        for variable in [
            "ENCRYPTION_KEY",
            "ALLOWED_ORIGINS",
            "SMTP_URL",
            "PUBLIC_URL",
        ] {
            assert!(text.contains(variable), "{variable} in {text}");
        }
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
        assert!(config(&[]).unwrap().mail.smtp_url.is_none());
        for url in [
            "smtp://user:pass@smtp.example:587?tls=required",
            "smtp://smtp.example:587?tls=opportunistic",
            "smtps://user:pass@smtp.example",
            "smtp://127.0.0.1:2525",
        ] {
            let mut with_smtp = production.to_vec();
            with_smtp.push(("SMTP_URL", url));
            with_smtp.push(("PUBLIC_URL", "https://id.example"));
            assert!(config(&with_smtp).is_ok(), "{url}");
        }
    }

    #[test]
    fn mail_settings_have_defaults_and_an_invalid_smtp_url_hides_its_password() {
        let c = config(&[]).unwrap();
        assert_eq!(c.mail.per_address_per_hour, 5);
        assert_eq!(c.mail.poll_interval, Duration::from_secs(5));
        let err =
            config(&[("SMTP_URL", "smtp://user:hunter2@smtp.example?tls=bogus")]).unwrap_err();
        assert_eq!(err.variable, "SMTP_URL");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let c = config(&[("SMTP_URL", "smtp://user:hunter2@smtp.example")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
