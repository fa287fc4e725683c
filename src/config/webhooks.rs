//! Webhooks: which targets an administrator may point one at besides public `https`
//! addresses (`WEBHOOK_ALLOW_HOSTS`), and how deliveries go out: the timeout of one
//! request, the retry schedule, how many requests at once, and when a failing endpoint
//! is disabled.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use super::vars::{ConfigError, Vars, invalid};

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// `WEBHOOK_ALLOW_HOSTS`: host names, addresses and CIDR ranges that may be
    /// targets although private or loopback, and may use `http`.
    pub allow: AllowedHosts,
    /// `WEBHOOK_TIMEOUT_SECONDS` (15): the longest one delivery request may take.
    pub timeout: Duration,
    /// `WEBHOOK_RETRY_SCHEDULE` (`5s,5m,30m,2h,5h,10h,10h`): the wait before each retry.
    pub retry_schedule: Vec<chrono::Duration>,
    /// `WEBHOOK_MAX_IN_FLIGHT` (32): delivery requests this instance has open at once;
    /// 0 makes an instance that sends none (others on the database do).
    pub max_in_flight: usize,
    /// `WEBHOOK_DISABLE_AFTER_HOURS` (120): an endpoint failing without a success this
    /// long is disabled and the administrators are mailed.
    pub disable_after: chrono::Duration,
}

const DEFAULT_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";
const MAX_RETRIES: usize = 50;

/// Host names (lower case), and address ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    names: Vec<String>,
    ranges: Vec<IpNet>,
}

impl AllowedHosts {
    pub fn allows_name(&self, host: &str) -> bool {
        self.names
            .iter()
            .any(|name| name.eq_ignore_ascii_case(host))
    }

    pub fn allows_address(&self, address: IpAddr) -> bool {
        self.ranges.iter().any(|range| range.contains(&address))
    }
}

impl WebhookConfig {
    pub(super) fn parse(vars: &Vars) -> Result<WebhookConfig, ConfigError> {
        let mut allow = AllowedHosts::default();
        let listed = vars.get("WEBHOOK_ALLOW_HOSTS").unwrap_or_default();
        for entry in listed.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if let Ok(range) = entry.parse::<IpNet>() {
                allow.ranges.push(range);
            } else if let Ok(address) = entry.trim_matches(['[', ']']).parse::<IpAddr>() {
                allow.ranges.push(IpNet::from(address));
            } else if entry
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                allow.names.push(entry.to_ascii_lowercase());
            } else {
                return Err(invalid(
                    "WEBHOOK_ALLOW_HOSTS",
                    format!("{entry:?} is not a host name, an address or a CIDR range"),
                ));
            }
        }
        let schedule_text = vars
            .get("WEBHOOK_RETRY_SCHEDULE")
            .unwrap_or_else(|| DEFAULT_SCHEDULE.to_owned());
        let retry_schedule = parse_schedule(&schedule_text)
            .map_err(|message| invalid("WEBHOOK_RETRY_SCHEDULE", message))?;
        let hours = vars.number("WEBHOOK_DISABLE_AFTER_HOURS", 120, 1, 24 * 365)?;
        Ok(WebhookConfig {
            allow,
            timeout: vars.duration(
                "WEBHOOK_TIMEOUT_SECONDS",
                Duration::from_secs(1),
                15,
                1,
                300,
            )?,
            retry_schedule,
            max_in_flight: vars.number("WEBHOOK_MAX_IN_FLIGHT", 32, 0, 1024)? as usize,
            disable_after: chrono::Duration::hours(hours as i64),
        })
    }
}

impl Default for WebhookConfig {
    fn default() -> WebhookConfig {
        WebhookConfig {
            allow: AllowedHosts::default(),
            timeout: Duration::from_secs(15),
            retry_schedule: parse_schedule(DEFAULT_SCHEDULE).unwrap_or_default(),
            max_in_flight: 32,
            disable_after: chrono::Duration::hours(120),
        }
    }
}

