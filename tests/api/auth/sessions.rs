//! Sessions and refresh tokens: rotation, reuse detection, logout, revocation on every
//! instance, listing, and purging of what expired.

use axum::http::StatusCode;
use roster::clock::Clock;
use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, Session, TestApp};
use crate::on_both_engines;

on_both_engines!(
    refresh_rotates_and_the_old_token_stops_working,
    refresh_token_reuse_revokes_the_session,
    a_token_marked_used_by_an_older_version_counts_as_used,
    concurrent_refreshes_with_one_token_leave_one_winner,
    simultaneous_refreshes_of_many_sessions_each_rotate_once,
    logout_revokes_the_access_token_at_once,
    logout_all_revokes_every_session,
    revocation_applies_on_every_instance_at_once,
    sessions_list_shows_active_sessions_and_marks_the_current_one,
    revoking_a_session_of_another_user_is_404,
    expired_refresh_tokens_are_refused_and_purged,
    a_used_token_stays_used_when_its_successor_expires_first,
    a_deactivated_account_loses_its_tokens_at_once,
    a_refused_refresh_leaves_no_write_lock_behind,
);

async fn refresh(app: &TestApp, token: &str) -> crate::helpers::TestResponse {
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": token}))
        .send()
        .await
}

async fn refresh_rotates_and_the_old_token_stops_working(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    app.clock.advance(chrono::Duration::minutes(5));
    let response = refresh(&app, &session.refresh_token).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let pair = response.json();
    assert_ne!(pair["refresh_token"], session.refresh_token.as_str());
    assert_ne!(pair["access_token"], session.access_token.as_str());
    assert_eq!(pair["session_id"], session.session_id.as_str());
    assert_eq!(pair["user"]["id"], session.user_id.as_str());
    let new_access = pair["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/v1/auth/me")
            .bearer(new_access)
            .send()
            .await
            .status,
        200
    );
    // Only SHA-256 hashes (32 bytes) are stored, never the 43-character tokens.
    assert_eq!(app.count("SELECT COUNT(*) FROM refresh_tokens").await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM refresh_tokens WHERE length(token_hash) = 32")
            .await,
        2
    );
    // The first token is used: the second names it as its predecessor. The rotation
    // slid the session's expiry.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM refresh_tokens t JOIN refresh_tokens successor \
             ON successor.rotated_from = t.id WHERE t.rotated_from IS NULL"
        )
        .await,
        1
    );
    let sessions = app
        .get("/api/v1/auth/sessions")
        .bearer(new_access)
        .send()
        .await
        .json();
    let current = &sessions["items"][0];
    let at = |field: &str| {
        chrono::DateTime::parse_from_rfc3339(current[field].as_str().unwrap()).unwrap()
    };
    assert_eq!(at("last_used_at"), app.clock.now());
    assert_eq!(
        at("expires_at") - at("last_used_at"),
        chrono::Duration::seconds(pair["refresh_expires_in"].as_i64().unwrap())
    );
    assert!(at("last_used_at") > at("created_at"));
    let bad = refresh(&app, "not-a-token").await;
    assert_eq!(bad.problem(400)["type"], "urn:roster:problem:invalid-token");
}

async fn refresh_token_reuse_revokes_the_session(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let other_device = app.login(&session.username, DEFAULT_PASSWORD).await;
    let rotated = refresh(&app, &session.refresh_token).await.json();
    // The old token again, after the grace window: 401, and the whole session is revoked.
    app.clock.advance(chrono::Duration::seconds(11));
    refresh(&app, &session.refresh_token).await.problem(401);
    refresh(&app, rotated["refresh_token"].as_str().unwrap())
        .await
        .problem(400);
    app.get("/api/v1/auth/me")
        .bearer(rotated["access_token"].as_str().unwrap())
        .send()
        .await
        .problem(401);
    app.get("/api/v1/auth/me")
        .bearer(&session.access_token)
        .send()
        .await
        .problem(401);
    // Other sessions are untouched.
    assert_eq!(
        app.get("/api/v1/auth/me")
            .bearer(&other_device.access_token)
            .send()
            .await
            .status,
        200
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'refresh_token_reuse'")
            .await,
        1
    );
}

