//! The event log: every audited change writes its events in the same transaction, and
//! `GET /api/v1/events` serves them as CloudEvents in sequence order to administrators
//! and to services with the scope `events:read`; with `NATS_URL` every event is also
//! published to NATS JetStream.

mod lifecycle;
mod nats;
mod nats_support;
mod pull;
mod retention;
mod sequencer;
mod transactions;

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp};
use crate::oidc::{basic, register_client};

/// Every type a reader can ask for, the named-only `login.*` included.
pub const EVERY_TYPE: &str = "user.*,session.*,login.*,mfa.*,passkey.*,client.*,consent.*";

/// The events `query` (a query string without `?`) selects, read as `token`; panics
/// unless the answer is 200.
pub async fn events(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let response = app
        .get(&format!("/api/v1/events?{query}"))
        .bearer(token)
        .send()
        .await;
    assert_eq!(response.status, 200, "{query}: {}", response.text);
    response.json()["items"].as_array().expect("items").clone()
}

/// The `type` of each event.
pub fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().expect("type").to_owned())
        .collect()
}

/// The `sequence` of an event, as the number its decimal string stands for.
pub fn sequence(event: &Value) -> u64 {
    event["sequence"]
        .as_str()
        .expect("sequence is a string")
        .parse()
        .expect("a decimal sequence")
}

/// A service account (`client_credentials`) registered with `scopes`, and a token of it.
pub async fn service_token(app: &TestApp, admin: &Session, scopes: &[&str]) -> String {
    let client = register_client(
        app,
        admin,
        json!({"name": "Subscriber", "type": "confidential", "redirect_uris": [],
               "grant_types": ["client_credentials"], "scopes": scopes}),
    )
    .await;
    let issued = app
        .post("/oauth2/token")
        .header(
            "authorization",
            &basic(
                client["client_id"].as_str().unwrap(),
                client["client_secret"].as_str().unwrap(),
            ),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    assert_eq!(issued.status, 200, "{}", issued.text);
    issued.json()["access_token"].as_str().unwrap().to_owned()
}
