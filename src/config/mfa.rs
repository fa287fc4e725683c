//! Second factors and re-authentication: how recent an authentication must be for the
//! sensitive endpoints, and the WebAuthn relying party passkeys are bound to.

use std::time::Duration;

use super::vars::{ConfigError, Vars, invalid};

#[derive(Debug, Clone)]
pub struct MfaConfig {
    /// A session counts as recently authenticated for this long after its last login or
    /// re-authentication (`REAUTH_MAX_AGE_MINUTES`).
    pub reauth_max_age: Duration,
    /// The WebAuthn relying-party id (`WEBAUTHN_RP_ID`, default the host of `PUBLIC_URL`):
    /// the host of `PUBLIC_URL` or a domain it belongs to.
    pub rp_id: String,
    /// The one origin passkey ceremonies may come from: the origin of `PUBLIC_URL`.
    pub origin: url::Url,
}

impl MfaConfig {
    pub(super) fn parse(vars: &Vars, public_url: &str) -> Result<MfaConfig, ConfigError> {
        let reauth_max_age = vars.duration(
            "REAUTH_MAX_AGE_MINUTES",
            Duration::from_secs(60),
            10,
            1,
            24 * 60,
        )?;
        let url = url::Url::parse(public_url)
            .map_err(|e| invalid("PUBLIC_URL", format!("is not a URL: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| invalid("PUBLIC_URL", "must name a host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let rp_id = match vars.get("WEBAUTHN_RP_ID") {
            None => host.clone(),
            Some(rp_id) => {
                let rp_id = rp_id.to_ascii_lowercase();
                let belongs = host == rp_id || host.ends_with(&format!(".{rp_id}"));
                if !belongs || rp_id.contains(['/', ':', ' ']) {
                    return Err(invalid(
                        "WEBAUTHN_RP_ID",
                        format!(
                            "must be the host of PUBLIC_URL ({host}) or a domain it belongs to, got {rp_id:?}"
                        ),
                    ));
                }
                rp_id
            }
        };
        let origin = url::Url::parse(&url.origin().ascii_serialization())
            .map_err(|e| invalid("PUBLIC_URL", format!("has no origin: {e}")))?;
        Ok(MfaConfig {
            reauth_max_age,
            rp_id,
            origin,
        })
    }

    /// Browsers refuse passkeys for a relying party named by an IP address.
    pub fn rp_id_is_ip_address(&self) -> bool {
        self.rp_id.parse::<std::net::IpAddr>().is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)], public_url: &str) -> Result<MfaConfig, ConfigError> {
        let lookup = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        MfaConfig::parse(&Vars(&lookup), public_url)
    }

    #[test]
    fn relying_party_defaults_to_the_public_host_and_may_be_a_parent_domain() {
        let c = parse(&[], "https://id.example.com").unwrap();
        assert_eq!(c.rp_id, "id.example.com");
        assert_eq!(c.origin.as_str(), "https://id.example.com/");
        assert_eq!(c.reauth_max_age, Duration::from_secs(600));
        let c = parse(
            &[("WEBAUTHN_RP_ID", "example.com")],
            "https://id.example.com",
        )
        .unwrap();
        assert_eq!(c.rp_id, "example.com");
        assert!(parse(&[("WEBAUTHN_RP_ID", "evil.com")], "https://id.example.com").is_err());
        assert!(parse(&[("WEBAUTHN_RP_ID", "ample.com")], "https://id.example.com").is_err());
        assert!(
            parse(&[], "http://127.0.0.1:8001")
                .unwrap()
                .rp_id_is_ip_address()
        );
        assert!(parse(&[("REAUTH_MAX_AGE_MINUTES", "0")], "http://localhost").is_err());
    }
}
