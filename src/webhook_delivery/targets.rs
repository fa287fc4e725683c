//! Where a webhook may point: `https` to a public address, never a loopback, private,
//! link-local or multicast one (after DNS), unless `WEBHOOK_ALLOW_HOSTS` names the host
//! or covers the address; those may also use `http`. Checked when a webhook is saved
//! ([`check`]) and again at each delivery attempt: [`deliverable`] before it (the URL's
//! form, and a literal address), and the connection's resolver on the addresses the
//! host name has then, which are the ones connected to ([`admits`], see
//! `super::transport`).

use std::net::IpAddr;

use url::{Host, Url};

use super::resolver::HostResolver;
use crate::config::AllowedHosts;
use crate::error::Why;
use crate::i18n::message_key;

/// Checks `text` as a webhook target when it is saved, resolving its host with
/// `resolver`; the error says why it is refused.
pub async fn check(text: &str, allow: &AllowedHosts, resolver: &HostResolver) -> Result<Url, Why> {
    let url = parse(text)?;
    let host = url
        .host()
        .ok_or_else(|| Why::new("must name a host", message_key("field-url-host")))?;
    let named_allowed = matches!(&host, Host::Domain(name) if allow.allows_name(name));
    let addresses: Vec<IpAddr> = match &host {
        Host::Ipv4(address) => vec![IpAddr::V4(*address)],
        Host::Ipv6(address) => vec![IpAddr::V6(*address)],
        Host::Domain(name) => resolver.lookup(name).await.map_err(|_| {
            Why::new(
                format!("has a host, {name}, that does not resolve"),
                message_key("field-webhook-host-unresolved"),
            )
            .with("host", name)
        })?,
    };
    if addresses.is_empty() && !named_allowed {
        return Err(Why::new(
            "has a host that resolves to no address",
            message_key("field-webhook-host-no-address"),
        ));
    }
    let all_allowed = named_allowed
        || (!addresses.is_empty() && addresses.iter().all(|a| allow.allows_address(*a)));
    match url.scheme() {
        "https" => {}
        "http" if all_allowed => {}
        _ => {
            return Err(Why::new(
                "must be an https URL",
                message_key("field-webhook-https"),
            ));
        }
    }
    if !all_allowed && let Some(address) = addresses.iter().find(|a| !is_public(**a)) {
        return Err(Why::new(
            format!(
                "points at {address}, which is not a public address (WEBHOOK_ALLOW_HOSTS may admit it)"
            ),
            message_key("field-webhook-not-public"),
        )
        .with("address", address));
    }
    Ok(url)
}

/// A saved target as a delivery goes to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: Url,
    /// `http`: only to addresses `WEBHOOK_ALLOW_HOSTS` admits, public ones included.
    pub plain_http: bool,
}

/// Checks a saved target again before a delivery, without DNS: its form, and a
/// literal address as the resolver would check it (the connector does not resolve
/// those). A host name's addresses are checked by the connection's resolver, on the
/// addresses it then connects to, so a name that resolves elsewhere since it was saved
/// is refused there.
pub fn deliverable(text: &str, allow: &AllowedHosts) -> Result<Target, String> {
    let url = parse(text).map_err(|why| why.message)?;
    let plain_http = match url.scheme() {
        "https" => false,
        "http" => true,
        _ => return Err("must be an https URL".into()),
    };
    let literal = match url.host() {
        Some(Host::Ipv4(address)) => Some(IpAddr::V4(address)),
        Some(Host::Ipv6(address)) => Some(IpAddr::V6(address)),
        Some(Host::Domain(_)) => None,
        None => return Err("must name a host".into()),
    };
    if let Some(address) = literal
        && !admits(allow, "", address, plain_http)
    {
        return Err(refusal(&address.to_string(), &[address], plain_http));
    }
    Ok(Target { url, plain_http })
}

/// Whether a delivery may connect to `address`, found for host `host`: one that
/// `WEBHOOK_ALLOW_HOSTS` admits (by the host's name or by range), or over `https` also
/// a public one.
pub fn admits(allow: &AllowedHosts, host: &str, address: IpAddr, plain_http: bool) -> bool {
    allow.allows_name(host) || allow.allows_address(address) || (!plain_http && is_public(address))
}

/// Why a delivery to `host`, found at `addresses`, is refused (`last_error`).
pub fn refusal(host: &str, addresses: &[IpAddr], plain_http: bool) -> String {
    let listed = if addresses.is_empty() {
        "no address".to_owned()
    } else {
        addresses
            .iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let at = if host == listed {
        format!("refused: the URL points at {listed}")
    } else {
        format!("refused: {host} resolves to {listed}")
    };
    if plain_http {
        format!(
            "{at}, which WEBHOOK_ALLOW_HOSTS does not admit (only hosts it admits may use http, others must use https); nothing was sent"
        )
    } else {
        format!(
            "{at}, which is not a public address (WEBHOOK_ALLOW_HOSTS may admit it); nothing was sent"
        )
    }
}

/// The URL's form: parseable, no credentials, no fragment.
fn parse(text: &str) -> Result<Url, Why> {
    let url = Url::parse(text).map_err(|e| {
        Why::new(
            format!("is not a URL ({e})"),
            message_key("field-webhook-url"),
        )
        .with("problem", e)
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Why::new(
            "must not carry credentials",
            message_key("field-url-credentials"),
        ));
    }
    if url.fragment().is_some() {
        return Err(Why::new(
            "must not have a fragment",
            message_key("field-url-fragment"),
        ));
    }
    Ok(url)
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

    fn allowing(list: &str) -> AllowedHosts {
        let vars =
            std::collections::HashMap::from([("WEBHOOK_ALLOW_HOSTS".to_owned(), list.to_owned())]);
        crate::config::Config::from_map(&vars)
            .unwrap()
            .webhooks
            .allow
    }

    #[test]
    fn a_delivery_checks_the_form_and_literal_addresses_and_leaves_names_to_the_resolver() {
        let none = allowing("");
        let target = deliverable("https://hooks.example/in", &none).unwrap();
        assert!(!target.plain_http);
        assert!(
            deliverable("http://hooks.example/in", &none)
                .unwrap()
                .plain_http
        );
        assert!(deliverable("https://93.184.216.34/in", &none).is_ok());
        let private = deliverable("https://10.1.2.3/in", &none).unwrap_err();
        assert!(
            private
                .starts_with("refused: the URL points at 10.1.2.3, which is not a public address"),
            "{private}"
        );
        let plain = deliverable("http://93.184.216.34/in", &none).unwrap_err();
        assert!(plain.contains("must use https"), "{plain}");
        assert!(deliverable("ftp://hooks.example/", &none).is_err());
        assert!(deliverable("https://user:pw@hooks.example/", &none).is_err());
        let ranges = allowing("10.0.0.0/8");
        assert!(
            deliverable("http://10.1.2.3/in", &ranges)
                .unwrap()
                .plain_http
        );
    }

    #[test]
    fn http_reaches_only_admitted_addresses_and_https_public_ones_too() {
        let allow = allowing("hooks.internal, 10.0.0.0/8");
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        let private: IpAddr = "192.168.1.1".parse().unwrap();
        let ranged: IpAddr = "10.1.2.3".parse().unwrap();
        assert!(admits(&allow, "a.example", public, false));
        assert!(!admits(&allow, "a.example", public, true));
        assert!(!admits(&allow, "a.example", private, false));
        assert!(admits(&allow, "a.example", ranged, true));
        assert!(admits(&allow, "hooks.internal", private, true));
    }
}
