//! The profile, preferences and delete pages, and the public sign-up and forgot-password
//! pages: each does what its JSON endpoint does, and the API shows the effect.

use serde_json::json;

use crate::helpers::{Backend, TestApp, TestResponse};
use crate::oidc::Browser;
use crate::on_both_engines;

use super::{signed_in, submit};

on_both_engines!(
    profile_changes_on_the_page_show_in_the_api,
    an_invalid_phone_is_shown_next_to_its_field_and_nothing_is_saved,
    an_email_change_needs_the_password_and_stays_pending,
    the_tier_and_a_new_verification_mail_are_a_button_away,
    the_preferences_form_follows_the_configured_schema,
    the_built_in_preferences_form_saves_and_resets,
    deleting_the_account_needs_the_password,
    signing_up_on_the_page_creates_an_account_and_queues_the_verification_mail,
    the_forgot_password_page_answers_alike_for_unknown_addresses,
    every_post_without_the_csrf_token_is_refused_and_changes_nothing,
);

/// What a browser posts from the profile form, with `changes` typed in.
fn profile_form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields: Vec<(&str, &str)> = [
        "date_of_birth",
        "occupation",
        "location",
        "phone",
        "current_title",
        "bio",
        "avatar_url",
        "shipping_address.line1",
        "shipping_address.line2",
        "shipping_address.city",
        "shipping_address.region",
        "shipping_address.postal_code",
        "shipping_address.country",
    ]
    .iter()
    .map(|name| (*name, ""))
    .collect();
    fields.push(("profile_visibility", "premium"));
    for (name, value) in changes {
        fields.retain(|(n, _)| n != name);
        fields.push((name, value));
    }
    fields
}

async fn api_get(app: &TestApp, token: &str, path: &str) -> serde_json::Value {
    let response = app.get(path).bearer(token).send().await;
    assert_eq!(response.status, 200, "{path}: {}", response.text);
    response.json()
}

async fn count_mail(app: &TestApp, kind: &str, recipient: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM mail_outbox WHERE kind = $1 AND recipient = $2";
    match &app.state.db {
        roster::db::Db::Sqlite(pool, _) => sqlx::query_scalar(sql)
            .bind(kind)
            .bind(recipient)
            .fetch_one(pool)
            .await
            .expect(sql),
        roster::db::Db::Postgres(pool) => sqlx::query_scalar(sql)
            .bind(kind)
            .bind(recipient)
            .fetch_one(pool)
            .await
            .expect(sql),
    }
}

/// The `<input>`/`<textarea>`/`<select>`/`<fieldset>` tag whose id is `id`.
fn tag_with_id<'a>(page: &'a TestResponse, id: &str) -> &'a str {
    let marker = format!("id=\"{id}\"");
    let at = page
        .text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} in {}", page.text));
    let start = page.text[..at].rfind('<').unwrap();
    let end = at + page.text[at..].find('>').unwrap();
    &page.text[start..=end]
}

fn assert_done(response: &TestResponse, path: &str, key: &str) {
    assert_eq!(response.status, 303, "{}", response.text);
    assert_eq!(
        response.header("location"),
        Some(format!("{path}?done={key}").as_str())
    );
}

