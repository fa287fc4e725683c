//! Where a webhook may point: `https` to a public address, never a loopback, private,
//! link-local or multicast one (after DNS), unless `WEBHOOK_ALLOW_HOSTS` names the host
//! or covers the address; those may also use `http`. Checked when a webhook is saved
//! and again at each delivery attempt, whose connection also goes only to addresses
//! [`admits`] (see `super::transport`).

use std::net::IpAddr;

use url::{Host, Url};

/// How long a target's host name may take to resolve.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

use crate::config::AllowedHosts;

/// Checks `text` as a webhook target; the error says why it is refused.
pub async fn check(text: &str, allow: &AllowedHosts) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("is not a URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    let host = url.host().ok_or_else(|| "must name a host".to_owned())?;
    let named_allowed = matches!(&host, Host::Domain(name) if allow.allows_name(name));
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<IpAddr> = match &host {
        Host::Ipv4(address) => vec![IpAddr::V4(*address)],
        Host::Ipv6(address) => vec![IpAddr::V6(*address)],
        Host::Domain(name) => {
            let unresolved = || format!("has a host, {name}, that does not resolve");
            tokio::time::timeout(
                RESOLVE_TIMEOUT,
                tokio::net::lookup_host((name.to_string(), port)),
            )
            .await
            .map_err(|_| unresolved())?
            .map_err(|_| unresolved())?
            .map(|socket| socket.ip())
            .collect()
        }
    };
    if addresses.is_empty() && !named_allowed {
        return Err("has a host that resolves to no address".into());
    }
    let all_allowed = named_allowed
        || (!addresses.is_empty() && addresses.iter().all(|a| allow.allows_address(*a)));
    match url.scheme() {
        "https" => {}
        "http" if all_allowed => {}
        _ => return Err("must be an https URL".into()),
    }
    if !all_allowed && let Some(address) = addresses.iter().find(|a| !is_public(**a)) {
        return Err(format!(
            "points at {address}, which is not a public address (WEBHOOK_ALLOW_HOSTS may admit it)"
        ));
    }
    Ok(url)
}

/// Whether a delivery may connect to `address`, found for host `host`: a public
/// address, or one `WEBHOOK_ALLOW_HOSTS` admits (by the host's name or by range).
pub fn admits(allow: &AllowedHosts, host: &str, address: IpAddr) -> bool {
    allow.allows_name(host) || allow.allows_address(address) || is_public(address)
}

/// Whether `address` is reachable on the internet: not loopback, private, link-local,
/// multicast, unspecified, shared (CGNAT), documentation or broadcast.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "224.0.0.1",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
