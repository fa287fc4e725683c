//! The JetStream side of the channel: one client that connects, and reconnects, in the
//! background (a server that is down never holds up start-up or a request); the stream,
//! created when missing; and publishing a batch of events with their acknowledgements.

use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::{self, context::PublishAckFuture, stream};
use async_nats::{ConnectOptions, HeaderMap, header::NATS_MESSAGE_ID};

use crate::config::NatsConfig;
use crate::events::feed::CloudEvent;

/// How long JetStream remembers a `Nats-Msg-Id` and drops a message that repeats it, set
/// on the stream Roster creates. It covers a publisher that dies between the
/// acknowledgements and recording them: the next one (after [`super::channel::LEASE`],
/// or a restart) publishes those events again within this window.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// How long one acknowledgement (and a stream request) may take.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to NATS and the stream the channel publishes into.
pub struct Stream {
    client: async_nats::Client,
    context: jetstream::Context,
    name: String,
    prefix: String,
    /// Whether the stream was found or created on this connection.
    ready: bool,
}

/// What publishing a batch achieved: the last event (in order) JetStream acknowledged,
/// how many of the acknowledgements said "duplicate", and why it stopped early.
#[derive(Debug, Default)]
pub struct Published {
    pub through: Option<i64>,
    pub acknowledged: u64,
    pub duplicates: u64,
    pub error: Option<String>,
}

/// `NATS_URL`'s servers without the user, password or token they may carry, and the
/// options that give those to the server instead: the client's own logs name servers,
/// and a password must never reach a log line.
fn without_credentials(config: &NatsConfig) -> (Vec<String>, ConnectOptions) {
    let mut options = ConnectOptions::new();
    let mut servers = Vec::new();
    for entry in config.servers() {
        let with_scheme = if entry.contains("://") {
            entry
        } else {
            format!("nats://{entry}")
        };
        let Ok(mut url) = url::Url::parse(&with_scheme) else {
            // Checked when the configuration was read; the client reports it otherwise.
            servers.push(with_scheme);
            continue;
        };
        let user = decoded(url.username());
        let password = url.password().map(decoded);
        match (user.is_empty(), password) {
            (false, Some(password)) => options = options.user_and_password(user, password),
            (false, None) => options = options.token(user),
            (true, _) => {}
        }
        let _ = url.set_username("");
        let _ = url.set_password(None);
        servers.push(url.to_string());
    }
    (servers, options)
}

/// A URL's user or password part, percent-decoded.
fn decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Stream {
    /// Starts connecting to `NATS_URL`'s servers in the background; it returns at once.
    pub async fn connect(config: &NatsConfig) -> Result<Stream, async_nats::ConnectError> {
        let (servers, options) = without_credentials(config);
        let client = options
            .name("roster")
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(ACK_TIMEOUT)
            .connect(servers)
            .await?;
        let mut context = jetstream::new(client.clone());
        context.set_timeout(ACK_TIMEOUT);
        Ok(Stream {
            client,
            context,
            name: config.stream.clone(),
            prefix: config.subject_prefix.clone(),
            ready: false,
        })
    }

    pub fn connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    /// Finds the stream, or creates it over `PREFIX.>` with [`DUPLICATE_WINDOW`]; once per
    /// connection, and again after a publish failed. An existing stream is used as it is.
    pub async fn prepare(&mut self) -> Result<(), String> {
        if self.ready {
            return Ok(());
        }
        let subjects = format!("{}.>", self.prefix);
        let config = stream::Config {
            name: self.name.clone(),
            subjects: vec![subjects.clone()],
            duplicate_window: DUPLICATE_WINDOW,
            description: Some("Roster's events (CloudEvents 1.0, JSON)".to_owned()),
            ..Default::default()
        };
        let mut found = self
            .context
            .get_or_create_stream(config)
            .await
            .map_err(|e| format!("finding or creating the stream {}: {e}", self.name))?;
        let info = found
            .info()
            .await
            .map_err(|e| format!("reading the stream {}: {e}", self.name))?;
        if !info.config.subjects.contains(&subjects) {
            tracing::warn!(
                stream = %self.name,
                subjects = ?info.config.subjects,
                wanted = %subjects,
                "the existing NATS stream may not take the events' subjects"
            );
        }
        self.ready = true;
        Ok(())
    }

    /// Publishes `events` (in sequence order) to `PREFIX.TYPE`, each with `Nats-Msg-Id` =
    /// its id, all of them before waiting for the acknowledgements, which are then taken
    /// in order: `through` is the last event whose acknowledgement and every earlier one's
    /// came back.
    pub async fn publish(&mut self, events: &[(i64, CloudEvent)]) -> Published {
        let mut published = Published::default();
        let mut pending: Vec<(i64, PublishAckFuture)> = Vec::with_capacity(events.len());
        for (sequence, event) in events {
            let body = match serde_json::to_vec(event) {
                Ok(body) => body,
                Err(e) => {
                    published.error = Some(format!("rendering event {sequence}: {e}"));
                    break;
                }
            };
            let mut headers = HeaderMap::new();
            headers.insert(NATS_MESSAGE_ID, event.id.to_string().as_str());
            let subject = format!("{}.{}", self.prefix, event.kind);
            match self
                .context
                .publish_with_headers(subject, headers, body.into())
                .await
            {
                Ok(ack) => pending.push((*sequence, ack)),
                Err(e) => {
                    published.error = Some(format!("publishing event {sequence}: {e}"));
                    break;
                }
            }
        }
        for (sequence, ack) in pending {
            match ack.await {
                Ok(ack) => {
                    published.through = Some(sequence);
                    published.acknowledged += 1;
                    published.duplicates += u64::from(ack.duplicate);
                }
                Err(e) => {
                    published.error = Some(format!("acknowledgement of event {sequence}: {e}"));
                    break;
                }
            }
        }
        if published.error.is_some() {
            // The stream may have gone (deleted, or the server lost it): look again.
            self.ready = false;
        }
        published
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_server_urls() {
        let config = NatsConfig {
            url: Some(crate::config::Secret::new(
                "nats://svc:p%40ss+word@nats-1:4222, nats-2:4222",
            )),
            subject_prefix: "roster".into(),
            stream: "ROSTER_EVENTS".into(),
        };
        let (servers, _) = without_credentials(&config);
        assert_eq!(servers, ["nats://nats-1:4222", "nats://nats-2:4222"]);
        assert_eq!(decoded("p%40ss+word%zz"), "p@ss+word%zz");
    }
}
