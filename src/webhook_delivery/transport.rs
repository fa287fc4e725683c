//! The delivery request over reqwest: a timeout (`WEBHOOK_TIMEOUT_SECONDS`), no
//! redirects (a 3xx is an answer like any other non-2xx), no proxy, and a resolver that
//! hands the connector only addresses [`targets::admits`]: the rule on private
//! addresses holds after DNS, on the address actually connected, at every attempt. The
//! host name is resolved once per attempt, there, so no answer that changed since a
//! check can slip through. One client for `https` (public addresses too) and one for
//! `http` (only admitted ones).

use std::error::Error as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};

use super::resolver::HostResolver;
use super::targets::{self, Target};
use crate::config::AllowedHosts;

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
    https: reqwest::Client,
    http: reqwest::Client,
    timeout: Duration,
}

impl Transport {
    pub fn new(
        timeout: Duration,
        allow: AllowedHosts,
        resolver: HostResolver,
    ) -> anyhow::Result<Transport> {
        let client = |plain_http: bool| {
            let guarded = GuardedResolver {
                allow: allow.clone(),
                resolver: resolver.clone(),
                plain_http,
            };
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .user_agent(concat!("Roster-Webhooks/", env!("CARGO_PKG_VERSION")))
                .dns_resolver(Arc::new(guarded))
                .build()
        };
        Ok(Transport {
            https: client(false)?,
            http: client(true)?,
            timeout,
        })
    }

    /// POSTs `body` to `target` with the Standard Webhooks headers.
    pub async fn post(
        &self,
        target: &Target,
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
        let client = if target.plain_http {
            &self.http
        } else {
            &self.https
        };
        let sent = client
            .post(target.url.clone())
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
            Err(e) => Attempt::Failed(refused(&e).unwrap_or_else(|| describe(e))),
        }
    }
}

/// The resolver's refusal, when that is why no connection was made.
fn refused(error: &reqwest::Error) -> Option<String> {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return Some(refused.0.clone());
        }
        source = cause.source();
    }
    None
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

/// Resolves with the configured resolver and keeps only admitted addresses.
struct GuardedResolver {
    allow: AllowedHosts,
    resolver: HostResolver,
    plain_http: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(admitted_addresses(
            self.allow.clone(),
            self.resolver.clone(),
            self.plain_http,
            name.as_str().to_owned(),
        ))
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A host whose addresses are all refused: the attempt's `last_error`.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The addresses of `host` a delivery may connect to; [`Refused`] naming the refused
/// ones when there are none.
async fn admitted_addresses(
    allow: AllowedHosts,
    resolver: HostResolver,
    plain_http: bool,
    host: String,
) -> Result<Addrs, BoxError> {
    let found = resolver.lookup(&host).await?;
    let (admitted, refused): (Vec<IpAddr>, Vec<IpAddr>) = found
        .into_iter()
        .partition(|address| targets::admits(&allow, &host, *address, plain_http));
    if admitted.is_empty() {
        return Err(Box::new(Refused(targets::refusal(
            &host, &refused, plain_http,
        ))));
    }
    Ok(Box::new(
        admitted
            .into_iter()
            .map(|address| SocketAddr::new(address, 0)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook_delivery::resolver::HostTable;

    fn allowing(list: &str) -> AllowedHosts {
        let vars =
            std::collections::HashMap::from([("WEBHOOK_ALLOW_HOSTS".to_owned(), list.to_owned())]);
        crate::config::Config::from_map(&vars)
            .unwrap()
            .webhooks
            .allow
    }

    async fn resolve(allow: &str, host: &str, plain_http: bool) -> Result<Vec<SocketAddr>, String> {
        let resolver = GuardedResolver {
            allow: allowing(allow),
            resolver: HostResolver::System,
            plain_http,
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
        let refused = resolve("", "localhost", false).await.unwrap_err();
        assert!(refused.contains("not a public address"), "{refused}");
        let plain = resolve("", "localhost", true).await.unwrap_err();
        assert!(plain.contains("must use https"), "{plain}");
        let by_name = resolve("localhost", "localhost", true).await.unwrap();
        assert!(by_name.iter().all(|a| a.ip().is_loopback()) && !by_name.is_empty());
        let by_range = resolve("127.0.0.0/8", "localhost", false).await.unwrap();
        assert!(by_range.iter().all(|a| a.ip().is_ipv4()), "{by_range:?}");
    }

    #[tokio::test]
    async fn a_refused_host_is_the_attempts_error_and_nothing_connects() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let table = HostTable::default();
        table.set("hooks.example", &["127.0.0.1".parse().unwrap()]);
        let transport = Transport::new(
            Duration::from_secs(2),
            allowing(""),
            HostResolver::Table(table),
        )
        .unwrap();
        let target =
            targets::deliverable(&format!("https://hooks.example:{port}/in"), &allowing(""))
                .unwrap();
        let attempt = transport.post(&target, "id", 0, "v1,x", Vec::new()).await;
        assert_eq!(
            attempt,
            Attempt::Failed(
                "refused: hooks.example resolves to 127.0.0.1, which is not a public address (WEBHOOK_ALLOW_HOSTS may admit it); nothing was sent".into()
            )
        );
        let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(accepted.is_err(), "no connection was made");
    }
}
