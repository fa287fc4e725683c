//! The sessions, applications and achievements pages: each form does what its JSON
//! endpoint does (checked through the API); and every form of the four pages needs its
//! CSRF token.

use serde_json::json;

use super::{NEW_PASSWORD, me_status};
use crate::console::{signed_in, submit};
use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::oidc::{confidential_client, sign_in_through};
use crate::on_both_engines;

on_both_engines!(
    a_session_signed_out_on_the_page_is_refused_by_the_api,
    withdrawing_an_application_kills_its_tokens,
    badges_and_goals_round_trip_with_the_api,
    every_post_without_the_csrf_token_is_refused_and_changes_nothing,
);

async fn a_session_signed_out_on_the_page_is_refused_by_the_api(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let other = app.login(&user.username, DEFAULT_PASSWORD).await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get("/account/sessions").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(
        page.text.matches("/sign-out\"").count(),
        4,
        "three sessions and the frame's"
    );
    assert!(page.text.contains("(this browser)"));
    let action = format!("/account/sessions/{}/sign-out", user.session_id);
    let out = submit(&mut browser, &page, &action, &[]).await;
    assert_eq!(
        out.header("location"),
        Some("/account/sessions?done=signed-out")
    );
    assert_eq!(me_status(&app, &user.access_token).await, 401);
    assert_eq!(me_status(&app, &other.access_token).await, 200);
    // Again: it had ended.
    let again = submit(&mut browser, &page, &action, &[]).await;
    assert_eq!(again.status, 404);

    let everywhere = submit(
        &mut browser,
        &page,
        "/account/sessions/sign-out-others",
        &[],
    )
    .await;
    assert_eq!(
        everywhere.header("location"),
        Some("/account/sessions?done=signed-out-others")
    );
    assert_eq!(me_status(&app, &other.access_token).await, 401);
    let after = browser.get("/account/sessions").await;
    assert_eq!(after.status, 200);
    assert_eq!(
        after.text.matches("/sign-out\"").count(),
        2,
        "{}",
        after.text
    );
}

async fn withdrawing_an_application_kills_its_tokens(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, false).await;
    let user = app.user().await;
    let tokens = sign_in_through(&app, &client, &user, "openid profile").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/oauth2/userinfo")
            .bearer(access)
            .send()
            .await
            .status,
        200
    );

    let mut browser = signed_in(&app, &user).await;
    let page = browser.get("/account/applications").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Study Spots"));
    assert!(page.text.contains("see your name, username and picture"));
    let client_id = client["client_id"].as_str().unwrap();
    let action = format!("/account/applications/{client_id}/withdraw");
    let withdrawn = submit(&mut browser, &page, &action, &[]).await;
    assert_eq!(
        withdrawn.header("location"),
        Some("/account/applications?done=withdrawn")
    );
    assert_eq!(
        app.get("/oauth2/userinfo")
            .bearer(access)
            .send()
            .await
            .status,
        401
    );
    let grants = app
        .get("/api/v1/users/me/grants")
        .bearer(&user.access_token)
        .send()
        .await
        .json();
    assert_eq!(grants["items"], json!([]));
    let after = browser.follow(&withdrawn).await;
    assert!(after.text.contains("Access withdrawn"), "{}", after.text);
    assert!(!after.text.contains("Study Spots"));
    assert_eq!(submit(&mut browser, &page, &action, &[]).await.status, 404);
}

