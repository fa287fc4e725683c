//! Tier changes and statistics: upgrade and downgrade change the stored tier (audited),
//! new access tokens carry it, and `/me/stats` reports the caller's figures.

use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;
use crate::users::support::{claims, full_profile, get_ok};

on_both_engines!(
    upgrade_and_downgrade_change_the_tier_and_new_tokens_carry_it,
    stats_report_sessions_logins_membership_and_completeness,
);

async fn upgrade_and_downgrade_change_the_tier_and_new_tokens_carry_it(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    assert_eq!(claims(&alice.access_token)["tier"], "basic");
    app.get("/api/v1/users/search?q=user")
        .bearer(&alice.access_token)
        .send()
        .await
        .problem(403);

    let upgraded = app
        .post("/api/v1/users/me/upgrade")
        .bearer(&alice.access_token)
        .send()
        .await;
    assert_eq!(upgraded.status, 200, "{}", upgraded.text);
    assert_eq!(upgraded.json()["tier"], "premium");
    // The stored tier applies at once, even with the token issued before.
    assert_eq!(
        app.get("/api/v1/users/search?q=user")
            .bearer(&alice.access_token)
            .send()
            .await
            .status,
        200
    );
    // Tokens issued from now on carry it: by refresh and by login.
    let refreshed = app
        .post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": alice.refresh_token}))
        .send()
        .await
        .json();
    assert_eq!(
        claims(refreshed["access_token"].as_str().unwrap())["tier"],
        "premium"
    );
    let relogged = app.login(&alice.username, DEFAULT_PASSWORD).await;
    assert_eq!(claims(&relogged.access_token)["tier"], "premium");
    // Idempotent.
    let again = app
        .post("/api/v1/users/me/upgrade")
        .bearer(&relogged.access_token)
        .send()
        .await;
    assert_eq!(again.json()["tier"], "premium");

    let downgraded = app
        .post("/api/v1/users/me/downgrade")
        .bearer(&relogged.access_token)
        .send()
        .await;
    assert_eq!(downgraded.json()["tier"], "basic");
    let after = app.login(&alice.username, DEFAULT_PASSWORD).await;
    assert_eq!(claims(&after.access_token)["tier"], "basic");
    app.get("/api/v1/users/search?q=user")
        .bearer(&relogged.access_token)
        .send()
        .await
        .problem(403);
    // Two real changes, two audit rows.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'tier_change'")
            .await,
        2
    );
    app.post("/api/v1/users/me/upgrade")
        .send()
        .await
        .problem(401);
}

async fn stats_report_sessions_logins_membership_and_completeness(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let stats = get_ok(&app, "/api/v1/users/me/stats", &alice.access_token).await;
    assert_eq!(stats["active_sessions"], 1);
    assert_eq!(stats["total_logins"], 1);
    assert_eq!(stats["profile_completeness"], 11, "full name only: 1 of 9");
    for figure in ["badges", "goals_total", "goals_completed", "longest_streak"] {
        assert!(stats[figure].as_i64().is_some_and(|n| n >= 0), "{figure}");
    }
    let me = get_ok(&app, "/api/v1/users/me", &alice.access_token).await;
    assert_eq!(stats["member_since"], me["created_at"]);
    assert_eq!(stats["last_login_at"], me["last_login_at"]);

    app.clock.advance(chrono::Duration::minutes(1));
    let second = app.login(&alice.username, DEFAULT_PASSWORD).await;
    let third = app.login(&alice.username, DEFAULT_PASSWORD).await;
    app.post("/api/v1/auth/logout")
        .bearer(&third.access_token)
        .send()
        .await;
    app.put("/api/v1/users/me/profile")
        .bearer(&second.access_token)
        .json(full_profile())
        .send()
        .await;
    let stats = get_ok(&app, "/api/v1/users/me/stats", &second.access_token).await;
    assert_eq!(stats["active_sessions"], 2);
    assert_eq!(stats["total_logins"], 3);
    assert_eq!(stats["profile_completeness"], 100);
    assert_ne!(stats["last_login_at"], me["last_login_at"]);
    app.get("/api/v1/users/me/stats").send().await.problem(401);
}