/// Versions before migration 0009 wrote `used_at` into a rotated token; such a mark
/// still makes a presentation reuse, with or without a successor row.
async fn a_token_marked_used_by_an_older_version_counts_as_used(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    app.exec("UPDATE refresh_tokens SET used_at = created_at")
        .await;
    refresh(&app, &session.refresh_token).await.problem(401);
    app.get("/api/v1/auth/me")
        .bearer(&session.access_token)
        .send()
        .await
        .problem(401);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM refresh_tokens").await,
        1,
        "no successor was issued"
    );
}

/// With the grace window off (`REFRESH_REUSE_GRACE_SECONDS=0`), every presentation of a
/// token after the one that rotated it is reuse, concurrent or not.
async fn concurrent_refreshes_with_one_token_leave_one_winner(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("REFRESH_REUSE_GRACE_SECONDS", "0")
        .start()
        .await;
    let session = app.user().await;
    let results =
        futures::future::join_all((0..3).map(|_| refresh(&app, &session.refresh_token))).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status.as_u16()).collect();
    // At most one rotation wins; a second presentation is reuse (401); once the session
    // is revoked, a later one finds a dead session (400).
    assert!(
        statuses.iter().filter(|s| **s == 200).count() <= 1,
        "{statuses:?}"
    );
    assert!(statuses.contains(&401), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [200, 400, 401].contains(s)),
        "{statuses:?}"
    );
    // Whatever won, the session is revoked because the token was presented twice.
    for result in results.iter().filter(|r| r.status == 200) {
        app.get("/api/v1/auth/me")
            .bearer(result.json()["access_token"].as_str().unwrap())
            .send()
            .await
            .problem(401);
    }
}

/// More refreshes at once than one rotation statement carries (`MAX_BATCH`), some of
/// them with a token already used: each live token rotates exactly once into a working
/// successor, each used one revokes its own session only.
async fn simultaneous_refreshes_of_many_sessions_each_rotate_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let first = app.user().await;
    let mut sessions = vec![first.clone()];
    for _ in 1..roster::tokens::rotation::MAX_BATCH + 8 {
        sessions.push(app.login(&first.username, DEFAULT_PASSWORD).await);
    }
    // Two sessions whose current token is already a successor: presenting the
    // predecessor is reuse.
    let presented: Vec<String> = sessions.iter().map(|s| s.refresh_token.clone()).collect();
    for reused in &sessions[..2] {
        refresh(&app, &reused.refresh_token).await.json();
    }
    app.clock.advance(chrono::Duration::seconds(11));
    let answers =
        futures::future::join_all(presented.iter().map(|token| refresh(&app, token))).await;
    for (i, answer) in answers.iter().enumerate() {
        let expected = if i < 2 { 401 } else { 200 };
        assert_eq!(answer.status, expected, "token {i}: {}", answer.text);
    }
    let pairs: Vec<serde_json::Value> = answers[2..sessions.len()]
        .iter()
        .map(|a| a.json())
        .collect();
    let successors: Vec<&str> = pairs
        .iter()
        .map(|p| p["refresh_token"].as_str().unwrap())
        .collect();
    let distinct: std::collections::HashSet<&&str> = successors.iter().collect();
    assert_eq!(distinct.len(), successors.len());
    for (pair, session) in pairs.iter().zip(&sessions[2..]) {
        assert_eq!(pair["session_id"], session.session_id.as_str());
    }
    // Every successor works once more; the two reused sessions are gone.
    let again =
        futures::future::join_all(successors.iter().map(|token| refresh(&app, token))).await;
    let statuses: Vec<u16> = again.iter().map(|a| a.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let access = again[0].json()["access_token"].as_str().unwrap().to_owned();
    let live = app
        .get("/api/v1/auth/sessions")
        .bearer(&access)
        .send()
        .await
        .json();
    assert_eq!(live["items"].as_array().unwrap().len(), sessions.len() - 2);
}