async fn profile_changes_on_the_page_show_in_the_api(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get("/account/profile").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("aria-current=\"page\">Profile</a>"));

    let fields = profile_form(&[
        ("date_of_birth", "1990-05-17"),
        ("occupation", "Chef"),
        ("phone", "+12125551234"),
        ("bio", "Cooks.\r\nEats."),
        ("shipping_address.line1", "1 Main St"),
        ("shipping_address.city", "Springfield"),
        ("shipping_address.country", "us"),
    ]);
    let saved = submit(&mut browser, &page, "/account/profile", &fields).await;
    assert_done(&saved, "/account/profile", "profile-saved");
    let profile = api_get(&app, &user.access_token, "/api/v1/users/me/profile").await;
    assert_eq!(profile["occupation"], "Chef");
    assert_eq!(profile["phone"], "+12125551234");
    assert_eq!(profile["bio"], "Cooks.\nEats.");
    assert_eq!(profile["date_of_birth"], "1990-05-17");
    assert_eq!(profile["shipping_address"]["country"], "US");
    assert_eq!(
        profile["shipping_address"]["line2"],
        serde_json::Value::Null
    );

    let page = browser.follow(&saved).await;
    assert!(page.text.contains("Your profile was saved."));
    assert!(tag_with_id(&page, "occupation").contains("value=\"Chef\""));

    // Emptying a field clears it; the account form changes the full name.
    let fields = profile_form(&[
        ("date_of_birth", "1990-05-17"),
        ("phone", "+12125551234"),
        ("bio", "Cooks.\nEats."),
        ("shipping_address.line1", "1 Main St"),
        ("shipping_address.city", "Springfield"),
        ("shipping_address.country", "US"),
    ]);
    let saved = submit(&mut browser, &page, "/account/profile", &fields).await;
    assert_done(&saved, "/account/profile", "profile-saved");
    let profile = api_get(&app, &user.access_token, "/api/v1/users/me/profile").await;
    assert_eq!(profile["occupation"], serde_json::Value::Null);
    assert_eq!(profile["phone"], "+12125551234");

    let account = [
        ("username", user.username.as_str()),
        ("full_name", "Ada Lovelace"),
        ("email", &format!("{}@example.com", user.username)),
        ("current_password", ""),
    ];
    let saved = submit(&mut browser, &page, "/account/profile/account", &account).await;
    assert_done(&saved, "/account/profile", "account-saved");
    let me = api_get(&app, &user.access_token, "/api/v1/users/me").await;
    assert_eq!(me["full_name"], "Ada Lovelace");
}

async fn an_invalid_phone_is_shown_next_to_its_field_and_nothing_is_saved(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get("/account/profile").await;
    let fields = profile_form(&[
        ("occupation", "Chef"),
        ("phone", "555-1234"),
        ("shipping_address.line1", "1 Main St"),
    ]);
    let refused = submit(&mut browser, &page, "/account/profile", &fields).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    let phone = tag_with_id(&refused, "phone");
    assert!(phone.contains("aria-invalid=\"true\""), "{phone}");
    assert!(phone.contains("phone-error"), "{phone}");
    assert!(phone.contains("value=\"555-1234\""), "{phone}");
    assert!(refused.text.contains("id=\"phone-error\""));
    // Every failing field at once, by the API's dotted path, and the rest kept.
    let city = tag_with_id(&refused, "shipping_address-city");
    assert!(city.contains("aria-invalid=\"true\""), "{city}");
    assert!(tag_with_id(&refused, "occupation").contains("value=\"Chef\""));
    let occupation = tag_with_id(&refused, "occupation");
    assert!(!occupation.contains("aria-invalid"), "{occupation}");

    // The API names the same fields.
    let api = app
        .put("/api/v1/users/me/profile")
        .bearer(&user.access_token)
        .json(json!({"phone": "555-1234", "shipping_address": {"line1": "1 Main St"}}))
        .send()
        .await;
    let mut fields = api.fields(422);
    fields.sort();
    assert_eq!(
        fields,
        ["phone", "shipping_address.city", "shipping_address.country"]
    );

    let profile = api_get(&app, &user.access_token, "/api/v1/users/me/profile").await;
    assert_eq!(profile["occupation"], serde_json::Value::Null);
    assert_eq!(profile["phone"], serde_json::Value::Null);
}

