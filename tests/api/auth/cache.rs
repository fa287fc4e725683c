//! The authentication cache: reads are served from memory, and every change that makes
//! an entry stale reaches every instance before the request that made it returns.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, Session, TestApp};
use crate::on_both_engines;

on_both_engines!(
    repeated_requests_are_served_from_the_cache,
    a_revocation_reaches_warm_caches_on_every_instance_before_it_returns,
    a_password_change_on_one_instance_ends_other_sessions_on_all,
    changes_made_outside_any_instance_reach_the_cache_by_themselves,
    a_session_deleted_outside_any_instance_leaves_the_cache,
    a_cache_that_loses_its_change_feed_stops_being_used,
    a_new_instance_uses_its_cache_only_once_every_peer_waits_for_it,
    a_refresh_answers_with_the_account_as_stored_not_a_stale_cached_copy,
);

async fn me(app: &TestApp, session: &Session) -> u16 {
    app.get("/api/v1/auth/me")
        .bearer(&session.access_token)
        .send()
        .await
        .status
        .as_u16()
}

/// Polls `done` until it holds; fails with `failure` once `limit` has passed. What it
/// waits for is background work (the change feed, a peer's handshake), not time.
async fn until(limit: Duration, failure: &str, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{failure}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits (bounded) until the instance's change feed has proved it is keeping up.
async fn coherent(app: &TestApp) {
    until(
        Duration::from_secs(5),
        "the cache never became coherent",
        async || app.state.auth_cache.is_coherent(),
    )
    .await;
}

fn cache_hits(app: &TestApp) -> f64 {
    let text = app.state.metrics.render();
    text.lines()
        .find(|l| l.starts_with("roster_auth_cache_total{result=\"hit\"}"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn repeated_requests_are_served_from_the_cache(backend: Backend) {
    let app = TestApp::new(backend).await;
    coherent(&app).await;
    let session = app.user().await;
    assert_eq!(me(&app, &session).await, 200);
    let before = cache_hits(&app);
    for _ in 0..5 {
        assert_eq!(me(&app, &session).await, 200);
    }
    // The recorder is shared by every test in this process, so count at least ours.
    assert!(
        cache_hits(&app) - before >= 5.0,
        "hits went from {before} to {}",
        cache_hits(&app)
    );
    assert!(
        app.state
            .auth_cache
            .verified(&session.access_token)
            .is_some()
    );
}

async fn a_revocation_reaches_warm_caches_on_every_instance_before_it_returns(backend: Backend) {
    let first = TestApp::new(backend).await;
    let second = first.sibling().await;
    coherent(&first).await;
    coherent(&second).await;
    // Both instances must see each other before the test relies on it.
    until(
        Duration::from_secs(5),
        "the instances never saw each other",
        async || first.state.changes.live_peers() > 0 && second.state.changes.live_peers() > 0,
    )
    .await;
    for round in 0..3 {
        let session = first.user().await;
        for instance in [&first, &second, &first, &second] {
            assert_eq!(me(instance, &session).await, 200);
        }
        let (revoker, other) = if round % 2 == 0 {
            (&first, &second)
        } else {
            (&second, &first)
        };
        let path = format!("/api/v1/auth/sessions/{}", session.session_id);
        assert_eq!(
            revoker
                .delete(&path)
                .bearer(&session.access_token)
                .send()
                .await
                .status,
            204
        );
        assert_eq!(
            me(other, &session).await,
            401,
            "round {round}: the other instance"
        );
        assert_eq!(
            me(revoker, &session).await,
            401,
            "round {round}: the revoking instance"
        );
    }
    // Every session at once, from another device on the other instance.
    let session = first.user().await;
    assert_eq!(me(&second, &session).await, 200);
    assert_eq!(me(&second, &session).await, 200);
    let other_session = first.login(&session.username, DEFAULT_PASSWORD).await;
    let response = first
        .post("/api/v1/auth/logout-all")
        .bearer(&other_session.access_token)
        .send()
        .await;
    assert_eq!(response.status, 204);
    assert_eq!(me(&second, &session).await, 401);
}

async fn a_password_change_on_one_instance_ends_other_sessions_on_all(backend: Backend) {
    let first = TestApp::new(backend).await;
    let second = first.sibling().await;
    coherent(&second).await;
    let here = first.user().await;
    let elsewhere = first.login(&here.username, DEFAULT_PASSWORD).await;
    assert_eq!(me(&second, &elsewhere).await, 200);
    assert_eq!(me(&second, &elsewhere).await, 200);
    let response = first
        .post("/api/v1/auth/change-password")
        .bearer(&here.access_token)
        .json(json!({"current_password": DEFAULT_PASSWORD, "new_password": "Another-Secret-Phrase-4"}))
        .send()
        .await;
    assert_eq!(response.status, 204);
    assert_eq!(me(&second, &elsewhere).await, 401);
    assert_eq!(me(&second, &here).await, 200);
}

async fn changes_made_outside_any_instance_reach_the_cache_by_themselves(backend: Backend) {
    let app = TestApp::new(backend).await;
    coherent(&app).await;
    let session = app.user().await;
    let role = |app: &TestApp, session: &Session| {
        let request = app
            .get("/api/v1/auth/me")
            .bearer(&session.access_token)
            .send();
        async move {
            request.await.json()["role"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        }
    };
    assert_eq!(role(&app, &session).await, "user");
    assert_eq!(role(&app, &session).await, "user");
    // A change no instance made (an operator's SQL, another tool) arrives through the feed.
    app.exec("UPDATE users SET role = 'admin'").await;
    until(
        Duration::from_secs(2),
        "the change never reached the cache",
        async || role(&app, &session).await == "admin",
    )
    .await;
    app.exec("UPDATE sessions SET revoked_at = created_at")
        .await;
    refused_soon(&app, &session, "the revocation never reached the cache").await;
}

async fn a_session_deleted_outside_any_instance_leaves_the_cache(backend: Backend) {
    let app = TestApp::new(backend).await;
    coherent(&app).await;
    let session = app.user().await;
    assert_eq!(me(&app, &session).await, 200);
    assert_eq!(me(&app, &session).await, 200);
    // Deletion has a trigger of its own (PostgreSQL: migration 0008 split the session
    // trigger into one for revocations and one for deletions).
    app.exec("DELETE FROM sessions").await;
    refused_soon(&app, &session, "the deletion never reached the cache").await;
}

/// Waits (at most 2 s) until the change feed has brought a change made outside any
/// instance to the cache, so that `session` is refused.
async fn refused_soon(app: &TestApp, session: &Session, failure: &str) {
    until(Duration::from_secs(2), failure, async || {
        me(app, session).await == 401
    })
    .await;
}

async fn a_cache_that_loses_its_change_feed_stops_being_used(backend: Backend) {
    let app = TestApp::new(backend).await;
    coherent(&app).await;
    let session = app.user().await;
    assert_eq!(me(&app, &session).await, 200);
    assert_eq!(me(&app, &session).await, 200);
    // With the database gone the feed cannot prove it keeps up: within the lease the
    // cache is no longer used, and requests fail closed (503) instead of being let in.
    app.state.db.close().await;
    let lease = roster::coherence::LEASE + Duration::from_secs(1);
    until(lease, "the lease did not end", async || {
        !app.state.auth_cache.is_coherent()
    })
    .await;
    assert_eq!(me(&app, &session).await, 503);
}

async fn a_new_instance_uses_its_cache_only_once_every_peer_waits_for_it(backend: Backend) {
    let first = TestApp::new(backend).await;
    coherent(&first).await;
    let session = first.user().await;
    for _ in 0..3 {
        let second = first.sibling().await;
        // From the moment the newcomer trusts its cache, the other instance must already
        // be waiting for it on every sync (or a revocation there could miss it).
        coherent(&second).await;
        assert!(
            first.state.changes.live_peers() >= 1,
            "coherent before its peer knew it"
        );
        assert_eq!(me(&second, &session).await, 200);
    }
    // And right after start, before that handshake, a revocation elsewhere is still seen.
    let second = first.sibling().await;
    let other = first.login(&session.username, DEFAULT_PASSWORD).await;
    assert_eq!(me(&second, &other).await, 200);
    assert_eq!(me(&second, &other).await, 200);
    let path = format!("/api/v1/auth/sessions/{}", other.session_id);
    assert_eq!(
        first
            .delete(&path)
            .bearer(&other.access_token)
            .send()
            .await
            .status,
        204
    );
    assert_eq!(me(&second, &other).await, 401);
}

async fn a_refresh_answers_with_the_account_as_stored_not_a_stale_cached_copy(backend: Backend) {
    let app = TestApp::new(backend).await;
    coherent(&app).await;
    let session = app.user().await;
    assert_eq!(me(&app, &session).await, 200);
    let user_id: uuid::Uuid = session.user_id.parse().unwrap();
    let session_id: uuid::Uuid = session.session_id.parse().unwrap();
    let cache = &app.state.auth_cache;
    let stored = cache.user(user_id).expect("GET me cached the account");
    // A copy from before a change the feed has not delivered yet: another `updated_at`.
    let mut stale = roster::accounts::model::User::clone(&stored);
    stale.full_name = Some("Before The Change".into());
    stale.tier = roster::accounts::model::Tier::Premium;
    stale.updated_at -= chrono::Duration::seconds(1);
    let far = stored.updated_at + chrono::Duration::days(1);
    cache.fill(cache.generation(), session_id, &stale, far);
    assert_eq!(
        cache
            .user(user_id)
            .and_then(|u| u.full_name.clone())
            .as_deref(),
        Some("Before The Change"),
        "the stale copy must be in the cache for this test to mean anything"
    );
    let response = app
        .post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": session.refresh_token}))
        .send()
        .await;
    assert_eq!(response.status, 200);
    let user = &response.json()["user"];
    assert_eq!(user["full_name"], json!(stored.full_name));
    assert_eq!(user["tier"], "basic");
    // The access token carries the stored tier as well.
    let access = response.json()["access_token"].as_str().unwrap().to_owned();
    let response = app.get("/api/v1/auth/me").bearer(&access).send().await;
    assert_eq!(response.json()["tier"], "basic");
}
