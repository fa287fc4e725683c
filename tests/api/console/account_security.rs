//! The security, sessions, applications and achievements pages: each form does what its
//! JSON endpoint does (checked through the API), needs its CSRF token, and shows a
//! refusal next to the field it names.

use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp, TestResponse};
use crate::mfa::{fresh_code, mfa_token};
use crate::oidc::{confidential_client, sign_in_through};
use crate::on_both_engines;

use super::{signed_in, submit};

on_both_engines!(
    a_password_change_on_the_page_keeps_this_browser_and_signs_out_the_rest,
    a_wrong_current_password_is_shown_and_counts_toward_the_lockout,
    totp_is_set_up_on_the_page_and_then_asked_at_sign_in,
    second_factor_changes_need_a_recent_sign_in,
    recovery_codes_are_shown_once,
    a_session_signed_out_on_the_page_is_refused_by_the_api,
    withdrawing_an_application_kills_its_tokens,
    badges_and_goals_round_trip_with_the_api,
    every_post_without_the_csrf_token_is_refused_and_changes_nothing,
    the_passkey_endpoints_check_the_form_and_the_credential,
);

const NEW_PASSWORD: &str = "Fresh-Lantern-Orbit-42";
const SECURITY: &str = "/account/security";

/// The text of the first `<code class="CLASS">` of a page.
fn code_of(page: &TestResponse, class: &str) -> String {
    let marker = format!("<code class=\"{class}\">");
    let start = page.text.find(&marker).expect(&marker) + marker.len();
    let end = page.text[start..].find("</code>").unwrap() + start;
    page.text[start..end].to_owned()
}

/// The recovery codes a page shows.
fn recovery_codes(page: &TestResponse) -> Vec<String> {
    page.text
        .split("<li><code>")
        .skip(1)
        .map(|rest| rest[..rest.find("</code>").unwrap()].to_owned())
        .collect()
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/auth/me")
        .bearer(token)
        .send()
        .await
        .status
        .as_u16()
}