async fn an_email_change_needs_the_password_and_stays_pending(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let old_email = format!("{}@example.com", user.username);
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get("/account/profile").await;
    let mut account = vec![
        ("username", user.username.as_str()),
        ("full_name", "Test User"),
        ("email", "new.address@example.com"),
        ("current_password", ""),
    ];
    let missing = submit(&mut browser, &page, "/account/profile/account", &account).await;
    assert_eq!(missing.status, 422, "{}", missing.text);
    assert!(tag_with_id(&missing, "current_password").contains("aria-invalid=\"true\""));
    assert!(tag_with_id(&missing, "email").contains("value=\"new.address@example.com\""));

    account[3] = ("current_password", "Not-the-password-1");
    let wrong = submit(&mut browser, &page, "/account/profile/account", &account).await;
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    assert!(wrong.text.contains("id=\"current_password-error\""));
    assert_eq!(
        count_mail(&app, "email_change_confirm", "new.address@example.com").await,
        0
    );

    account[3] = ("current_password", &user.password);
    let saved = submit(&mut browser, &page, "/account/profile/account", &account).await;
    assert_done(&saved, "/account/profile", "email-pending");
    let me = api_get(&app, &user.access_token, "/api/v1/users/me").await;
    assert_eq!(me["email"], old_email.as_str());
    assert_eq!(me["pending_email"], "new.address@example.com");
    assert_eq!(
        count_mail(&app, "email_change_confirm", "new.address@example.com").await,
        1
    );

    let page = browser.follow(&saved).await;
    assert!(
        page.text
            .contains("changes to <strong>new.address@example.com</strong>")
    );
    // Keeping the current address withdraws the change, as sending it to PUT /me does.
    let kept = submit(
        &mut browser,
        &page,
        "/account/profile/account",
        &[("keep_email", "1")],
    )
    .await;
    assert_done(&kept, "/account/profile", "email-kept");
    let me = api_get(&app, &user.access_token, "/api/v1/users/me").await;
    assert_eq!(me["pending_email"], serde_json::Value::Null);
}

async fn the_tier_and_a_new_verification_mail_are_a_button_away(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let email = format!("{}@example.com", user.username);
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get("/account/profile").await;
    assert!(
        page.text
            .contains("action=\"/account/verify-email-request\"")
    );
    let sent = submit(&mut browser, &page, "/account/verify-email-request", &[]).await;
    assert_done(&sent, "/account/profile", "verification-sent");
    assert_eq!(count_mail(&app, "email_verification", &email).await, 2);

    let upgraded = submit(&mut browser, &page, "/account/profile/upgrade", &[]).await;
    assert_done(&upgraded, "/account/profile", "tier-premium");
    let me = api_get(&app, &user.access_token, "/api/v1/users/me").await;
    assert_eq!(me["tier"], "premium");
    let page = browser.follow(&upgraded).await;
    assert!(page.text.contains("action=\"/account/profile/downgrade\""));
    let downgraded = submit(&mut browser, &page, "/account/profile/downgrade", &[]).await;
    assert_done(&downgraded, "/account/profile", "tier-basic");
    let me = api_get(&app, &user.access_token, "/api/v1/users/me").await;
    assert_eq!(me["tier"], "basic");
}

