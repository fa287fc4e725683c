//! The client address behind reverse proxies: forwarding headers count only from
//! `TRUSTED_PROXIES`, and sessions, the audit log and rate limits all use the result.

use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;

on_both_engines!(
    forwarding_headers_from_untrusted_peers_are_ignored,
    a_trusted_proxy_passes_on_the_client_address,
);

/// Logs `username` in from `peer` with `headers`; returns the session's recorded IP.
async fn session_ip(app: &TestApp, username: &str, peer: &str, headers: &[(&str, &str)]) -> String {
    let mut request = app
        .post("/api/v1/auth/login")
        .json(json!({"login": username, "password": DEFAULT_PASSWORD}))
        .from_ip(peer);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await;
    assert_eq!(response.status, 200, "{}", response.text);
    let token = response.json()["access_token"].as_str().unwrap().to_owned();
    let sessions = app
        .get("/api/v1/auth/sessions")
        .bearer(&token)
        .send()
        .await
        .json();
    let current = sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .expect("the current session")
        .clone();
    current["ip"].as_str().expect("an ip").to_owned()
}

async fn forwarding_headers_from_untrusted_peers_are_ignored(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("RATE_LIMIT_AUTH_PER_MINUTE", "3")
        .start()
        .await;
    app.register("quinn", DEFAULT_PASSWORD).await;
    let spoofed = [("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")];
    assert_eq!(
        session_ip(&app, "quinn", "203.0.113.50", &spoofed).await,
        "203.0.113.50"
    );
    // A fresh forged address per request does not buy a fresh budget either.
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": "x"}))
        .from_ip("203.0.113.50")
        .header("x-forwarded-for", "9.9.9.1")
        .send()
        .await
        .problem(400);
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": "x"}))
        .from_ip("203.0.113.50")
        .header("x-forwarded-for", "9.9.9.2")
        .send()
        .await
        .problem(400);
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": "x"}))
        .from_ip("203.0.113.50")
        .header("x-forwarded-for", "9.9.9.3")
        .send()
        .await
        .problem(429);
}

async fn a_trusted_proxy_passes_on_the_client_address(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8")
        .env("RATE_LIMIT_AUTH_PER_MINUTE", "4")
        .start()
        .await;
    app.register("rita", DEFAULT_PASSWORD).await;
    // The right-most address that is not one of our proxies; the forged one is skipped.
    let ip = session_ip(
        &app,
        "rita",
        "10.0.0.5",
        &[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.9")],
    )
    .await;
    assert_eq!(ip, "198.51.100.7");
    let ip = session_ip(
        &app,
        "rita",
        "fd00::1",
        &[("forwarded", "for=\"[2001:db8::5]:1234\";proto=https")],
    )
    .await;
    assert_eq!(ip, "2001:db8::5");
    // The audit log records the same address.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'login_success' AND ip = '198.51.100.7'")
            .await,
        1
    );
    // Rate limits are per forwarded client: one client behind the proxy is stopped,
    // the next one is not.
    let from = |client: &'static str| {
        app.post("/api/v1/auth/refresh")
            .json(json!({"refresh_token": "x"}))
            .from_ip("10.0.0.5")
            .header("x-forwarded-for", client)
    };
    for _ in 0..3 {
        from("198.51.100.7").send().await.problem(400);
    }
    from("198.51.100.7").send().await.problem(429);
    from("198.51.100.8").send().await.problem(400);
}