async fn a_password_change_on_the_page_keeps_this_browser_and_signs_out_the_rest(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get(SECURITY).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");

    // The API's policy, with its message, next to the field; nothing changes.
    let weak = submit(
        &mut browser,
        &page,
        "/account/security/password",
        &[
            ("current_password", DEFAULT_PASSWORD),
            ("new_password", "short"),
            ("confirm_password", "short"),
        ],
    )
    .await;
    assert_eq!(weak.status, 422, "{}", weak.text);
    assert!(
        weak.text.contains("id=\"new_password-error\""),
        "{}",
        weak.text
    );
    assert!(
        weak.text
            .contains("aria-invalid=\"true\" aria-describedby=\"new_password-error")
    );
    assert_eq!(me_status(&app, &user.access_token).await, 200);

    let changed = submit(
        &mut browser,
        &page,
        "/account/security/password",
        &[
            ("current_password", DEFAULT_PASSWORD),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(changed.status, 303, "{}", changed.text);
    assert_eq!(
        changed.header("location"),
        Some("/account/security?done=password-changed")
    );
    let after = browser.follow(&changed).await;
    assert_eq!(after.status, 200);
    assert!(after.text.contains("Your password was changed"));
    // The API session of before is gone; the new password logs in, the old one not.
    assert_eq!(me_status(&app, &user.access_token).await, 401);
    app.login(&user.username, NEW_PASSWORD).await;
    let old = app
        .post("/api/v1/auth/login")
        .json(json!({"login": user.username, "password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(old.status, 401);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'password_change'")
            .await,
        1
    );
}

async fn a_wrong_current_password_is_shown_and_counts_toward_the_lockout(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get(SECURITY).await;
    let fields = [
        ("current_password", "Not-The-Password-1"),
        ("new_password", NEW_PASSWORD),
        ("confirm_password", NEW_PASSWORD),
    ];
    let wrong = submit(&mut browser, &page, "/account/security/password", &fields).await;
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    assert!(
        wrong.text.contains("Your current password is not correct."),
        "{}",
        wrong.text
    );
    assert!(
        wrong
            .text
            .contains("aria-describedby=\"current_password-error\"")
    );
    for _ in 0..4 {
        submit(&mut browser, &page, "/account/security/password", &fields).await;
    }
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_events WHERE event = 'password_confirmation_failure'"
        )
        .await,
        5
    );
    // Locked: the right password is refused too, on the page and through the API.
    let right = [
        ("current_password", DEFAULT_PASSWORD),
        ("new_password", NEW_PASSWORD),
        ("confirm_password", NEW_PASSWORD),
    ];
    let locked = submit(&mut browser, &page, "/account/security/password", &right).await;
    assert_eq!(locked.status, 429, "{}", locked.text);
    assert!(locked.header("retry-after").is_some());
    app.post("/api/v1/auth/change-password")
        .bearer(&user.access_token)
        .json(json!({"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .problem(429);
}

/// Sets up TOTP on the security page: the secret and the recovery codes shown.
async fn set_up_totp(
    app: &TestApp,
    browser: &mut crate::oidc::Browser<'_>,
) -> (String, Vec<String>) {
    let page = browser.get(SECURITY).await;
    let started = submit(browser, &page, "/account/security/totp", &[]).await;
    assert_eq!(started.status, 200, "{}", started.text);
    let secret = code_of(&started, "secret");
    assert!(code_of(&started, "uri").starts_with("otpauth:"));
    assert!(
        started.text.contains("<svg role=\"img\""),
        "an inline QR code"
    );
    let confirmed = submit(
        browser,
        &started,
        "/account/security/totp/confirm",
        &[("code", &fresh_code(app, &secret))],
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let codes = recovery_codes(&confirmed);
    assert_eq!(codes.len(), 10, "{}", confirmed.text);
    (secret, codes)
}

async fn totp_is_set_up_on_the_page_and_then_asked_at_sign_in(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get(SECURITY).await;
    let started = submit(&mut browser, &page, "/account/security/totp", &[]).await;
    let secret = code_of(&started, "secret");
    // A wrong code: said next to the field, the same set-up shown again.
    let wrong = submit(
        &mut browser,
        &started,
        "/account/security/totp/confirm",
        &[("code", "000000")],
    )
    .await;
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    assert!(
        wrong
            .text
            .contains("The code is not the authenticator&#x27;s current code."),
        "{}",
        wrong.text
    );
    assert_eq!(code_of(&wrong, "secret"), secret);
    let status = app
        .get("/api/v1/auth/mfa")
        .bearer(&user.access_token)
        .send()
        .await
        .json();
    assert_eq!(status["totp"], false);

    let confirmed = submit(
        &mut browser,
        &started,
        "/account/security/totp/confirm",
        &[("code", &fresh_code(&app, &secret))],
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    assert_eq!(recovery_codes(&confirmed).len(), 10);
    let status = app
        .get("/api/v1/auth/mfa")
        .bearer(&user.access_token)
        .send()
        .await
        .json();
    assert_eq!(status["totp"], true, "{status}");
    assert_eq!(status["recovery_codes_left"], 10);
    // Signing in now asks for the second factor.
    mfa_token(&app, &user).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'mfa_totp_added'")
            .await,
        1
    );
    // And it can be removed on the page.
    let page = browser.get(SECURITY).await;
    let removed = submit(&mut browser, &page, "/account/security/totp/remove", &[]).await;
    assert_eq!(
        removed.header("location"),
        Some("/account/security?done=totp-removed")
    );
    let status = app
        .get("/api/v1/auth/mfa")
        .bearer(&user.access_token)
        .send()
        .await
        .json();
    assert_eq!(status["totp"], false);
    assert_eq!(status["recovery_codes_left"], 0);
}

async fn second_factor_changes_need_a_recent_sign_in(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    app.clock.advance(chrono::Duration::minutes(11));
    let page = browser.get(SECURITY).await;
    assert!(page.text.contains("id=\"reauth-form\""), "{}", page.text);
    assert!(!page.text.contains("action=\"/account/security/totp\""));
    let refused = submit(&mut browser, &page, "/account/security/totp", &[]).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.text.contains("Nothing was changed."));
    assert_eq!(app.count("SELECT COUNT(*) FROM mfa_totp").await, 0);

    let wrong = submit(
        &mut browser,
        &page,
        "/account/security/reauthenticate",
        &[("password", "Not-The-Password-1")],
    )
    .await;
    assert_eq!(wrong.status, 400);
    assert!(
        wrong.text.contains("Your password is not correct."),
        "{}",
        wrong.text
    );
    let again = submit(
        &mut browser,
        &page,
        "/account/security/reauthenticate",
        &[("password", DEFAULT_PASSWORD)],
    )
    .await;
    assert_eq!(again.status, 303, "{}", again.text);
    assert_eq!(
        again.header("location"),
        Some("/account/security?done=reauthenticated")
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'reauthenticated'")
            .await,
        1
    );
    let (secret, _) = set_up_totp(&app, &mut browser).await;

    // Later, with a second factor: the password alone is not enough.
    app.clock.advance(chrono::Duration::minutes(11));
    let page = browser.get(SECURITY).await;
    assert!(page.text.contains("name=\"code\""));
    let no_code = submit(
        &mut browser,
        &page,
        "/account/security/reauthenticate",
        &[("password", DEFAULT_PASSWORD)],
    )
    .await;
    assert_eq!(no_code.status, 422, "{}", no_code.text);
    assert!(no_code.text.contains("id=\"code-error\""));
    let with_code = submit(
        &mut browser,
        &page,
        "/account/security/reauthenticate",
        &[
            ("password", DEFAULT_PASSWORD),
            ("code", &fresh_code(&app, &secret)),
        ],
    )
    .await;
    assert_eq!(with_code.status, 303, "{}", with_code.text);
    let page = browser.get(SECURITY).await;
    assert!(
        page.text
            .contains("action=\"/account/security/totp/remove\"")
    );
}

async fn recovery_codes_are_shown_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get(SECURITY).await;
    let none = submit(&mut browser, &page, "/account/security/recovery-codes", &[]).await;
    assert_eq!(none.status, 409, "{}", none.text);
    let (_, first) = set_up_totp(&app, &mut browser).await;
    // Not on the page again.
    let page = browser.get(SECURITY).await;
    assert!(recovery_codes(&page).is_empty());
    assert!(!page.text.contains(&first[0]));
    let renewed = submit(&mut browser, &page, "/account/security/recovery-codes", &[]).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let second = recovery_codes(&renewed);
    assert_eq!(second.len(), 10);
    assert!(second.iter().all(|code| !first.contains(code)));
    assert!(renewed.text.contains("the earlier ones no longer work"));
    assert!(recovery_codes(&browser.get(SECURITY).await).is_empty());
    // The first set no longer signs in; the second does.
    let token = mfa_token(&app, &user).await;
    let old = app
        .post("/api/v1/auth/mfa/verify")
        .json(json!({"mfa_token": token, "recovery_code": first[0]}))
        .send()
        .await;
    assert_eq!(old.status, 400, "{}", old.text);
    let new = app
        .post("/api/v1/auth/mfa/verify")
        .json(json!({"mfa_token": token, "recovery_code": second[0]}))
        .send()
        .await;
    assert_eq!(new.status, 200, "{}", new.text);
}

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
            .contains("The name must be 1 to 100 characters (not blank)."),
        "{}",
        bad.text
    );
    assert!(
        bad.text
            .contains("The icon&#x27;s address must be an absolute http or https URL.")
    );
    assert!(bad.text.contains("The date must not be in the future."));
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
            .contains("The status must be one of not-started, in-progress, completed, abandoned.")
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

async fn the_passkey_endpoints_check_the_form_and_the_credential(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get(SECURITY).await;
    assert!(
        page.text
            .contains("<script src=\"/assets/passkey-register.js\"")
    );
    let script = app.get("/assets/passkey-register.js").send().await;
    assert_eq!(script.status, 200);
    assert!(
        script
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.text.contains("parseCreationOptionsFromJSON"));

    let options = submit(
        &mut browser,
        &page,
        "/account/security/passkey-options",
        &[("purpose", "register")],
    )
    .await;
    assert_eq!(options.status, 200, "{}", options.text);
    let options = options.json();
    let challenge_id = options["challenge_id"].as_str().unwrap().to_owned();
    assert_eq!(options["publicKey"]["user"]["name"], user.username.as_str());
    // No passkey yet: nothing to re-authenticate with.
    let reauth = submit(
        &mut browser,
        &page,
        "/account/security/passkey-options",
        &[("purpose", "reauthenticate")],
    )
    .await;
    assert_eq!(reauth.status, 409, "{}", reauth.text);

    let nameless = submit(
        &mut browser,
        &page,
        "/account/security/passkeys",
        &[
            ("name", " "),
            ("challenge_id", &challenge_id),
            ("credential", "{}"),
        ],
    )
    .await;
    assert_eq!(nameless.status, 422, "{}", nameless.text);
    assert!(nameless.text.contains("id=\"name-error\""));
    let bad = submit(
        &mut browser,
        &page,
        "/account/security/passkeys",
        &[
            ("name", "Laptop"),
            ("challenge_id", &challenge_id),
            ("credential", "{\"id\": 1}"),
        ],
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(
        bad.text
            .contains("The passkey&#x27;s answer is not a WebAuthn response"),
        "{}",
        bad.text
    );
    assert!(bad.text.contains("value=\"Laptop\""));
    let status = app
        .get("/api/v1/auth/mfa")
        .bearer(&user.access_token)
        .send()
        .await
        .json();
    assert_eq!(status["passkeys"], json!([]));

    // Not recent: no ceremony is begun.
    app.clock.advance(chrono::Duration::minutes(11));
    let stale = submit(
        &mut browser,
        &page,
        "/account/security/passkey-options",
        &[("purpose", "register")],
    )
    .await;
    assert_eq!(stale.status, 403);
    assert_eq!(
        stale.json()["type"],
        "urn:roster:problem:reauthentication-required"
    );
}
