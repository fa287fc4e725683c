//! What the delivery tests share: an application whose webhooks may target the local
//! receiver, subscribing, and reading an endpoint and its deliveries.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::receiver::DELIVERY_DEADLINE;
use crate::helpers::{Backend, TestApp};

/// The variable that lets webhooks target the local receiver.
pub const ALLOW_LOCAL: (&str, &str) = ("WEBHOOK_ALLOW_HOSTS", "127.0.0.1");

/// An application whose webhooks may target 127.0.0.1, with `vars` set too.
pub async fn local_app(backend: Backend, vars: &[(&str, &str)]) -> TestApp {
    let mut builder = TestApp::builder(backend).env(ALLOW_LOCAL.0, ALLOW_LOCAL.1);
    for (name, value) in vars {
        builder = builder.env(name, *value);
    }
    builder.start().await
}

/// A new endpoint for `url` taking `events` (`extra` fields merged in); returns its
/// id and secret.
pub async fn subscribe(
    app: &TestApp,
    token: &str,
    url: &str,
    events: &[&str],
    extra: Value,
) -> (String, String) {
    let mut body = json!({"url": url, "events": events});
    if let Value::Object(fields) = extra {
        body.as_object_mut().unwrap().extend(fields);
    }
    let created = app
        .post("/api/v1/admin/webhooks")
        .bearer(token)
        .json(body)
        .send()
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let created = created.json();
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

/// Sends a `webhook.test` to endpoint `id`; returns the event id.
pub async fn send_test(app: &TestApp, token: &str, id: &str) -> String {
    let sent = app
        .post(&format!("/api/v1/admin/webhooks/{id}/test"))
        .bearer(token)
        .send()
        .await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    sent.json()["event_id"].as_str().unwrap().to_owned()
}

/// Enables or disables endpoint `id`; returns it as changed.
pub async fn set_enabled(app: &TestApp, token: &str, id: &str, enabled: bool) -> Value {
    let changed = app
        .patch(&format!("/api/v1/admin/webhooks/{id}"))
        .bearer(token)
        .json(json!({"enabled": enabled}))
        .send()
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    changed.json()
}

/// The endpoint as the admin API shows it.
pub async fn webhook(app: &TestApp, token: &str, id: &str) -> Value {
    let read = app
        .get(&format!("/api/v1/admin/webhooks/{id}"))
        .bearer(token)
        .send()
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    read.json()
}

/// The endpoint's deliveries (`query` without `?`), newest first.
pub async fn deliveries(app: &TestApp, token: &str, id: &str, query: &str) -> Vec<Value> {
    let listed = app
        .get(&format!("/api/v1/admin/webhooks/{id}/deliveries?{query}"))
        .bearer(token)
        .send()
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    listed.json()["items"].as_array().unwrap().clone()
}

/// Waits (boundedly) until `check` gives something.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DELIVERY_DEADLINE;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until the endpoint has a delivery `matches` accepts; returns it.
pub async fn delivery_where(
    app: &TestApp,
    token: &str,
    id: &str,
    what: &str,
    matches: impl Fn(&Value) -> bool,
) -> Value {
    eventually(what, || async {
        deliveries(app, token, id, "limit=100")
            .await
            .into_iter()
            .find(|d| matches(d))
    })
    .await
}

/// Moves the application's clock past a retry wait (the schedule adds up to 20 %).
pub fn pass(app: &TestApp, wait: chrono::Duration) {
    app.clock
        .advance(wait + wait / 4 + chrono::Duration::seconds(1));
}

/// A local port that counts the connections made to it (closing each at once): where
/// a delivery must never connect.
pub struct ConnectionCounter {
    pub port: u16,
    connections: Arc<AtomicUsize>,
}

impl ConnectionCounter {
    pub async fn start() -> ConnectionCounter {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let port = listener.local_addr().expect("an address").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        ConnectionCounter { port, connections }
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}
