//! Publishing events to NATS JetStream: where the server is (`NATS_URL`, unset: no
//! publishing), the subjects' prefix (`NATS_SUBJECT_PREFIX`) and the stream
//! (`NATS_STREAM`).

use super::vars::{ConfigError, Secret, Vars, invalid};

#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// `NATS_URL`: one server or several, comma-separated (`nats://host:4222`,
    /// `tls://...`); it may carry a user and password, so it never reaches a log.
    pub url: Option<Secret>,
    /// `NATS_SUBJECT_PREFIX` (`roster`): events go to `PREFIX.TYPE`.
    pub subject_prefix: String,
    /// `NATS_STREAM` (`ROSTER_EVENTS`): the stream over `PREFIX.>`, created if missing.
    pub stream: String,
}

const SCHEMES: [&str; 4] = ["nats", "tls", "ws", "wss"];

impl NatsConfig {
    /// The servers of `NATS_URL`, one entry each.
    pub fn servers(&self) -> Vec<String> {
        self.url.as_ref().map_or_else(Vec::new, |url| {
            url.expose()
                .split(',')
                .map(|entry| entry.trim().to_owned())
                .collect()
        })
    }

    pub(super) fn parse(vars: &Vars) -> Result<NatsConfig, ConfigError> {
        let url = match vars.get("NATS_URL") {
            None => None,
            Some(url) => {
                check_servers(&url).map_err(|m| invalid("NATS_URL", m))?;
                Some(Secret::new(url))
            }
        };
        let subject_prefix = vars
            .get("NATS_SUBJECT_PREFIX")
            .unwrap_or_else(|| "roster".to_owned());
        check_prefix(&subject_prefix).map_err(|m| invalid("NATS_SUBJECT_PREFIX", m))?;
        let stream = vars
            .get("NATS_STREAM")
            .unwrap_or_else(|| "ROSTER_EVENTS".to_owned());
        check_stream(&stream).map_err(|m| invalid("NATS_STREAM", m))?;
        Ok(NatsConfig {
            url,
            subject_prefix,
            stream,
        })
    }
}

/// Every comma-separated entry is a `host:port` or a URL with a NATS scheme. The message
/// never repeats the value (it may hold a password).
fn check_servers(list: &str) -> Result<(), String> {
    for (index, entry) in list.split(',').map(str::trim).enumerate() {
        let number = index + 1;
        if entry.is_empty() {
            return Err(format!("server {number} of the list is empty"));
        }
        let with_scheme = if entry.contains("://") {
            entry.to_owned()
        } else {
            format!("nats://{entry}")
        };
        let url = url::Url::parse(&with_scheme)
            .map_err(|e| format!("server {number} is not a URL or host:port ({e})"))?;
        if !SCHEMES.contains(&url.scheme()) {
            return Err(format!(
                "server {number} has the scheme {:?}; use one of {}",
                url.scheme(),
                SCHEMES.join(", ")
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("server {number} names no host"));
        }
    }
    Ok(())
}

/// Dot-separated tokens of letters, digits, `-` and `_` (no wildcards, no spaces).
fn check_prefix(prefix: &str) -> Result<(), String> {
    let token_ok = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if prefix.len() > 100 || !prefix.split('.').all(token_ok) {
        return Err(format!(
            "{prefix:?} is not a subject prefix (dot-separated words of letters, digits, - and _; no wildcards)"
        ));
    }
    Ok(())
}

/// A JetStream stream name: letters, digits, `-` and `_`, at most 64 characters.
fn check_stream(name: &str) -> Result<(), String> {
    if name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "{name:?} is not a stream name (letters, digits, - and _, at most 64 characters)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::tests::config;

    #[test]
    fn publishing_is_off_by_default_with_the_contracts_prefix_and_stream() {
        let nats = config(&[]).unwrap().nats;
        assert!(nats.url.is_none());
        assert_eq!(nats.subject_prefix, "roster");
        assert_eq!(nats.stream, "ROSTER_EVENTS");
        let nats = config(&[
            ("NATS_URL", "nats://user:pw@127.0.0.1:4222, 10.0.0.2:4222"),
            ("NATS_SUBJECT_PREFIX", "acme.roster"),
            ("NATS_STREAM", "ACME-EVENTS"),
        ])
        .unwrap()
        .nats;
        assert!(nats.url.is_some());
        assert_eq!(nats.subject_prefix, "acme.roster");
        assert_eq!(nats.stream, "ACME-EVENTS");
    }

    #[test]
    fn a_bad_url_is_refused_without_repeating_its_password() {
        // The other bad values are in `config::tests::a_bad_value_names_its_variable`.
        let error = config(&[("NATS_URL", "http://user:hunter2@nats:4222")]).unwrap_err();
        assert_eq!(error.variable, "NATS_URL");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}
