//! A webhook's deliveries on its admin page: a test event sent from the page reaches the
//! receiver signed with the secret the page showed (and, after a rotation on the page,
//! with the new one), and is listed with its status; dead deliveries are listed, sent
//! again one by one or all at once, and go out once the endpoint is enabled again.

use std::time::{Duration, Instant};

use serde_json::json;

use super::api_get;
use super::webhook_pages::{code_text, made_by_api, make_on_page, shows, webhook_audit};
use crate::console::{signed_in, submit};
use crate::helpers::{Backend, TestResponse};
use crate::oidc::Browser;
use crate::on_both_engines;
use crate::webhooks::receiver::{DELIVERY_DEADLINE, Received, Receiver};
use crate::webhooks::support::{deliveries, eventually, local_app, pass};

on_both_engines!(
    a_test_event_from_the_page_is_signed_with_the_secret_it_showed,
    dead_deliveries_are_shown_and_sent_again_from_the_page,
);

/// Whether `request` verifies with `secret`, as a receiver checks it (the standard's
/// own library).
fn signed_by(secret: &str, request: &Received) -> bool {
    standardwebhooks::Webhook::new(secret)
        .expect("a whsec_ secret")
        .verify(&request.body, &request.headers)
        .is_ok()
}

/// `path` once `shows` accepts its page (the sender works in the background).
async fn page_until(
    browser: &mut Browser<'_>,
    path: &str,
    what: &str,
    shows: impl Fn(&str) -> bool,
) -> TestResponse {
    let deadline = Instant::now() + DELIVERY_DEADLINE;
    loop {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        if shows(&page.text) {
            return page;
        }
        assert!(Instant::now() < deadline, "{path} never showed {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Posts the button form `action` of `page` (it must be on the page); the redirect's
/// target after `path?done=`.
async fn press(browser: &mut Browser<'_>, page: &TestResponse, action: &str) -> String {
    assert!(shows(page, &format!("action=\"{action}\"")), "no {action}");
    let answer = submit(browser, page, action, &[]).await;
    assert_eq!(answer.status, 303, "{action}: {}", answer.text);
    let location = answer.header("location").unwrap();
    location.split("?done=").nth(1).unwrap().to_owned()
}

async fn a_test_event_from_the_page_is_signed_with_the_secret_it_showed(backend: Backend) {
    let app = local_app(backend, &[]).await;
    let admin = app.admin().await;
    let receiver = Receiver::start().await;
    let mut browser = signed_in(&app, &admin).await;
    let made = make_on_page(
        &mut browser,
        &[("url", &receiver.url), ("events", "client.deleted")],
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = code_text(&made, "webhook-id").unwrap();
    let secret = code_text(&made, "webhook-secret").unwrap();
    let path = format!("/admin/webhooks/{id}");

    let page = browser.get(&path).await;
    assert!(page.text.contains("No delivery."));
    assert_eq!(
        press(&mut browser, &page, &format!("{path}/test")).await,
        "test-sent"
    );
    let received = receiver.wait_for(1).await;
    assert_eq!(received[0].json()["type"], "webhook.test");
    assert!(signed_by(&secret, &received[0]));
    let event_id = received[0].id().to_owned();

    // Listed with its status, also under its status, not under another.
    let listed = page_until(&mut browser, &path, "the delivery", |text| {
        text.contains("data-label=\"Status\">delivered</td>")
    })
    .await;
    assert!(listed.text.contains(&event_id));
    assert!(listed.text.contains("<code>webhook.test</code>"));
    assert!(listed.text.contains("data-label=\"Attempts\">1</td>"));
    assert!(listed.text.contains("data-label=\"Last answer\">204</td>"));
    let delivered = browser.get(&format!("{path}?status=delivered")).await;
    assert!(delivered.text.contains(&event_id));
    let dead = browser.get(&format!("{path}?status=dead")).await;
    assert!(!dead.text.contains(&event_id));
    assert!(dead.text.contains("No delivery is dead."));
    let bad = browser.get(&format!("{path}?status=lost&limit=0")).await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(bad.text.contains("id=\"status-error\""));
    assert!(bad.text.contains("id=\"limit-error\""));

    // A new secret, shown once; both sign for a while.
    let rotated = submit(&mut browser, &listed, &format!("{path}/secret"), &[]).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let new_secret = code_text(&rotated, "webhook-secret").expect("the new secret");
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    assert!(rotated.text.contains("signed by the previous secret too"));
    let page = browser.get(&path).await;
    assert!(!shows(&page, &new_secret) && !shows(&page, &secret));
    assert_eq!(
        press(&mut browser, &page, &format!("{path}/test")).await,
        "test-sent"
    );
    let received = receiver.wait_for(2).await;
    assert!(signed_by(&new_secret, &received[1]));
    assert!(signed_by(&secret, &received[1]));

    let audited = webhook_audit(&app, &admin.access_token).await;
    let names: Vec<&str> = audited
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "webhook_tested",
            "webhook_secret_rotated",
            "webhook_tested",
            "webhook_created"
        ]
    );
    assert!(
        audited
            .iter()
            .all(|e| e["actor_id"] == admin.user_id.as_str())
    );
    assert!(
        !serde_json::to_string(&audited)
            .unwrap()
            .contains(&new_secret)
    );
}

async fn dead_deliveries_are_shown_and_sent_again_from_the_page(backend: Backend) {
    let app = local_app(backend, &[("WEBHOOK_RETRY_SCHEDULE", "5s")]).await;
    let admin = app.admin().await;
    let token = admin.access_token.clone();
    let mut browser = signed_in(&app, &admin).await;
    // Nothing listens on this port: every attempt is refused.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let down = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let id = made_by_api(
        &app,
        &token,
        json!({"url": down, "events": ["user.created"]}),
    )
    .await;
    let path = format!("/admin/webhooks/{id}");
    app.user().await;
    app.user().await;

    eventually("two failures", || async {
        (deliveries(&app, &token, &id, "status=failed").await.len() == 2).then_some(())
    })
    .await;
    pass(&app, chrono::Duration::seconds(5));
    let dead = eventually("two dead deliveries", || async {
        let dead = deliveries(&app, &token, &id, "status=dead").await;
        (dead.len() == 2).then_some(dead)
    })
    .await;
    let (first, second) = (
        dead[0]["event_id"].as_str().unwrap().to_owned(),
        dead[1]["event_id"].as_str().unwrap().to_owned(),
    );

    let page = browser.get(&format!("{path}?status=dead")).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(
        page.text.matches("data-label=\"Status\">dead</td>").count(),
        2
    );
    assert!(page.text.contains("data-label=\"Attempts\">2</td>"));
    assert!(page.text.contains("data-label=\"Last answer\">-</td>"));
    assert!(page.text.contains(&first) && page.text.contains(&second));
    assert!(page.text.contains("2 deliveries are dead"));
    let list = browser.get("/admin/webhooks").await;
    assert!(
        list.text
            .contains("data-label=\"Waiting, failed, dead\">0, 0, 2</td>")
    );

    // Disabled, so that what is sent again waits where the page shows it.
    let off = submit(
        &mut browser,
        &page,
        &format!("{path}/enabled"),
        &[("enabled", "false")],
    )
    .await;
    assert_eq!(off.status, 303, "{}", off.text);
    let page = browser.get(&path).await;
    let retried = press(
        &mut browser,
        &page,
        &format!("{path}/deliveries/{first}/retry"),
    )
    .await;
    assert_eq!(retried, "delivery-retried");
    let pending = deliveries(&app, &token, &id, "status=pending").await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["event_id"], first.as_str());
    assert_eq!(pending[0]["attempts"], 0);
    let page = browser.get(&path).await;
    assert!(page.text.contains("1 delivery is dead"));
    assert_eq!(
        press(&mut browser, &page, &format!("{path}/redrive")).await,
        "dead-redriven"
    );
    assert!(
        deliveries(&app, &token, &id, "status=dead")
            .await
            .is_empty()
    );
    let page = browser.get(&format!("{path}?status=pending")).await;
    assert_eq!(
        page.text
            .matches("data-label=\"Status\">pending</td>")
            .count(),
        2
    );
    // No button now; a page from before that still has it redrives nothing.
    assert!(!page.text.contains("Send every dead delivery again"));
    let stale = submit(&mut browser, &page, &format!("{path}/redrive"), &[]).await;
    assert_eq!(
        stale.header("location"),
        Some(format!("{path}?done=nothing-dead").as_str())
    );

    // A working target and enabled again: what waited goes out.
    let receiver = Receiver::start().await;
    let moved = submit(
        &mut browser,
        &page,
        &path,
        &[
            ("url", &receiver.url),
            ("events", "user.created"),
            ("ordered", "on"),
        ],
    )
    .await;
    assert_eq!(moved.status, 303, "{}", moved.text);
    let on = submit(
        &mut browser,
        &page,
        &format!("{path}/enabled"),
        &[("enabled", "true")],
    )
    .await;
    assert_eq!(on.status, 303, "{}", on.text);
    receiver.wait_for(2).await;
    let delivered = format!("{path}?status=delivered");
    let page = page_until(&mut browser, &delivered, "both delivered", |text| {
        text.matches("data-label=\"Status\">delivered</td>").count() == 2
    })
    .await;
    assert!(page.text.contains(&first) && page.text.contains(&second));
    let endpoint = api_get(&app, &admin, &format!("/api/v1/admin/webhooks/{id}")).await;
    assert_eq!(
        endpoint["deliveries"],
        json!({"pending": 0, "failed": 0, "dead": 0})
    );

    let audited = webhook_audit(&app, &token).await;
    let retried: Vec<_> = audited
        .iter()
        .filter(|e| e["event"] == "webhook_delivery_retried")
        .collect();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0]["detail"]["event_id"], first.as_str());
    let redriven: Vec<_> = audited
        .iter()
        .filter(|e| e["event"] == "webhook_redriven")
        .map(|e| e["detail"]["redriven"].clone())
        .collect();
    assert_eq!(redriven, [json!(0), json!(1)]);
}