async fn the_preferences_form_follows_the_configured_schema(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("PREFERENCES_SCHEMA", "schemas/job_matching.json")
        .start()
        .await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get("/account/preferences").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Job-matching preferences"));
    assert!(tag_with_id(&page, "pref-desired_titles").starts_with("<textarea"));
    assert!(
        page.text
            .contains("<label for=\"pref-desired_titles\">Desired titles</label>")
    );
    assert!(page.text.contains("Job titles the user wants."));
    let remote = tag_with_id(&page, "pref-remote");
    assert!(
        remote.starts_with("<select") && remote.contains("name=\"pref.remote\""),
        "{remote}"
    );
    assert!(
        page.text
            .contains("<option value=\"hybrid\" selected>Hybrid</option>")
    );
    let salary = tag_with_id(&page, "pref-min_salary");
    for attribute in [
        "type=\"number\"",
        "min=\"0\"",
        "max=\"100000000\"",
        "step=\"1\"",
        "value=\"\"",
    ] {
        assert!(salary.contains(attribute), "{attribute} in {salary}");
    }
    assert!(tag_with_id(&page, "pref-job_types").starts_with("<fieldset"));
    for value in [
        "full-time",
        "part-time",
        "contract",
        "internship",
        "temporary",
    ] {
        assert!(
            page.text.contains(&format!(
                "name=\"pref.job_types\" type=\"checkbox\" value=\"{value}\""
            )),
            "{value}"
        );
    }
    assert!(page.text.contains("value=\"full-time\" checked"));
    assert!(page.text.contains("Default: Full-time."));

    let fields = [
        ("pref.desired_titles", "Engineer\r\nData scientist\r\n"),
        ("pref.locations", ""),
        ("pref.remote", "only"),
        ("pref.min_salary", "55000"),
        ("pref.job_types", "contract"),
        ("pref.job_types", "part-time"),
        ("pref.other_preferences", "Near a park"),
    ];
    let saved = submit(&mut browser, &page, "/account/preferences", &fields).await;
    assert_done(&saved, "/account/preferences", "preferences-saved");
    let stored = api_get(&app, &user.access_token, "/api/v1/users/me/preferences").await;
    assert_eq!(
        stored,
        json!({"desired_titles": ["Engineer", "Data scientist"], "locations": [], "remote": "only",
               "min_salary": 55000, "job_types": ["contract", "part-time"], "other_preferences": "Near a park"})
    );
    let page = browser.follow(&saved).await;
    assert!(page.text.contains("Engineer\nData scientist</textarea>"));
    assert!(page.text.contains("value=\"contract\" checked"));
    assert!(!page.text.contains("value=\"full-time\" checked"));

    // The schema's own rules, as PUT applies them, next to their fields.
    let mut invalid = fields.to_vec();
    invalid[3] = ("pref.min_salary", "-5");
    invalid[0] = ("pref.desired_titles", "Engineer\nEngineer");
    let refused = submit(&mut browser, &page, "/account/preferences", &invalid).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    let salary = tag_with_id(&refused, "pref-min_salary");
    assert!(
        salary.contains("aria-invalid=\"true\"") && salary.contains("value=\"-5\""),
        "{salary}"
    );
    assert!(refused.text.contains("Must be at least 0"));
    assert!(tag_with_id(&refused, "pref-desired_titles").contains("aria-invalid=\"true\""));
    assert!(!tag_with_id(&refused, "pref-remote").contains("aria-invalid"));
    let api = app
        .put("/api/v1/users/me/preferences")
        .bearer(&user.access_token)
        .json(json!({"min_salary": -5, "desired_titles": ["Engineer", "Engineer"]}))
        .send()
        .await;
    let mut fields = api.fields(422);
    fields.sort();
    assert_eq!(fields, ["desired_titles", "min_salary"]);
    let unchanged = api_get(&app, &user.access_token, "/api/v1/users/me/preferences").await;
    assert_eq!(unchanged, stored);

    let reset = submit(&mut browser, &page, "/account/preferences/reset", &[]).await;
    assert_done(&reset, "/account/preferences", "preferences-reset");
    let defaults = api_get(&app, &user.access_token, "/api/v1/users/me/preferences").await;
    assert_eq!(defaults["job_types"], json!(["full-time"]));
    assert_eq!(defaults["desired_titles"], json!([]));
}

async fn the_built_in_preferences_form_saves_and_resets(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get("/account/preferences").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let wifi = tag_with_id(&page, "pref-wifi");
    assert!(
        wifi.contains("type=\"checkbox\"") && wifi.contains("checked"),
        "{wifi}"
    );
    let distance = tag_with_id(&page, "pref-max_distance_km");
    assert!(
        distance.contains("step=\"any\"") && distance.contains("value=\"5\""),
        "{distance}"
    );
    assert!(tag_with_id(&page, "pref-other_preferences").starts_with("<textarea"));

    // Unticked boxes are false; the rest as typed.
    let fields = [
        ("pref.noise_level", "lively"),
        ("pref.outlets", "on"),
        ("pref.max_distance_km", "2.5"),
        ("pref.other_preferences", ""),
    ];
    let saved = submit(&mut browser, &page, "/account/preferences", &fields).await;
    assert_done(&saved, "/account/preferences", "preferences-saved");
    let stored = api_get(&app, &user.access_token, "/api/v1/users/me/preferences").await;
    assert_eq!(
        stored,
        json!({"wifi": false, "noise_level": "lively", "outlets": true, "open_late": false,
               "group_friendly": false, "max_distance_km": 2.5, "other_preferences": ""})
    );
    let mut invalid = fields.to_vec();
    invalid[2] = ("pref.max_distance_km", "0");
    let refused = submit(&mut browser, &page, "/account/preferences", &invalid).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(tag_with_id(&refused, "pref-max_distance_km").contains("aria-invalid=\"true\""));

    let reset = submit(&mut browser, &page, "/account/preferences/reset", &[]).await;
    assert_done(&reset, "/account/preferences", "preferences-reset");
    let defaults = api_get(&app, &user.access_token, "/api/v1/users/me/preferences").await;
    assert_eq!(defaults["wifi"], true);
    assert_eq!(defaults["noise_level"], "quiet");
}