async fn badges_and_goals_round_trip_with_the_api(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let path = "/account/achievements";
    let page = browser.get(path).await;
    assert_eq!(page.status, 200, "{}", page.text);

    let bad = submit(
        &mut browser,
        &page,
        "/account/achievements/badges",
        &[
            ("name", " "),
            ("description", "kept"),
            ("icon_url", "ftp://example.com/a.png"),
            ("date_achieved", "2999-01-01"),
        ],
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(
        bad.text
            .contains("Must be 1 to 100 characters (not blank)."),
        "{}",
        bad.text
    );
    assert!(bad.text.contains("Must be an absolute http or https URL."));
    assert!(bad.text.contains("Must not be in the future."));
    assert!(bad.text.contains("aria-describedby=\"badge-name-error\""));
    assert!(bad.text.contains(">kept</textarea>"));
    let added = submit(
        &mut browser,
        &page,
        "/account/achievements/badges",
        &[
            ("name", "Week of Rust"),
            ("description", ""),
            ("icon_url", "https://example.com/r.png"),
            ("date_achieved", "2026-01-02"),
        ],
    )
    .await;
    assert_eq!(added.status, 303, "{}", added.text);
    let badges_url = format!("/api/v1/users/{}/badges", user.user_id);
    let badges = app.get(&badges_url).send().await.json();
    assert_eq!(badges["items"][0]["name"], "Week of Rust");
    assert_eq!(badges["items"][0]["date_achieved"], "2026-01-02T00:00:00Z");
    let twice = submit(
        &mut browser,
        &page,
        "/account/achievements/badges",
        &[("name", "week of rust")],
    )
    .await;
    assert_eq!(twice.status, 409);
    assert!(
        twice
            .text
            .contains("This user already has a badge with this name.")
    );

    let goal = submit(
        &mut browser,
        &page,
        "/account/achievements/goals",
        &[
            ("title", "Finish the book"),
            ("description", "all of it"),
            ("status", "in-progress"),
        ],
    )
    .await;
    assert_eq!(goal.status, 303, "{}", goal.text);
    let goals_url = format!("/api/v1/users/{}/goals", user.user_id);
    let goals = app.get(&goals_url).send().await.json();
    let id = goals["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(goals["items"][0]["status"], "in-progress");
    // One made through the API shows on the page.
    app.post(&goals_url)
        .bearer(&user.access_token)
        .json(json!({"title": "From the API"}))
        .send()
        .await;
    let page = browser.get(path).await;
    assert!(page.text.contains("From the API") && page.text.contains("Week of Rust"));
    let filtered = browser
        .get("/account/achievements?status=not-started")
        .await;
    assert!(filtered.text.contains("From the API") && !filtered.text.contains("Finish the book"));
    let unknown = browser.get("/account/achievements?status=done").await;
    assert_eq!(unknown.status, 422);
    assert!(
        unknown
            .text
            .contains("Must be one of not-started, in-progress, completed, abandoned.")
    );

    let checked = submit(
        &mut browser,
        &page,
        &format!("/account/achievements/goals/{id}/check-in"),
        &[],
    )
    .await;
    assert_eq!(checked.status, 303, "{}", checked.text);
    let blank = submit(
        &mut browser,
        &page,
        &format!("/account/achievements/goals/{id}"),
        &[("title", ""), ("description", ""), ("status", "completed")],
    )
    .await;
    assert_eq!(blank.status, 422);
    assert!(blank.text.contains(&format!("id=\"{id}-title-error\"")));
    let saved = submit(
        &mut browser,
        &page,
        &format!("/account/achievements/goals/{id}"),
        &[
            ("title", "Finished the book"),
            ("description", ""),
            ("status", "completed"),
        ],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    let shown = app
        .get(&format!("{goals_url}?status=completed"))
        .send()
        .await
        .json();
    assert_eq!(shown["items"][0]["title"], "Finished the book");
    assert_eq!(shown["items"][0]["streak_count"], 1);
    assert!(shown["items"][0]["description"].is_null());
    let closed = submit(
        &mut browser,
        &page,
        &format!("/account/achievements/goals/{id}/check-in"),
        &[],
    )
    .await;
    assert_eq!(closed.status, 409);
    assert!(
        closed.text.contains("The goal is completed"),
        "{}",
        closed.text
    );
    let deleted = submit(
        &mut browser,
        &page,
        &format!("/account/achievements/goals/{id}/delete"),
        &[],
    )
    .await;
    assert_eq!(deleted.status, 303);
    let goals = app.get(&goals_url).send().await.json();
    assert_eq!(goals["items"].as_array().unwrap().len(), 1);
    let gone = submit(
        &mut browser,
        &page,
        &format!("/account/achievements/goals/{id}/delete"),
        &[],
    )
    .await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event IN ('badge_awarded', 'goal_created', 'goal_updated', 'goal_deleted')").await,
        5
    );
}

async fn every_post_without_the_csrf_token_is_refused_and_changes_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let goal = app
        .post(&format!("/api/v1/users/{}/goals", user.user_id))
        .bearer(&user.access_token)
        .json(json!({"title": "Kept"}))
        .send()
        .await
        .json();
    let goal_id = goal["id"].as_str().unwrap();
    let posts = [
        (
            "/account/security/password".to_owned(),
            vec![
                ("current_password", DEFAULT_PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        ),
        (
            "/account/security/reauthenticate".to_owned(),
            vec![("password", DEFAULT_PASSWORD)],
        ),
        ("/account/security/totp".to_owned(), vec![]),
        (
            "/account/security/totp/confirm".to_owned(),
            vec![("code", "123456")],
        ),
        ("/account/security/totp/remove".to_owned(), vec![]),
        ("/account/security/recovery-codes".to_owned(), vec![]),
        (
            format!("/account/security/passkeys/{goal_id}/remove"),
            vec![],
        ),
        (
            "/account/security/passkeys".to_owned(),
            vec![
                ("name", "x"),
                ("challenge_id", goal_id),
                ("credential", "{}"),
            ],
        ),
        (
            format!("/account/sessions/{}/sign-out", user.session_id),
            vec![],
        ),
        ("/account/sessions/sign-out-others".to_owned(), vec![]),
        (
            "/account/applications/some-client/withdraw".to_owned(),
            vec![],
        ),
        (
            "/account/achievements/badges".to_owned(),
            vec![("name", "Forged")],
        ),
        (
            "/account/achievements/goals".to_owned(),
            vec![("title", "Forged")],
        ),
        (
            format!("/account/achievements/goals/{goal_id}"),
            vec![("title", "Forged"), ("status", "abandoned")],
        ),
        (
            format!("/account/achievements/goals/{goal_id}/check-in"),
            vec![],
        ),
        (
            format!("/account/achievements/goals/{goal_id}/delete"),
            vec![],
        ),
    ];
    for (action, fields) in &posts {
        let mut form = vec![("csrf_token", "forged")];
        form.extend_from_slice(fields);
        let response = browser.post(action, &form).await;
        assert_eq!(response.status, 403, "{action}: {}", response.text);
        let without: Vec<(&str, &str)> = fields.clone();
        assert_eq!(browser.post(action, &without).await.status, 403, "{action}");
    }
    let options = browser
        .post(
            "/account/security/passkey-options",
            &[("csrf_token", "forged"), ("purpose", "register")],
        )
        .await;
    assert_eq!(options.status, 403);
    // Nothing changed.
    assert_eq!(me_status(&app, &user.access_token).await, 200);
    app.login(&user.username, DEFAULT_PASSWORD).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM mfa_totp").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM badges").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webauthn_challenges").await,
        0
    );
    let goals = app
        .get(&format!("/api/v1/users/{}/goals", user.user_id))
        .send()
        .await
        .json();
    assert_eq!(goals["items"].as_array().unwrap().len(), 1);
    assert_eq!(goals["items"][0]["title"], "Kept");
    assert_eq!(goals["items"][0]["streak_count"], 0);
    assert_eq!(browser.get("/account").await.status, 200);
}
