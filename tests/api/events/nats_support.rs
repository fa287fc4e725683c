//! What the NATS tests share: an application publishing to its own stream and subject
//! prefix (so tests never see each other's events), reading that stream back with
//! async-nats, waiting for the publisher, and a NATS server of a test's own.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream::Stream};
use serde_json::Value;
use uuid::Uuid;

use super::{EVERY_TYPE, events};
use crate::helpers::{Backend, TestApp, TestAppBuilder};

/// How long a test waits for the publisher (it reconnects with a backoff of up to 4 s).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(60);

/// The shared JetStream server of the test machine (`.ci/run` starts it).
pub fn shared_nats_url() -> String {
    std::env::var("ROSTER_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// A test's own stream name and subject prefix.
#[derive(Debug, Clone)]
pub struct Channel {
    pub url: String,
    pub stream: String,
    pub prefix: String,
}

impl Channel {
    pub fn new(url: &str) -> Channel {
        let tag = Uuid::new_v4().simple().to_string();
        Channel {
            url: url.to_owned(),
            stream: format!("ROSTER_TEST_{tag}"),
            prefix: format!("roster_test.{tag}"),
        }
    }

    /// An application (cheap hashing: the tests make many accounts) publishing here.
    pub async fn app(&self, backend: Backend) -> TestApp {
        self.builder(backend).start().await
    }

    /// [`Self::app`], to set more before it starts.
    pub fn builder(&self, backend: Backend) -> TestAppBuilder {
        TestApp::builder(backend)
            .env("NATS_URL", &self.url)
            .env("NATS_STREAM", &self.stream)
            .env("NATS_SUBJECT_PREFIX", &self.prefix)
            .env("ARGON2_MEMORY_KIB", "1024")
            .env("ARGON2_ITERATIONS", "1")
    }

    pub async fn jetstream(&self) -> jetstream::Context {
        let client = async_nats::connect(&self.url)
            .await
            .expect("the test connects to NATS");
        jetstream::new(client)
    }

    /// The stream, which must exist.
    pub async fn stream(&self) -> Stream {
        self.jetstream()
            .await
            .get_stream(&self.stream)
            .await
            .expect("the stream exists")
    }

    /// Every message of the stream, oldest first.
    pub async fn messages(&self) -> Vec<Published> {
        let mut stream = self.stream().await;
        let last = stream
            .info()
            .await
            .expect("stream info")
            .state
            .last_sequence;
        let mut messages = Vec::new();
        for sequence in 1..=last {
            let message = stream
                .get_raw_message(sequence)
                .await
                .expect("a stored message");
            let id = message
                .headers
                .get("Nats-Msg-Id")
                .map(|value| value.as_str().to_owned());
            messages.push(Published {
                subject: message.subject.to_string(),
                message_id: id,
                body: serde_json::from_slice(&message.payload).expect("a JSON body"),
            });
        }
        messages
    }

    /// Removes the stream from the shared server (best effort).
    pub async fn delete(&self) {
        let _ = self.jetstream().await.delete_stream(&self.stream).await;
    }
}

/// One message as JetStream stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub subject: String,
    pub message_id: Option<String>,
    pub body: Value,
}

/// Every event of the log, as `GET /api/v1/events` serves it (numbering what waits).
pub async fn pulled(app: &TestApp, token: &str) -> Vec<Value> {
    let all = events(app, token, &format!("type={EVERY_TYPE}&limit=1000")).await;
    assert_eq!(
        all.len() as i64,
        app.count("SELECT COUNT(*) FROM events").await,
        "every event is pulled"
    );
    all
}

/// The channel's `published_through` (-1 before the publisher made its row).
pub async fn published_through(app: &TestApp) -> i64 {
    app.count("SELECT COALESCE(MAX(published_through), -1) FROM event_channels WHERE name = 'nats'")
        .await
}

/// Waits until the publisher has recorded every numbered event as published.
pub async fn wait_until_published(app: &TestApp) {
    let deadline = Instant::now() + PUBLISH_TIMEOUT;
    loop {
        let last = app
            .count("SELECT last FROM event_counter WHERE id = 1")
            .await;
        let through = published_through(app).await;
        if through == last {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "published through {through}, the last event is {last}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts that the stream holds exactly `pulled`, once each and in order, each on
/// `PREFIX.TYPE` with `Nats-Msg-Id` = the event id and the pull API's body.
pub fn assert_stream_holds(channel: &Channel, stored: &[Published], pulled: &[Value]) {
    let expected: Vec<Published> = pulled
        .iter()
        .map(|event| Published {
            subject: format!("{}.{}", channel.prefix, event["type"].as_str().unwrap()),
            message_id: Some(event["id"].as_str().unwrap().to_owned()),
            body: event.clone(),
        })
        .collect();
    assert_eq!(stored.len(), expected.len(), "one message per event");
    for (index, (stored, expected)) in stored.iter().zip(&expected).enumerate() {
        assert_eq!(stored, expected, "message {}", index + 1);
    }
}

/// A JetStream server of the test's own, on `port`, stopped when dropped.
pub struct OwnServer {
    child: Child,
    _store: tempfile::TempDir,
}

impl OwnServer {
    pub fn start(port: u16) -> OwnServer {
        let store = tempfile::tempdir().expect("a directory for JetStream");
        let binary =
            std::env::var("NATS_SERVER_BIN").unwrap_or_else(|_| "/usr/sbin/nats-server".into());
        let child = Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{binary} must be installed (see .ci/run): {e}"));
        OwnServer {
            child,
            _store: store,
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port on which nothing listens (for now).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.local_addr().expect("an address").port()
}