async fn logout_revokes_the_access_token_at_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let response = app
        .post("/api/v1/auth/logout")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    app.get("/api/v1/auth/me")
        .bearer(&session.access_token)
        .send()
        .await
        .problem(401);
    refresh(&app, &session.refresh_token).await.problem(400);
    app.post("/api/v1/auth/logout").send().await.problem(401);
}

async fn logout_all_revokes_every_session(backend: Backend) {
    let app = TestApp::new(backend).await;
    let first = app.user().await;
    let second = app.login(&first.username, DEFAULT_PASSWORD).await;
    let bystander = app.user().await;
    assert_eq!(
        app.post("/api/v1/auth/logout-all")
            .bearer(&first.access_token)
            .send()
            .await
            .status,
        204
    );
    for session in [&first, &second] {
        app.get("/api/v1/auth/me")
            .bearer(&session.access_token)
            .send()
            .await
            .problem(401);
        refresh(&app, &session.refresh_token).await.problem(400);
    }
    assert_eq!(
        app.get("/api/v1/auth/me")
            .bearer(&bystander.access_token)
            .send()
            .await
            .status,
        200
    );
}

async fn revocation_applies_on_every_instance_at_once(backend: Backend) {
    let first = TestApp::new(backend).await;
    let second = first.sibling().await;
    let session = first.user().await;
    let other = first.login(&session.username, DEFAULT_PASSWORD).await;
    assert_eq!(
        second
            .get("/api/v1/auth/me")
            .bearer(&session.access_token)
            .send()
            .await
            .status,
        200
    );
    // Logout on instance 1, the very next request on instance 2 is refused.
    assert_eq!(
        first
            .post("/api/v1/auth/logout")
            .bearer(&session.access_token)
            .send()
            .await
            .status,
        204
    );
    second
        .get("/api/v1/auth/me")
        .bearer(&session.access_token)
        .send()
        .await
        .problem(401);
    // Session revocation on instance 2 takes effect on instance 1.
    let response = second
        .delete(&format!("/api/v1/auth/sessions/{}", other.session_id))
        .bearer(&other.access_token)
        .send()
        .await;
    assert_eq!(response.status, 204);
    first
        .get("/api/v1/auth/me")
        .bearer(&other.access_token)
        .send()
        .await
        .problem(401);
}

async fn sessions_list_shows_active_sessions_and_marks_the_current_one(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let response = app
        .post("/api/v1/auth/login")
        .header("user-agent", "TestPhone/1.0")
        .from_ip("203.0.113.7")
        .json(json!({"login": session.username, "password": DEFAULT_PASSWORD, "device_name": "phone"}))
        .send()
        .await;
    let phone = Session::from_pair(&response.json(), &session.username, DEFAULT_PASSWORD);
    let ended = app.login(&session.username, DEFAULT_PASSWORD).await;
    app.post("/api/v1/auth/logout")
        .bearer(&ended.access_token)
        .send()
        .await;

    let list = app
        .get("/api/v1/auth/sessions")
        .bearer(&phone.access_token)
        .send()
        .await
        .json();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    let current: Vec<_> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], phone.session_id.as_str());
    assert_eq!(current[0]["device_name"], "phone");
    assert_eq!(current[0]["ip"], "203.0.113.7");
    assert_eq!(current[0]["user_agent"], "TestPhone/1.0");
    for field in ["created_at", "last_used_at", "expires_at"] {
        assert!(current[0][field].is_string(), "{field}");
    }
}

