//! Webhooks: which targets an administrator may point one at besides public `https`
//! addresses (`WEBHOOK_ALLOW_HOSTS`).

use std::net::IpAddr;

use ipnet::IpNet;

use super::vars::{ConfigError, Vars, invalid};

#[derive(Debug, Clone, Default)]
pub struct WebhookConfig {
    /// `WEBHOOK_ALLOW_HOSTS`: host names, addresses and CIDR ranges that may be
    /// targets although private or loopback, and may use `http`.
    pub allow: AllowedHosts,
}

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
        Ok(WebhookConfig { allow })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::config::Config;

    fn allow(value: &str) -> Result<Config, crate::config::ConfigError> {
        let vars = HashMap::from([("WEBHOOK_ALLOW_HOSTS".to_owned(), value.to_owned())]);
        Config::from_map(&vars)
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