async fn deleting_the_account_needs_the_password(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("ARGON2_MEMORY_KIB", "1024")
        .env("ARGON2_ITERATIONS", "1")
        .start()
        .await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get("/account/delete").await;
    assert_eq!(page.status, 200, "{}", page.text);

    let wrong = submit(
        &mut browser,
        &page,
        "/account/delete",
        &[("password", "Wrong-password-1")],
    )
    .await;
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    let field = tag_with_id(&wrong, "password");
    assert!(field.contains("aria-invalid=\"true\""), "{field}");
    assert!(wrong.text.contains("This password is not correct."));
    api_get(&app, &user.access_token, "/api/v1/users/me").await;

    // Wrong passwords count toward the account's lockout, as on DELETE /me.
    let max_failures = app.config.passwords.max_failures;
    for _ in 1..max_failures {
        let wrong = submit(
            &mut browser,
            &page,
            "/account/delete",
            &[("password", "Wrong-password-1")],
        )
        .await;
        assert_eq!(wrong.status, 400, "{}", wrong.text);
    }
    let locked = submit(
        &mut browser,
        &page,
        "/account/delete",
        &[("password", &user.password)],
    )
    .await;
    assert_eq!(locked.status, 429, "{}", locked.text);
    assert!(locked.header("retry-after").is_some());
    api_get(&app, &user.access_token, "/api/v1/users/me").await;

    app.clock.advance(
        chrono::Duration::from_std(app.config.passwords.lockout).unwrap()
            + chrono::Duration::seconds(1),
    );
    let deleted = submit(
        &mut browser,
        &page,
        "/account/delete",
        &[("password", &user.password)],
    )
    .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert!(deleted.text.contains("Account deleted"));
    assert!(!browser.has_cookie("roster"));
    assert_eq!(browser.get("/account").await.status, 303);
    let gone = app
        .get("/api/v1/users/me")
        .bearer(&user.access_token)
        .send()
        .await;
    assert_eq!(gone.status, 401);
    let login = app
        .post("/api/v1/auth/login")
        .json(json!({"login": user.username, "password": user.password}))
        .send()
        .await;
    assert_eq!(login.status, 401);
}

async fn signing_up_on_the_page_creates_an_account_and_queues_the_verification_mail(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let existing = app.user().await;
    let mut browser = Browser::new(&app);
    let page = browser.get("/account/signup").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(!page.text.contains("console-header"), "the plain layout");
    let password = "Correct-Horse-42";
    let mut fields = vec![
        ("username", "new_member"),
        ("email", "New.Member@Example.com"),
        ("full_name", "New Member"),
        ("password", password),
        ("confirm_password", "Something-else-42"),
    ];
    let mismatch = submit(&mut browser, &page, "/account/signup", &fields).await;
    assert_eq!(mismatch.status, 422, "{}", mismatch.text);
    assert!(tag_with_id(&mismatch, "confirm_password").contains("aria-invalid=\"true\""));
    assert!(tag_with_id(&mismatch, "username").contains("value=\"new_member\""));
    assert!(!tag_with_id(&mismatch, "username").contains("aria-invalid"));

    fields[3] = ("password", "short");
    fields[4] = ("confirm_password", "short");
    let weak = submit(&mut browser, &page, "/account/signup", &fields).await;
    assert_eq!(weak.status, 422, "{}", weak.text);
    assert!(tag_with_id(&weak, "password").contains("aria-invalid=\"true\""));

    fields[0] = ("username", existing.username.as_str());
    fields[3] = ("password", password);
    fields[4] = ("confirm_password", password);
    let taken = submit(&mut browser, &page, "/account/signup", &fields).await;
    assert_eq!(taken.status, 409, "{}", taken.text);
    assert!(tag_with_id(&taken, "username").contains("aria-invalid=\"true\""));
    assert!(taken.text.contains("This username is already taken."));

    fields[0] = ("username", "new_member");
    let created = submit(&mut browser, &page, "/account/signup", &fields).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(
        created
            .text
            .contains("verification email is on its way to new.member@example.com")
    );
    assert!(created.text.contains("href=\"/login\""));
    assert_eq!(
        count_mail(&app, "email_verification", "new.member@example.com").await,
        1
    );
    let session = app.login("new_member", password).await;
    let me = api_get(&app, &session.access_token, "/api/v1/users/me").await;
    assert_eq!(me["full_name"], "New Member");
    assert_eq!(me["email_verified"], false);
}

