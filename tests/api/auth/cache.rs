//! The authentication cache: reads are served from memory, and every change that makes
//! an entry stale reaches every instance before the request that made it returns.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, RequestBuilder, Session, TestApp, TestResponse};
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
    every_revoking_route_ends_the_tokens_on_every_instance_before_it_answers,
);

const ME: &str = "/api/v1/auth/me";

async fn me(app: &TestApp, session: &Session) -> u16 {
    app.get(ME)
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
    // Both instances must see each other before the test relies on it.
    let (first, second) = pair_of_instances(backend).await;
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

/// Two coherent instances that see each other.
async fn pair_of_instances(backend: Backend) -> (TestApp, TestApp) {
    let first = TestApp::new(backend).await;
    let second = first.sibling().await;
    coherent(&first).await;
    coherent(&second).await;
    until(
        Duration::from_secs(5),
        "the instances never saw each other",
        async || first.state.changes.live_peers() > 0 && second.state.changes.live_peers() > 0,
    )
    .await;
    (first, second)
}

/// The status of `path` with `token` on `instance`.
async fn status_with(instance: &TestApp, path: &str, token: &str) -> u16 {
    instance
        .get(path)
        .bearer(token)
        .send()
        .await
        .status
        .as_u16()
}

/// Warms both caches with `token` (accepted at `path`), runs `revoke` on the first
/// instance, and checks that the very next request with it fails on both.
async fn revoked_at_once(
    (first, second): (&TestApp, &TestApp),
    (path, token): (&str, &str),
    route: &str,
    revoke: impl AsyncFnOnce(&TestApp) -> TestResponse,
) {
    for instance in [first, second, first, second] {
        assert_eq!(
            status_with(instance, path, token).await,
            200,
            "{route}: before"
        );
    }
    let response = revoke(first).await;
    assert!(
        response.status.is_success() || response.status.is_redirection(),
        "{route}: {} {}",
        response.status,
        response.text
    );
    assert_eq!(
        status_with(second, path, token).await,
        401,
        "{route}: other instance"
    );
    assert_eq!(
        status_with(first, path, token).await,
        401,
        "{route}: same instance"
    );
}

/// The request of a revoking route of the account API for the user of `session`, who
/// also holds `other`, made by `admin` where the route is an administrator's.
fn revoking_request(
    app: &TestApp,
    route: &str,
    (session, other, admin): (&Session, &Session, &Session),
) -> RequestBuilder {
    let password = json!({"password": DEFAULT_PASSWORD});
    let change =
        json!({"current_password": DEFAULT_PASSWORD, "new_password": "Another-Pass-Word-93"});
    let user_path = format!("/api/v1/admin/users/{}", session.user_id);
    let session_path = format!("/api/v1/auth/sessions/{}", session.session_id);
    let (request, token) = match route {
        "logout" => (app.post("/api/v1/auth/logout"), session),
        "logout-all" => (app.post("/api/v1/auth/logout-all"), session),
        "DELETE session" => (app.delete(&session_path), session),
        "change-password" => (app.post("/api/v1/auth/change-password").json(change), other),
        "DELETE /me" => (app.delete("/api/v1/users/me").json(password), session),
        "revoke-sessions" => (app.post(&format!("{user_path}/revoke-sessions")), admin),
        "deactivation" => (
            app.patch(&user_path).json(json!({"is_active": false})),
            admin,
        ),
        other => panic!("no such route in this test: {other}"),
    };
    request.bearer(&token.access_token)
}

/// Third review, finding 5: every route that revokes a session, whatever its method,
/// syncs the caches before it answers (a `GET` sign-out used to leave them stale).
async fn every_revoking_route_ends_the_tokens_on_every_instance_before_it_answers(
    backend: Backend,
) {
    use crate::oidc::{Browser, VERIFIER, authorize_path, basic, confidential_client};
    use crate::oidc::{location_query, redeem};

    let (first, second) = pair_of_instances(backend).await;
    let both = (&first, &second);
    let admin = first.admin().await;
    for route in [
        "logout",
        "logout-all",
        "DELETE session",
        "change-password",
        "DELETE /me",
        "revoke-sessions",
        "deactivation",
    ] {
        let session = first.user().await;
        let other = first.login(&session.username, DEFAULT_PASSWORD).await;
        let sessions = (&session, &other, &admin);
        let token = (ME, session.access_token.as_str());
        revoked_at_once(both, token, route, async |app: &TestApp| {
            revoking_request(app, route, sessions).send().await
        })
        .await;
    }

    // An application's tokens: a GET sign-out, RFC 7009 revocation, a withdrawn grant.
    let client = confidential_client(&first, &admin, true).await;
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    for route in ["GET /oauth2/logout", "POST /oauth2/revoke", "DELETE grant"] {
        let user = first.user().await;
        let mut browser = Browser::new(&first);
        let back = browser
            .authorize(&authorize_path(&client_id, "openid", &[]), &user)
            .await;
        let tokens = redeem(&first, &client, &location_query(&back)["code"], VERIFIER)
            .await
            .json();
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        let hint = tokens["id_token"].as_str().unwrap().to_owned();
        let token = ("/oauth2/userinfo", access.as_str());
        revoked_at_once(both, token, route, async |app: &TestApp| match route {
            "GET /oauth2/logout" => {
                let path = format!("/oauth2/logout?id_token_hint={hint}");
                browser.get(&path).await
            }
            "POST /oauth2/revoke" => {
                app.post("/oauth2/revoke")
                    .header("authorization", &basic(&client_id, &secret))
                    .form(&[("token", access.as_str())])
                    .send()
                    .await
            }
            _ => {
                let path = format!("/api/v1/users/me/grants/{client_id}");
                app.delete(&path).bearer(&user.access_token).send().await
            }
        })
        .await;
    }
}
