//! The admin API of webhooks: endpoints are made with a secret shown once and sealed at
//! rest, listed, read, changed and deleted by administrators only; targets must be
//! public `https` unless `WEBHOOK_ALLOW_HOSTS` admits them. The modules test delivery
//! against a local receiver.

mod cluster;
mod crash;
mod delivery;
mod failures;
mod fanout;
pub mod receiver;
mod receivers;
mod retention;
mod runs;
pub mod support;

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestResponse};
use crate::oidc::openapi::assert_documented;
use crate::on_both_engines;
use crate::users::support::dump_database;

on_both_engines!(
    an_administrator_manages_a_webhook_whose_secret_is_shown_once,
    targets_must_be_public_https_unless_allowed,
    only_administrators_manage_webhooks,
);

const PUBLIC_TARGET: &str = "https://93.184.216.34/hooks/roster";

async fn create(app: &TestApp, token: &str, body: Value) -> TestResponse {
    app.post("/api/v1/admin/webhooks")
        .bearer(token)
        .json(body)
        .send()
        .await
}

async fn an_administrator_manages_a_webhook_whose_secret_is_shown_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doc: Value = app.get("/openapi.json").send().await.json();
    let admin = app.admin().await;
    let token = admin.access_token.as_str();

    let created = create(
        &app,
        token,
        json!({"url": PUBLIC_TARGET, "events": ["user.*", "session.revoked", "user.*"], "description": "CRM"}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_documented(&doc, "post", "/api/v1/admin/webhooks", &created);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let body = created.json();
    let secret = body["secret"].as_str().unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64");
    assert_eq!(raw.len(), 32);
    assert_eq!(body["events"], json!(["user.*", "session.revoked"]));
    assert_eq!(body["ordered"], true);
    assert_eq!(body["enabled"], true);
    let id = body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/admin/webhooks/{id}");

    let stored = dump_database(&app).await;
    assert!(!stored.contains(secret) && !stored.contains(secret.trim_start_matches("whsec_")));
    let read = app.get(&path).bearer(token).send().await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert!(read.json().get("secret").is_none());
    assert!(!read.text.contains(secret.trim_start_matches("whsec_")));
    let listed = app.get("/api/v1/admin/webhooks").bearer(token).send().await;
    assert_documented(&doc, "get", "/api/v1/admin/webhooks", &listed);
    assert_eq!(listed.json()["items"][0]["id"], id.as_str());

    let changed = app
        .patch(&path)
        .bearer(token)
        .json(
            json!({"events": ["login.*"], "enabled": false, "description": null, "ordered": false}),
        )
        .send()
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let changed = changed.json();
    assert_eq!(changed["events"], json!(["login.*"]));
    assert_eq!(changed["enabled"], false);
    assert_eq!(changed["ordered"], false);
    assert_eq!(changed["description"], Value::Null);
    assert_eq!(changed["url"], PUBLIC_TARGET);
    let bad_change = app
        .patch(&path)
        .bearer(token)
        .json(json!({"url": "https://10.0.0.1/"}))
        .send()
        .await;
    assert_eq!(bad_change.failing_fields(), ["url"]);
    assert_eq!(
        app.get(&path).bearer(token).send().await.json()["url"],
        PUBLIC_TARGET
    );

    let deleted = app.delete(&path).bearer(token).send().await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    app.get(&path).bearer(token).send().await.problem(404);
    app.delete(&path).bearer(token).send().await.problem(404);
    let audited = app
        .get("/api/v1/admin/audit?limit=100")
        .bearer(token)
        .send()
        .await
        .json();
    let names: Vec<&str> = audited["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"].as_str())
        .filter(|e| e.starts_with("webhook_"))
        .collect();
    assert_eq!(
        names,
        ["webhook_deleted", "webhook_updated", "webhook_created"]
    );
}

async fn targets_must_be_public_https_unless_allowed(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    for url in [
        "http://93.184.216.34/hooks",
        "https://127.0.0.1/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://169.254.169.254/latest",
        "https://[::1]/hooks",
        "https://localhost/hooks",
        "https://user:pass@93.184.216.34/hooks",
        "not a url",
    ] {
        let refused = create(&app, token, json!({"url": url, "events": ["user.*"]})).await;
        assert_eq!(refused.failing_fields(), ["url"], "{url}");
    }
    for events in [json!([]), json!(["User.*"]), json!(["user.*,session.*"])] {
        let refused = create(&app, token, json!({"url": PUBLIC_TARGET, "events": events})).await;
        assert_eq!(refused.failing_fields(), ["events"], "{events}");
    }
    let empty = create(&app, token, json!({})).await;
    assert_eq!(empty.failing_fields(), ["events", "url"]);
    let unknown = create(
        &app,
        token,
        json!({"url": PUBLIC_TARGET, "events": ["user.*"], "secret": "mine"}),
    )
    .await;
    assert_eq!(unknown.failing_fields(), ["secret"]);

    let allowing = TestApp::builder(backend)
        .env("WEBHOOK_ALLOW_HOSTS", "127.0.0.1, localhost, 10.0.0.0/8")
        .start()
        .await;
    let admin = allowing.admin().await;
    for url in [
        "http://127.0.0.1:9000/hooks",
        "http://localhost:9000/hooks",
        "https://10.20.30.40/hooks",
    ] {
        let made = create(
            &allowing,
            &admin.access_token,
            json!({"url": url, "events": ["user.*"]}),
        )
        .await;
        assert_eq!(made.status, 201, "{url}: {}", made.text);
    }
    let still_private = create(
        &allowing,
        &admin.access_token,
        json!({"url": "https://192.168.0.10/", "events": ["user.*"]}),
    )
    .await;
    assert_eq!(still_private.failing_fields(), ["url"]);
}

async fn only_administrators_manage_webhooks(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let body = json!({"url": PUBLIC_TARGET, "events": ["user.*"]});
    create(&app, &user.access_token, body.clone())
        .await
        .problem(403);
    app.post("/api/v1/admin/webhooks")
        .json(body)
        .send()
        .await
        .problem(401);
    app.get("/api/v1/admin/webhooks")
        .bearer(&user.access_token)
        .send()
        .await
        .problem(403);
    let id = uuid::Uuid::now_v7();
    app.delete(&format!("/api/v1/admin/webhooks/{id}"))
        .bearer(&user.access_token)
        .send()
        .await
        .problem(403);
    assert_eq!(app.count("SELECT COUNT(*) FROM webhooks").await, 0);
}
