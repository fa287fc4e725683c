//! How webhook targets' host names become addresses, for the check when an endpoint is
//! saved and for the connection of every delivery: the system's resolver, or a table
//! given when the application is built. Tests give a table (as they give a manual
//! clock): its answers can change between the save and a delivery, as a rebinding DNS
//! server's do.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a host name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Default)]
pub enum HostResolver {
    /// The system's resolver (`getaddrinfo`: `/etc/hosts`, then DNS).
    #[default]
    System,
    /// Only the names in the table; any other name does not resolve.
    Table(HostTable),
}

/// Host names (lower case) and their addresses, changeable while the application runs.
#[derive(Debug, Clone, Default)]
pub struct HostTable(Arc<Mutex<HashMap<String, Vec<IpAddr>>>>);

impl HostTable {
    /// From now on `name` resolves to `addresses`.
    pub fn set(&self, name: &str, addresses: &[IpAddr]) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_ascii_lowercase(), addresses.to_vec());
    }

    fn get(&self, name: &str) -> Option<Vec<IpAddr>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&name.to_ascii_lowercase())
            .cloned()
    }
}

impl HostResolver {
    /// The addresses of `host`, or why it does not resolve (naming the host).
    pub async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        match self {
            HostResolver::System => {
                let found =
                    tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, 0)))
                        .await
                        .map_err(|_| {
                            format!(
                                "{host} did not resolve within {} s",
                                RESOLVE_TIMEOUT.as_secs()
                            )
                        })?
                        .map_err(|e| format!("{host} does not resolve: {e}"))?;
                Ok(found.map(|socket| socket.ip()).collect())
            }
            HostResolver::Table(table) => table
                .get(host)
                .ok_or_else(|| format!("{host} does not resolve: not in the host table")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_table_answers_what_it_was_last_told_and_nothing_else() {
        let table = HostTable::default();
        let resolver = HostResolver::Table(table.clone());
        table.set("Hooks.Example", &["93.184.216.34".parse().unwrap()]);
        assert_eq!(
            resolver.lookup("hooks.example").await.unwrap(),
            ["93.184.216.34".parse::<IpAddr>().unwrap()]
        );
        table.set("hooks.example", &["127.0.0.1".parse().unwrap()]);
        assert_eq!(
            resolver.lookup("HOOKS.example").await.unwrap(),
            ["127.0.0.1".parse::<IpAddr>().unwrap()]
        );
        let unknown = resolver.lookup("elsewhere.example").await.unwrap_err();
        assert!(unknown.contains("elsewhere.example"), "{unknown}");
        let system = HostResolver::System.lookup("localhost").await.unwrap();
        assert!(system.iter().all(IpAddr::is_loopback) && !system.is_empty());
    }
}