async fn revoking_a_session_of_another_user_is_404(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let bob = app.user().await;
    let path = format!("/api/v1/auth/sessions/{}", bob.session_id);
    app.delete(&path)
        .bearer(&alice.access_token)
        .send()
        .await
        .problem(404);
    assert_eq!(
        app.get("/api/v1/auth/me")
            .bearer(&bob.access_token)
            .send()
            .await
            .status,
        200
    );
    app.delete("/api/v1/auth/sessions/not-a-uuid")
        .bearer(&alice.access_token)
        .send()
        .await
        .problem(404);
    let unknown = format!("/api/v1/auth/sessions/{}", uuid::Uuid::now_v7());
    app.delete(&unknown)
        .bearer(&alice.access_token)
        .send()
        .await
        .problem(404);
    assert_eq!(
        app.delete(&format!("/api/v1/auth/sessions/{}", alice.session_id))
            .bearer(&alice.access_token)
            .send()
            .await
            .status,
        204
    );
    app.get("/api/v1/auth/me")
        .bearer(&alice.access_token)
        .send()
        .await
        .problem(401);
}

async fn expired_refresh_tokens_are_refused_and_purged(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let live = app.user().await;
    app.clock.advance(chrono::Duration::days(6));
    let kept = refresh(&app, &live.refresh_token).await;
    assert_eq!(kept.status, 200, "refreshing slides the session's expiry");
    app.clock
        .advance(chrono::Duration::days(1) + chrono::Duration::seconds(1));
    refresh(&app, &session.refresh_token).await.problem(400);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 2);
    let purged = roster::maintenance::purge(&app.state).await.unwrap();
    assert!(purged >= 2, "{purged}");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
    let rotated = kept.json();
    assert_eq!(
        refresh(&app, rotated["refresh_token"].as_str().unwrap())
            .await
            .status,
        200
    );
}

/// A token is used because its successor's row names it, so the purge must not delete
/// that row while the predecessor is still unexpired: a successor can expire first when
/// `REFRESH_TOKEN_EXPIRE_DAYS` was lowered between the two. Here the successor's expiry is
/// set back directly, as that lowered lifetime would have set it.
async fn a_used_token_stays_used_when_its_successor_expires_first(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let rotated = refresh(&app, &session.refresh_token).await.json();
    refresh(&app, rotated["refresh_token"].as_str().unwrap())
        .await
        .json();
    app.exec(
        "UPDATE refresh_tokens SET expires_at = created_at WHERE id IN \
         (SELECT successor.id FROM refresh_tokens successor JOIN refresh_tokens first \
          ON first.id = successor.rotated_from WHERE first.rotated_from IS NULL)",
    )
    .await;
    app.clock.advance(chrono::Duration::seconds(1));
    roster::maintenance::purge(&app.state).await.unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM refresh_tokens").await,
        3,
        "the expired successor stays while its predecessor has not expired"
    );
    refresh(&app, &session.refresh_token).await.problem(401);
}

async fn a_deactivated_account_loses_its_tokens_at_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    app.exec("UPDATE users SET is_active = FALSE").await;
    app.get("/api/v1/auth/me")
        .bearer(&session.access_token)
        .send()
        .await
        .problem(401);
    refresh(&app, &session.refresh_token).await.problem(400);
}

/// An unknown token is decided inside a write transaction that ends without a commit;
/// on SQLite that transaction held the write lock on the one writing connection. It is
/// rolled back at once: another connection (as another process would) writes without
/// waiting for the busy timeout (5 s), and the application's own writes go on.
async fn a_refused_refresh_leaves_no_write_lock_behind(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    refresh(&app, "not-a-token").await.problem(400);
    let started = std::time::Instant::now();
    app.exec("UPDATE sessions SET device_name = 'elsewhere'")
        .await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let rotated = refresh(&app, &session.refresh_token).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let sessions = app
        .get("/api/v1/auth/sessions")
        .bearer(rotated.json()["access_token"].as_str().unwrap())
        .send()
        .await
        .json();
    assert_eq!(sessions["items"][0]["device_name"], "elsewhere");
}
