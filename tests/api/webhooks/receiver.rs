//! A webhook receiver for the tests: a small axum server on 127.0.0.1, port 0, that
//! records every request and answers what the test tells it to. It also notices when
//! two requests with the same `webhook-id` are in flight at once.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// How long a test waits for deliveries to arrive.
pub const DELIVERY_DEADLINE: Duration = Duration::from_secs(30);

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    /// The `webhook-id` header: the event's id.
    pub fn id(&self) -> &str {
        self.header("webhook-id")
    }

    pub fn subject(&self) -> String {
        self.json()["subject"].as_str().expect("subject").to_owned()
    }
}

/// How the receiver answers a request.
pub type Reply = Arc<dyn Fn(&Received) -> Response + Send + Sync>;

struct Inner {
    requests: Mutex<Vec<Received>>,
    reply: Mutex<Reply>,
    hold: Mutex<Duration>,
    in_flight: Mutex<HashSet<String>>,
    overlaps: AtomicUsize,
}

#[derive(Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    inner: Arc<Inner>,
}

impl Receiver {
    /// A receiver that answers `204` to everything.
    pub async fn start() -> Receiver {
        Receiver::replying(|_| StatusCode::NO_CONTENT.into_response()).await
    }

    pub async fn replying(
        reply: impl Fn(&Received) -> Response + Send + Sync + 'static,
    ) -> Receiver {
        let inner = Arc::new(Inner {
            requests: Mutex::new(Vec::new()),
            reply: Mutex::new(Arc::new(reply)),
            hold: Mutex::new(Duration::ZERO),
            in_flight: Mutex::new(HashSet::new()),
            overlaps: AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
        let router = Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver { url, inner }
    }

    /// Answers the following requests with `reply`.
    pub fn reply_with(&self, reply: impl Fn(&Received) -> Response + Send + Sync + 'static) {
        *self.inner.reply.lock().unwrap() = Arc::new(reply);
    }

    /// Holds every following request this long before answering.
    pub fn hold_for(&self, hold: Duration) {
        *self.inner.hold.lock().unwrap() = hold;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.requests.lock().unwrap().clone()
    }

    /// How many times two requests for one `webhook-id` were in flight at once.
    pub fn overlaps(&self) -> usize {
        self.inner.overlaps.load(Ordering::SeqCst)
    }

    /// How many requests each `webhook-id` had.
    pub fn counts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for request in self.received() {
            *counts.entry(request.id().to_owned()).or_default() += 1;
        }
        counts
    }

    /// Waits (at most [`DELIVERY_DEADLINE`]) until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + DELIVERY_DEADLINE;
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} requests, got {}: {:?}",
                received.len(),
                received
                    .iter()
                    .map(|r| r.json()["type"].clone())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let received = Received { headers, body };
    let id = received
        .headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !inner.in_flight.lock().unwrap().insert(id.clone()) {
        inner.overlaps.fetch_add(1, Ordering::SeqCst);
    }
    inner.requests.lock().unwrap().push(received.clone());
    let hold = *inner.hold.lock().unwrap();
    if !hold.is_zero() {
        tokio::time::sleep(hold).await;
    }
    let reply = inner.reply.lock().unwrap().clone();
    let response = reply(&received);
    inner.in_flight.lock().unwrap().remove(&id);
    response
}
