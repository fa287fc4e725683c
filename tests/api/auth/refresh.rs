//! Refresh as real clients do it: two tabs or a retried request present one refresh
//! token twice, within `REFRESH_REUSE_GRACE_SECONDS` of its rotation, and keep their
//! session; later, or two generations back, a used token is theft; every refusal says
//! why, on `/refresh` and on the OAuth2 token endpoint.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp, TestResponse};
use crate::on_both_engines;

on_both_engines!(
    a_token_presented_again_within_the_window_gets_the_same_successor,
    two_generations_back_is_theft_even_within_the_window,
    after_the_window_reuse_revokes_the_session_and_names_both_generations,
    a_grace_of_zero_makes_every_second_presentation_theft,
    concurrent_refreshes_of_one_token_all_succeed_with_one_successor,
    two_instances_refreshing_one_token_at_once_agree_on_the_successor,
    each_refusal_says_why,
    the_oauth_refresh_grant_repeats_and_refuses_the_same_way,
    a_tab_refreshing_with_the_token_a_reauthentication_replaced_gets_its_successor,
);

async fn refresh(app: &TestApp, token: &str) -> TestResponse {
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": token}))
        .send()
        .await
}

async fn refreshed(app: &TestApp, token: &str) -> Value {
    let response = refresh(app, token).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.json()
}

fn refresh_token(pair: &Value) -> &str {
    pair["refresh_token"].as_str().unwrap()
}

async fn me_status(app: &TestApp, pair: &Value) -> u16 {
    app.get("/api/v1/auth/me")
        .bearer(pair["access_token"].as_str().unwrap())
        .send()
        .await
        .status
        .as_u16()
}

async fn a_token_presented_again_within_the_window_gets_the_same_successor(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let first = refreshed(&app, &session.refresh_token).await;
    app.clock.advance(Duration::seconds(10));
    // The retry of a refresh whose answer was lost: the same successor, a fresh access
    // token, and the session is untouched.
    let again = refreshed(&app, &session.refresh_token).await;
    assert_eq!(refresh_token(&again), refresh_token(&first));
    assert_ne!(again["access_token"], first["access_token"]);
    assert_eq!(again["session_id"], session.session_id.as_str());
    assert!(again["refresh_expires_in"].as_i64().unwrap() > 0);
    assert_eq!(me_status(&app, &first).await, 200);
    assert_eq!(me_status(&app, &again).await, 200);
    // Nothing was written: the session still has exactly one live refresh token, the
    // successor, which rotates as usual.
    assert_eq!(app.count("SELECT COUNT(*) FROM refresh_tokens").await, 2);
    let next = refreshed(&app, refresh_token(&first)).await;
    assert_eq!(me_status(&app, &next).await, 200);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'refresh_token_reuse'")
            .await,
        0
    );
}

/// Once the successor has itself been rotated, the first token is two generations
/// back: presenting it is theft even a second later.
async fn two_generations_back_is_theft_even_within_the_window(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let first = refreshed(&app, &session.refresh_token).await;
    let second = refreshed(&app, refresh_token(&first)).await;
    app.clock.advance(Duration::seconds(1));
    let theft = refresh(&app, &session.refresh_token).await;
    assert_eq!(
        theft.problem(401)["type"],
        "urn:roster:problem:refresh-token-reused"
    );
    assert_eq!(me_status(&app, &second).await, 401);
    let after = refresh(&app, refresh_token(&second)).await;
    assert_eq!(
        after.problem(400)["type"],
        "urn:roster:problem:session-revoked"
    );
}

