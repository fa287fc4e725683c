//! Serving HTTP: the address, the public URL, CORS, trusted proxies, deadlines, and the
//! per-client budget of the authentication endpoints (shared through Redis when set).

use std::net::IpAddr;
use std::time::Duration;

use super::vars::{ConfigError, Secret, Vars, invalid};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    Any,
    List(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub host: IpAddr,
    pub port: u16,
    /// Where users and other services reach Roster (`PUBLIC_URL`, without a trailing
    /// slash); links in mails and the default token issuer are built from it.
    pub public_url: String,
    /// Whether `PUBLIC_URL` was set (unset, each instance's default is its own address).
    pub public_url_configured: bool,
    pub allowed_origins: AllowedOrigins,
    /// Peers whose `X-Forwarded-For`/`Forwarded` headers are believed (`TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long in-flight requests may run on after SIGTERM (`SHUTDOWN_DRAIN_SECONDS`).
    pub shutdown_drain: Duration,
    /// The longest a request may take before it is answered 503 (`REQUEST_TIMEOUT_SECONDS`).
    pub request_timeout: Duration,
    /// Requests per client address and minute to the authentication endpoints
    /// (`RATE_LIMIT_AUTH_PER_MINUTE`).
    pub rate_limit_auth_per_minute: u32,
    /// Shares the rate-limit counters between instances (`REDIS_URL`).
    pub redis_url: Option<Secret>,
    /// Prefix of every Redis key Roster writes (`REDIS_KEY_PREFIX`).
    pub redis_key_prefix: String,
    /// Where `/metrics` and `/db/status` are served instead of the public port
    /// (`METRICS_ADDRESS`, e.g. `127.0.0.1:9464`); unset, on the public port.
    pub metrics_address: Option<std::net::SocketAddr>,
}

/// Whether `url` is `https`, or plain `http` to a loopback host (127.0.0.0/8, `[::1]`,
/// `localhost`), the only origins where cookies without `Secure` stay on the machine.
pub(super) fn is_https_or_loopback(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    match (parsed.scheme(), parsed.host()) {
        ("https", Some(_)) => true,
        ("http", Some(url::Host::Ipv4(ip))) => ip.is_loopback(),
        ("http", Some(url::Host::Ipv6(ip))) => ip.is_loopback(),
        ("http", Some(url::Host::Domain(name))) => name.eq_ignore_ascii_case("localhost"),
        _ => false,
    }
}

impl HttpConfig {
    pub(super) fn parse(vars: &Vars) -> Result<HttpConfig, ConfigError> {
        let host: IpAddr = vars.parse("HOST", IpAddr::from([127, 0, 0, 1]))?;
        let port = vars.number("PORT", 8001, 0, 65_535)? as u16;
        let public_url_configured = vars.get("PUBLIC_URL").is_some();
        let public_url = vars
            .get("PUBLIC_URL")
            .map(|url| url.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{}:{port}", display_host(host)));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(invalid("PUBLIC_URL", "must start with http:// or https://"));
        }
        let redis_url = vars.get("REDIS_URL");
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(invalid(
                "REDIS_URL",
                "must start with redis:// or rediss://",
            ));
        }
        let redis_key_prefix = vars
            .get("REDIS_KEY_PREFIX")
            .unwrap_or_else(|| "roster:".to_owned());
        if redis_key_prefix.len() > 100 || redis_key_prefix.chars().any(char::is_whitespace) {
            return Err(invalid(
                "REDIS_KEY_PREFIX",
                "must be at most 100 characters without spaces",
            ));
        }
        let metrics_address = match vars.get("METRICS_ADDRESS") {
            None => None,
            Some(text) => Some(text.parse().map_err(|_| {
                invalid(
                    "METRICS_ADDRESS",
                    format!("{text:?} is not an address and port such as 127.0.0.1:9464"),
                )
            })?),
        };
        Ok(HttpConfig {
            metrics_address,
            host,
            port,
            public_url,
            public_url_configured,
            allowed_origins: parse_allowed_origins(vars.get("ALLOWED_ORIGINS"))?,
            trusted_proxies: parse_trusted_proxies(vars.get("TRUSTED_PROXIES"))?,
            shutdown_drain: vars.duration(
                "SHUTDOWN_DRAIN_SECONDS",
                Duration::from_secs(1),
                20,
                0,
                3_600,
            )?,
            request_timeout: vars.duration(
                "REQUEST_TIMEOUT_SECONDS",
                Duration::from_secs(1),
                6,
                1,
                600,
            )?,
            rate_limit_auth_per_minute: vars.number(
                "RATE_LIMIT_AUTH_PER_MINUTE",
                60,
                1,
                1_000_000,
            )? as u32,
            redis_url: redis_url.map(Secret::new),
            redis_key_prefix,
        })
    }
}

fn display_host(host: IpAddr) -> String {
    match host {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

fn parse_allowed_origins(raw: Option<String>) -> Result<AllowedOrigins, ConfigError> {
    let list = match raw {
        None => return Ok(AllowedOrigins::Any),
        Some(v) if v == "*" => return Ok(AllowedOrigins::Any),
        Some(v) => v,
    };
    let origins: Vec<String> = list
        .split(',')
        .map(|o| o.trim().trim_end_matches('/').to_owned())
        .filter(|o| !o.is_empty())
        .collect();
    for origin in &origins {
        if !(origin.starts_with("http://") || origin.starts_with("https://")) || origin == "*" {
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
    Ok(AllowedOrigins::List(origins))
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
