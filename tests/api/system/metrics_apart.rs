//! `METRICS_ADDRESS`: `/metrics` and `/db/status` are served on an address of their own
//! (a port a load balancer does not expose), and no longer on the public port, where they
//! would tell anyone the backend, the pool and the traffic.

use super::process::RosterProcess;
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(metrics_address_serves_the_operator_routes_apart);

/// A port free on loopback just now (the child binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

async fn status(client: &reqwest::Client, url: &str) -> u16 {
    client
        .get(url)
        .send()
        .await
        .expect("an answer")
        .status()
        .as_u16()
}

async fn metrics_address_serves_the_operator_routes_apart(backend: Backend) {
    let app = TestApp::new(backend).await;
    let operators = format!("127.0.0.1:{}", free_port());
    let server = RosterProcess::start(&app, "info", &[("METRICS_ADDRESS", &operators)]);
    assert!(server.logged("served apart"), "the start-up log names it");
    let client = reqwest::Client::new();
    for path in ["/metrics", "/db/status"] {
        assert_eq!(
            status(&client, &format!("{}{path}", server.base)).await,
            404,
            "{path} public"
        );
        assert_eq!(
            status(&client, &format!("http://{operators}{path}")).await,
            200,
            "{path} apart"
        );
    }
    assert_eq!(
        status(&client, &format!("{}/health", server.base)).await,
        200
    );
    let document: serde_json::Value = client
        .get(format!("{}/openapi.json", server.base))
        .send()
        .await
        .expect("the document")
        .json()
        .await
        .expect("JSON");
    assert!(document["paths"].get("/metrics").is_none());
    assert!(document["paths"].get("/health").is_some());
    // Unset, the public port serves them as before.
    let default = RosterProcess::start(&app, "info", &[]);
    assert_eq!(
        status(&client, &format!("{}/metrics", default.base)).await,
        200
    );
}