async fn the_forgot_password_page_answers_alike_for_unknown_addresses(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let known = format!("{}@example.com", user.username);
    let mut browser = Browser::new(&app);
    let page = browser.get("/account/forgot-password").await;
    assert_eq!(page.status, 200, "{}", page.text);

    let for_known = submit(
        &mut browser,
        &page,
        "/account/forgot-password",
        &[("email", &known)],
    )
    .await;
    let for_unknown = submit(
        &mut browser,
        &page,
        "/account/forgot-password",
        &[("email", "nobody@example.com")],
    )
    .await;
    assert_eq!(for_known.status, 202, "{}", for_known.text);
    assert_eq!(for_unknown.status, 202);
    assert_eq!(for_known.text, for_unknown.text);
    assert!(for_known.text.contains("If an account has this address"));
    assert_eq!(count_mail(&app, "password_reset", &known).await, 1);

    let not_an_address = submit(
        &mut browser,
        &page,
        "/account/forgot-password",
        &[("email", "nobody")],
    )
    .await;
    assert_eq!(not_an_address.status, 422, "{}", not_an_address.text);
    let field = tag_with_id(&not_an_address, "email");
    assert!(
        field.contains("aria-invalid=\"true\"") && field.contains("value=\"nobody\""),
        "{field}"
    );
}

async fn every_post_without_the_csrf_token_is_refused_and_changes_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    // The browser has its CSRF cookie; the forms are posted with a wrong token or none.
    browser.get("/account/profile").await;
    let email = format!("{}@example.com", user.username);
    let posts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/account/profile",
            profile_form(&[("occupation", "Forged")]),
        ),
        (
            "/account/profile/account",
            vec![
                ("username", user.username.as_str()),
                ("full_name", "Forged"),
                ("email", &email),
            ],
        ),
        ("/account/profile/upgrade", vec![]),
        ("/account/verify-email-request", vec![]),
        ("/account/preferences", vec![("pref.noise_level", "lively")]),
        ("/account/preferences/reset", vec![]),
        (
            "/account/delete",
            vec![("password", user.password.as_str())],
        ),
        (
            "/account/signup",
            vec![
                ("username", "forged_user"),
                ("email", "forged@example.com"),
                ("password", "Correct-Horse-42"),
                ("confirm_password", "Correct-Horse-42"),
            ],
        ),
        ("/account/forgot-password", vec![("email", &email)]),
    ];
    for (path, fields) in posts {
        for token in [Some("forged"), None] {
            let mut form = fields.clone();
            if let Some(token) = token {
                form.push(("csrf_token", token));
            }
            let refused = browser.post(path, &form).await;
            assert_eq!(refused.status, 403, "{path} {token:?}: {}", refused.text);
        }
    }
    let me = api_get(&app, &user.access_token, "/api/v1/users/me").await;
    assert_eq!(me["full_name"], "Test User");
    assert_eq!(me["tier"], "basic");
    let profile = api_get(&app, &user.access_token, "/api/v1/users/me/profile").await;
    assert_eq!(profile["occupation"], serde_json::Value::Null);
    let preferences = api_get(&app, &user.access_token, "/api/v1/users/me/preferences").await;
    assert_eq!(preferences["noise_level"], "quiet");
    assert_eq!(count_mail(&app, "email_verification", &email).await, 1);
    assert_eq!(count_mail(&app, "password_reset", &email).await, 0);
    assert_eq!(
        count_mail(&app, "email_verification", "forged@example.com").await,
        0
    );
    let forged = app
        .post("/api/v1/auth/login")
        .json(json!({"login": "forged_user", "password": "Correct-Horse-42"}))
        .send()
        .await;
    assert_eq!(forged.status, 401);
}