/// `5s,5m,30m,2h`: waits in seconds, minutes, hours or days, comma-separated, at least
/// one, each from 1 s to 30 days.
fn parse_schedule(text: &str) -> Result<Vec<chrono::Duration>, String> {
    let mut waits = Vec::new();
    for entry in text.split(',').map(str::trim) {
        let bad = || {
            format!(
                "{entry:?} is not a wait: write a whole number followed by s, m, h or d \
                 (e.g. 5s,5m,30m,2h), separated by commas"
            )
        };
        let split = entry.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (number, unit) = entry.split_at(split);
        let number: i64 = number.parse().map_err(|_| bad())?;
        let wait = match unit {
            "s" => chrono::Duration::seconds(number),
            "m" => chrono::Duration::minutes(number),
            "h" => chrono::Duration::hours(number),
            "d" => chrono::Duration::days(number),
            _ => return Err(bad()),
        };
        if wait < chrono::Duration::seconds(1) || wait > chrono::Duration::days(30) {
            return Err(format!("{entry:?} must be from 1s to 30d"));
        }
        waits.push(wait);
    }
    if waits.len() > MAX_RETRIES {
        return Err(format!("may list at most {MAX_RETRIES} waits"));
    }
    Ok(waits)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::config::Config;

    fn allow(value: &str) -> Result<Config, crate::config::ConfigError> {
        let vars = HashMap::from([("WEBHOOK_ALLOW_HOSTS".to_owned(), value.to_owned())]);
        Config::from_map(&vars)
    }

    fn with(name: &str, value: &str) -> Result<Config, crate::config::ConfigError> {
        Config::from_map(&HashMap::from([(name.to_owned(), value.to_owned())]))
    }

    #[test]
    fn delivery_settings_have_defaults_and_a_bad_value_names_its_variable() {
        let webhooks = Config::from_map(&HashMap::new()).unwrap().webhooks;
        let waits: Vec<i64> = webhooks
            .retry_schedule
            .iter()
            .map(|w| w.num_seconds())
            .collect();
        assert_eq!(waits, [5, 300, 1800, 7200, 18000, 36000, 36000]);
        assert_eq!(webhooks.timeout.as_secs(), 15);
        assert_eq!(webhooks.max_in_flight, 32);
        assert_eq!(webhooks.disable_after.num_hours(), 120);
        let custom = with("WEBHOOK_RETRY_SCHEDULE", "1s, 2m,3d").unwrap();
        assert_eq!(custom.webhooks.retry_schedule.len(), 3);
        for (name, bad) in [
            ("WEBHOOK_RETRY_SCHEDULE", "5s,,5m"),
            ("WEBHOOK_RETRY_SCHEDULE", "5x"),
            ("WEBHOOK_RETRY_SCHEDULE", "s"),
            ("WEBHOOK_RETRY_SCHEDULE", "0s"),
            ("WEBHOOK_RETRY_SCHEDULE", "31d"),
            ("WEBHOOK_TIMEOUT_SECONDS", "0"),
            ("WEBHOOK_MAX_IN_FLIGHT", "many"),
            ("WEBHOOK_DISABLE_AFTER_HOURS", "0"),
        ] {
            assert_eq!(with(name, bad).unwrap_err().variable, name, "{bad}");
        }
    }

    #[test]
    fn allowed_hosts_are_names_addresses_and_ranges_and_a_bad_one_names_the_variable() {
        let config = allow("hooks.internal, 127.0.0.1, 10.0.0.0/8, [::1]").unwrap();
        let allowed = &config.webhooks.allow;
        assert!(allowed.allows_name("HOOKS.internal"));
        assert!(!allowed.allows_name("other.internal"));
        for address in ["127.0.0.1", "10.200.0.1", "::1"] {
            assert!(
                allowed.allows_address(address.parse().unwrap()),
                "{address}"
            );
        }
        assert!(!allowed.allows_address("192.168.0.1".parse().unwrap()));
        for bad in ["http://x", "10.0.0.0/99", "a b"] {
            assert_eq!(
                allow(bad).unwrap_err().variable,
                "WEBHOOK_ALLOW_HOSTS",
                "{bad}"
            );
        }
    }
}
