//! The delivery request over reqwest: a timeout (`WEBHOOK_TIMEOUT_SECONDS`), no
//! redirects (a 3xx is an answer like any other non-2xx), no proxy, and a resolver that
//! hands the connector only addresses [`targets::admits`]: the rule on private
//! addresses holds after DNS, on the address actually connected, at every attempt.

use std::error::Error as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};

use super::targets;
use crate::config::AllowedHosts;

/// How long a delivery's host name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
/// `last_error` is kept short.
pub const MAX_ERROR_LEN: usize = 500;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The endpoint answered with `status`; `retry_after` is its `Retry-After` header.
    Answered {
        status: u16,
        retry_after: Option<String>,
    },
    /// No answer: refused target, connection error, timeout (why, without the URL).
    Failed(String),
}

pub struct Transport {
    client: reqwest::Client,
    timeout: Duration,
}

impl Transport {
    pub fn new(timeout: Duration, allow: AllowedHosts) -> anyhow::Result<Transport> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("Roster-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver { allow }))
            .build()?;
        Ok(Transport { client, timeout })
    }

    /// POSTs `body` to `url` with the Standard Webhooks headers.
    pub async fn post(
        &self,
        url: &str,
        id: &str,
        timestamp: i64,
        signature: &str,
        body: Vec<u8>,
    ) -> Attempt {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let timestamp = timestamp.to_string();
        let values: [(&'static str, &str); 3] = [
            ("webhook-id", id),
            ("webhook-timestamp", &timestamp),
            ("webhook-signature", signature),
        ];
        for (name, value) in values {
            match HeaderValue::from_str(value) {
                Ok(value) => {
                    headers.insert(name, value);
                }
                Err(_) => return Attempt::Failed(format!("the {name} header cannot be made")),
            }
        }
        let sent = self
            .client
            .post(url)
            .headers(headers)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => Attempt::Answered {
                status: response.status().as_u16(),
                retry_after: response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            },
            Err(e) if e.is_timeout() => Attempt::Failed(format!(
                "no answer within {} s (WEBHOOK_TIMEOUT_SECONDS)",
                self.timeout.as_secs()
            )),
            Err(e) => Attempt::Failed(describe(e)),
        }
    }
}

/// The error and its causes, without the URL (which may carry a token of the receiver).
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text.chars().take(MAX_ERROR_LEN).collect()
}

/// Resolves with the system resolver and keeps only admitted addresses.
struct GuardedResolver {
    allow: AllowedHosts,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(admitted_addresses(
            self.allow.clone(),
            name.as_str().to_owned(),
        ))
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The addresses of `host` a delivery may connect to; an error naming the refused ones
/// when there are none.
async fn admitted_addresses(allow: AllowedHosts, host: String) -> Result<Addrs, BoxError> {
    let found: Vec<SocketAddr> =
        tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host.as_str(), 0)))
            .await
            .map_err(|_| {
                format!(
                    "{host} did not resolve within {} s",
                    RESOLVE_TIMEOUT.as_secs()
                )
            })?
            .map_err(|e| format!("{host} does not resolve: {e}"))?
            .collect();
    let (admitted, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = found
        .into_iter()
        .partition(|address| targets::admits(&allow, &host, address.ip()));
    if admitted.is_empty() {
        let refused: Vec<String> = refused.iter().map(|a| a.ip().to_string()).collect();
        let listed = if refused.is_empty() {
            "no address".to_owned()
        } else {
            refused.join(", ")
        };
        return Err(format!(
            "refused: {host} resolves to {listed}, which is not a public address (WEBHOOK_ALLOW_HOSTS may admit it)"
        )
        .into());
    }
    Ok(Box::new(admitted.into_iter()))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn resolve(allow: &str, host: &str) -> Result<Vec<SocketAddr>, String> {
        let vars =
            std::collections::HashMap::from([("WEBHOOK_ALLOW_HOSTS".to_owned(), allow.to_owned())]);
        let config = crate::config::Config::from_map(&vars).unwrap();
        let resolver = GuardedResolver {
            allow: config.webhooks.allow,
        };
        let name: Name = host.parse().unwrap();
        resolver
            .resolve(name)
            .await
            .map(|addresses| addresses.collect())
            .map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn the_resolver_hands_over_only_admitted_addresses() {
        let refused = resolve("", "localhost").await.unwrap_err();
        assert!(refused.contains("not a public address"), "{refused}");
        let by_name = resolve("localhost", "localhost").await.unwrap();
        assert!(by_name.iter().all(|a| a.ip().is_loopback()) && !by_name.is_empty());
        let by_range = resolve("127.0.0.0/8", "localhost").await.unwrap();
        assert!(by_range.iter().all(|a| a.ip().is_ipv4()), "{by_range:?}");
    }
}