async fn after_the_window_reuse_revokes_the_session_and_names_both_generations(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let session = app.user().await;
    let other_device = app.login(&session.username, DEFAULT_PASSWORD).await;
    let first = refreshed(&app, &session.refresh_token).await;
    app.clock.advance(Duration::seconds(11));
    let theft = refresh(&app, &session.refresh_token).await;
    let problem = theft.problem(401);
    assert_eq!(problem["type"], "urn:roster:problem:refresh-token-reused");
    assert!(
        theft
            .header("www-authenticate")
            .is_some_and(|h| h.contains("invalid_token")),
        "{:?}",
        theft.header("www-authenticate")
    );
    // The whole session is gone: the successor and every access token of it.
    let successor = refresh(&app, refresh_token(&first)).await;
    assert_eq!(
        successor.problem(400)["type"],
        "urn:roster:problem:session-revoked"
    );
    assert_eq!(me_status(&app, &first).await, 401);
    let other = app
        .get("/api/v1/auth/me")
        .bearer(&other_device.access_token)
        .send()
        .await;
    assert_eq!(other.status, 200, "other sessions are untouched");
    let audit = app
        .get(&format!(
            "/api/v1/admin/audit?event=refresh_token_reuse&user_id={}",
            session.user_id
        ))
        .bearer(&admin.access_token)
        .send()
        .await
        .json();
    let events = audit["items"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{audit}");
    let detail = &events[0]["detail"];
    assert_eq!(detail["session_id"], session.session_id.as_str());
    let presented = detail["presented_token_id"].as_str().unwrap();
    let successor = detail["successor_token_id"].as_str().unwrap();
    assert_ne!(presented, successor);
    assert_eq!(detail["successor_used"], false);
    assert_eq!(detail["grace_seconds"], 10);
    assert!(detail["rotated_at"].is_string());
}

async fn a_grace_of_zero_makes_every_second_presentation_theft(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("REFRESH_REUSE_GRACE_SECONDS", "0")
        .start()
        .await;
    let session = app.user().await;
    let first = refreshed(&app, &session.refresh_token).await;
    let again = refresh(&app, &session.refresh_token).await;
    assert_eq!(
        again.problem(401)["type"],
        "urn:roster:problem:refresh-token-reused"
    );
    assert_eq!(me_status(&app, &first).await, 401);
}

/// Three and more requests with one token at once (tabs waking up together) all get the
/// one successor; the session stays live with that single refresh token.
async fn concurrent_refreshes_of_one_token_all_succeed_with_one_successor(backend: Backend) {
    let app = TestApp::new(backend).await;
    for at_once in [3, 8] {
        let session = app.user().await;
        let answers =
            futures::future::join_all((0..at_once).map(|_| refresh(&app, &session.refresh_token)))
                .await;
        for answer in &answers {
            assert_eq!(answer.status, 200, "{at_once} at once: {}", answer.text);
        }
        let successors: std::collections::HashSet<String> = answers
            .iter()
            .map(|a| refresh_token(&a.json()).to_owned())
            .collect();
        assert_eq!(successors.len(), 1, "{at_once} at once: {successors:?}");
        let successor = successors.into_iter().next().unwrap();
        for answer in &answers {
            assert_eq!(me_status(&app, &answer.json()).await, 200);
        }
        assert_eq!(
            me_status(&app, &refreshed(&app, &successor).await).await,
            200
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'refresh_token_reuse'")
            .await,
        0
    );
    // Per session: the login's token, its one successor, and that one's successor.
    assert_eq!(app.count("SELECT COUNT(*) FROM refresh_tokens").await, 6);
}

/// Two instances on one database, each asked at the same moment with the same token,
/// round after round: they derive the same successor, so whichever writes it, both
/// answer with it.
async fn two_instances_refreshing_one_token_at_once_agree_on_the_successor(backend: Backend) {
    let app = TestApp::new(backend).await;
    let sibling = app.sibling().await;
    let session = app.user().await;
    let mut token = session.refresh_token.clone();
    for round in 0..6 {
        let on = |i: usize| if i % 2 == 0 { &app } else { &sibling };
        let answers = futures::future::join_all((0..4).map(|i| refresh(on(i), &token))).await;
        let mut successors = std::collections::HashSet::new();
        for answer in &answers {
            assert_eq!(answer.status, 200, "round {round}: {}", answer.text);
            successors.insert(refresh_token(&answer.json()).to_owned());
        }
        assert_eq!(successors.len(), 1, "round {round}: {successors:?}");
        token = successors.into_iter().next().unwrap();
        assert_eq!(me_status(&sibling, &answers[0].json()).await, 200);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM refresh_tokens").await,
        7,
        "one successor per round"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL")
            .await,
        1
    );
}

async fn each_refusal_says_why(backend: Backend) {
    let app = TestApp::new(backend).await;
    let problem_type = |response: TestResponse| response.problem(400)["type"].clone();
    assert_eq!(
        problem_type(refresh(&app, "not-a-token").await),
        "urn:roster:problem:invalid-token"
    );
    // Logged out: the session has ended.
    let logged_out = app.user().await;
    app.post("/api/v1/auth/logout")
        .bearer(&logged_out.access_token)
        .send()
        .await;
    assert_eq!(
        problem_type(refresh(&app, &logged_out.refresh_token).await),
        "urn:roster:problem:session-revoked"
    );
    // Deactivated by an administrator: the same.
    let admin = app.admin().await;
    let deactivated = app.user().await;
    let response = app
        .patch(&format!("/api/v1/admin/users/{}", deactivated.user_id))
        .bearer(&admin.access_token)
        .json(json!({"is_active": false}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        problem_type(refresh(&app, &deactivated.refresh_token).await),
        "urn:roster:problem:session-revoked"
    );
    // Past its lifetime (7 days): expired, and the client should log in again.
    let idle = app.user().await;
    app.clock.advance(Duration::days(8));
    let expired = refresh(&app, &idle.refresh_token).await;
    let body = expired.problem(400);
    assert_eq!(body["type"], "urn:roster:problem:refresh-token-expired");
    assert!(body["detail"].as_str().unwrap().contains("log in again"));
}

async fn oauth_refresh(app: &TestApp, token: &str) -> TestResponse {
    app.post("/api/v1/auth/token")
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
}

async fn the_oauth_refresh_grant_repeats_and_refuses_the_same_way(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let first = oauth_refresh(&app, &session.refresh_token).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = oauth_refresh(&app, &session.refresh_token).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["refresh_token"], first.json()["refresh_token"]);
    let error = |response: TestResponse| {
        assert_eq!(response.status, 400, "{}", response.text);
        let body = response.json();
        assert_eq!(body["error"], "invalid_grant");
        body["error_description"].as_str().unwrap().to_owned()
    };
    app.clock.advance(Duration::seconds(11));
    let reused = error(oauth_refresh(&app, &session.refresh_token).await);
    assert!(reused.contains("already used"), "{reused}");
    let successor = first.json()["refresh_token"].as_str().unwrap().to_owned();
    let revoked = error(oauth_refresh(&app, &successor).await);
    assert!(revoked.contains("session has ended"), "{revoked}");
    assert!(error(oauth_refresh(&app, "not-a-token").await).contains("not known"));
    let idle = app.user().await;
    app.clock.advance(Duration::days(8));
    assert!(error(oauth_refresh(&app, &idle.refresh_token).await).contains("expired"));
}

/// One tab re-authenticates (which renews the session's refresh token) while another
/// refreshes with the token they shared: the second gets the token the
/// re-authentication issued, with the session's new authentication time, and the
/// session lives on.
async fn a_tab_refreshing_with_the_token_a_reauthentication_replaced_gets_its_successor(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    app.clock.advance(Duration::minutes(12));
    let renewed = app
        .post("/api/v1/auth/reauthenticate")
        .bearer(&session.access_token)
        .json(json!({"password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let renewed = renewed.json();
    app.clock.advance(Duration::seconds(2));
    let other_tab = refreshed(&app, &session.refresh_token).await;
    assert_eq!(refresh_token(&other_tab), refresh_token(&renewed));
    let auth_time = |pair: &Value| {
        crate::helpers::claims(pair["access_token"].as_str().unwrap())["auth_time"].clone()
    };
    assert_eq!(auth_time(&other_tab), auth_time(&renewed));
    assert_eq!(me_status(&app, &renewed).await, 200);
    assert_eq!(
        me_status(&app, &refreshed(&app, refresh_token(&renewed)).await).await,
        200
    );
}
