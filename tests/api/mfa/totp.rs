//! TOTP with recovery codes, as a new user meets them: enrol from the `otpauth://` URI,
//! log in with a code, lose the phone, use a recovery code; and the rules around them.

use chrono::Duration;
use roster::clock::Clock;

use serde_json::json;

use super::{code_at, enrol_totp, fresh_code, mfa_token, password_login, verify};
use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp, claims};
use crate::on_both_engines;

on_both_engines!(
    a_new_user_enrols_logs_in_with_a_code_and_recovers_with_a_recovery_code,
    a_wrong_password_looks_the_same_with_or_without_a_second_factor,
    a_code_is_accepted_once,
    an_mfa_token_is_single_use_expires_and_dies_after_five_wrong_codes,
    wrong_codes_count_toward_the_lockout,
    the_password_grant_answers_mfa_required,
    enrolment_is_pending_until_confirmed_and_removal_restores_password_login,
    regenerated_recovery_codes_void_the_earlier_ones,
    the_secret_is_sealed_at_rest,
    an_admin_reset_removes_every_second_factor,
    verification_needs_exactly_one_second_factor,
);

async fn a_new_user_enrols_logs_in_with_a_code_and_recovers_with_a_recovery_code(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let response = app
        .get("/api/v1/auth/mfa")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(
        response.json(),
        json!({"totp": false, "passkeys": [], "recovery_codes_left": 0})
    );

    let response = app
        .post("/api/v1/auth/mfa/totp")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let enrolment = response.json();
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let uri = enrolment["otpauth_uri"].as_str().unwrap();
    // What an authenticator app reads from the QR code.
    let from_uri = totp_rs::Totp::from_url(uri).expect("an otpauth URI an app accepts");
    assert!(uri.starts_with("otpauth://totp/Roster:"), "{uri}");
    assert_eq!(from_uri.issuer(), Some("Roster"));
    assert_eq!(from_uri.account_name(), session.username);
    assert_eq!((from_uri.digits(), from_uri.step()), (6, 30));
    assert_eq!(from_uri.secret().to_base32(), secret);
    let app_code = from_uri
        .generate(app.clock.now().timestamp() as u64)
        .to_string();

    let response = app
        .post("/api/v1/auth/mfa/totp/confirm")
        .bearer(&session.access_token)
        .json(json!({"code": app_code}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let codes: Vec<String> = response.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(
        codes.iter().collect::<std::collections::HashSet<_>>().len(),
        10
    );
    let status = app
        .get("/api/v1/auth/mfa")
        .bearer(&session.access_token)
        .send()
        .await
        .json();
    assert_eq!(status["totp"], true);
    assert_eq!(status["recovery_codes_left"], 10);

    // A password alone no longer yields tokens.
    let response = password_login(&app, &session.username, DEFAULT_PASSWORD).await;
    let problem = response.problem(401);
    assert_eq!(problem["methods"], json!(["totp", "recovery_code"]));
    assert_eq!(problem["expires_in"], 300);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert!(problem.get("access_token").is_none());
    let token = problem["mfa_token"].as_str().unwrap().to_owned();

    let before = app.clock.now().timestamp();
    let response = verify(
        &app,
        json!({"mfa_token": token, "code": fresh_code(&app, &secret)}),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let pair = response.json();
    assert_eq!(pair["user"]["username"], session.username.as_str());
    let access = claims(pair["access_token"].as_str().unwrap());
    assert_eq!(access["amr"], json!(["pwd", "otp", "mfa"]));
    assert!(access["auth_time"].as_i64().unwrap() >= before);
    let response = app
        .get("/api/v1/auth/me")
        .bearer(pair["access_token"].as_str().unwrap())
        .send()
        .await;
    assert_eq!(response.status, 200);
    // A refreshed token keeps how and when the user authenticated.
    app.clock.advance(Duration::seconds(60));
    let response = app
        .post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": pair["refresh_token"]}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let refreshed = claims(response.json()["access_token"].as_str().unwrap());
    assert_eq!(refreshed["amr"], access["amr"]);
    assert_eq!(refreshed["auth_time"], access["auth_time"]);

    // The phone is lost: a recovery code logs in, once.
    let token = mfa_token(&app, &session).await;
    let typed = codes[3].to_uppercase().replace('-', " ");
    let response = verify(&app, json!({"mfa_token": token, "recovery_code": typed})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        claims(response.json()["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    let token = mfa_token(&app, &session).await;
    let response = verify(&app, json!({"mfa_token": token, "recovery_code": codes[3]})).await;
    assert_eq!(
        response.problem(400)["type"],
        "urn:roster:problem:invalid-second-factor"
    );
    assert_eq!(response.fields(400), ["recovery_code"]);
    let status = app
        .get("/api/v1/auth/mfa")
        .bearer(&session.access_token)
        .send()
        .await
        .json();
    assert_eq!(status["recovery_codes_left"], 9);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'recovery_code_used'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'mfa_totp_added'")
            .await,
        1
    );
    let metrics = app.get("/metrics").send().await.text;
    assert!(
        metrics.contains("roster_mfa_verifications_total"),
        "{metrics}"
    );
}

async fn a_wrong_password_looks_the_same_with_or_without_a_second_factor(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plain = app.user().await;
    let guarded = app.user().await;
    enrol_totp(&app, &guarded).await;
    let without = password_login(&app, &plain.username, "Wrong-Password-123").await;
    let with = password_login(&app, &guarded.username, "Wrong-Password-123").await;
    assert_eq!(without.status, 401);
    assert_eq!(with.status, without.status);
    assert_eq!(with.json(), without.json());
    assert_eq!(
        with.header("www-authenticate"),
        without.header("www-authenticate")
    );
    assert_eq!(
        with.json()["type"],
        "urn:roster:problem:invalid-credentials"
    );
}

async fn a_code_is_accepted_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let (secret, _) = enrol_totp(&app, &session).await;
    // The confirmation's code cannot log in: its step is spent.
    let token = mfa_token(&app, &session).await;
    let response = verify(
        &app,
        json!({"mfa_token": token, "code": code_at(&app, &secret, 0)}),
    )
    .await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(response.fields(400), ["code"]);
    let code = fresh_code(&app, &secret);
    let response = verify(&app, json!({"mfa_token": token, "code": code})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    // The same code again, on a new login within its window: refused.
    let token = mfa_token(&app, &session).await;
    let response = verify(&app, json!({"mfa_token": token, "code": code})).await;
    assert_eq!(
        response.problem(400)["type"],
        "urn:roster:problem:invalid-second-factor"
    );
    // Drift of one step either way is accepted; two steps are not.
    let response = verify(
        &app,
        json!({"mfa_token": token, "code": code_at(&app, &secret, 2)}),
    )
    .await;
    assert_eq!(response.status, 400);
    let response = verify(
        &app,
        json!({"mfa_token": token, "code": code_at(&app, &secret, 1)}),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text);
    // Two requests racing with one code: one wins.
    app.clock.advance(Duration::seconds(90));
    let code = code_at(&app, &secret, 0);
    let first = mfa_token(&app, &session).await;
    let second = mfa_token(&app, &session).await;
    let (a, b) = tokio::join!(
        verify(&app, json!({"mfa_token": first, "code": code})),
        verify(&app, json!({"mfa_token": second, "code": code}))
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 400]);
}

async fn an_mfa_token_is_single_use_expires_and_dies_after_five_wrong_codes(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("LOGIN_MAX_FAILURES", "20")
        .start()
        .await;
    let session = app.user().await;
    let (secret, _) = enrol_totp(&app, &session).await;
    let token = mfa_token(&app, &session).await;
    assert_eq!(
        verify(
            &app,
            json!({"mfa_token": token, "code": fresh_code(&app, &secret)})
        )
        .await
        .status,
        200
    );
    let response = verify(
        &app,
        json!({"mfa_token": token, "code": fresh_code(&app, &secret)}),
    )
    .await;
    assert_eq!(
        response.problem(400)["type"],
        "urn:roster:problem:invalid-token"
    );

    let token = mfa_token(&app, &session).await;
    app.clock.advance(Duration::seconds(301));
    let response = verify(
        &app,
        json!({"mfa_token": token, "code": code_at(&app, &secret, 0)}),
    )
    .await;
    assert_eq!(
        response.problem(400)["type"],
        "urn:roster:problem:invalid-token"
    );

    let token = mfa_token(&app, &session).await;
    for _ in 0..5 {
        let response = verify(&app, json!({"mfa_token": token, "code": "000000"})).await;
        assert_eq!(
            response.problem(400)["type"],
            "urn:roster:problem:invalid-second-factor"
        );
    }
    let response = verify(
        &app,
        json!({"mfa_token": token, "code": fresh_code(&app, &secret)}),
    )
    .await;
    assert_eq!(
        response.problem(400)["type"],
        "urn:roster:problem:invalid-token"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'mfa_failed'")
            .await,
        5
    );
    let response = verify(&app, json!({"mfa_token": "not-a-token", "code": "123456"})).await;
    assert_eq!(response.status, 400);
}

async fn wrong_codes_count_toward_the_lockout(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let (secret, _) = enrol_totp(&app, &session).await;
    // The right password followed by wrong codes: five failures lock the account, so a
    // known password buys no fresh round of guesses.
    for _ in 0..5 {
        let token = mfa_token(&app, &session).await;
        let response = verify(&app, json!({"mfa_token": token, "code": "000000"})).await;
        assert_eq!(response.status, 400, "{}", response.text);
    }
    let response = password_login(&app, &session.username, DEFAULT_PASSWORD).await;
    assert_eq!(response.status, 429, "{}", response.text);
    assert!(response.header("retry-after").is_some());
    let email = format!("{}@example.com", session.username);
    assert_eq!(
        password_login(&app, &email, DEFAULT_PASSWORD).await.status,
        429
    );
    // After the lock, the right password and code log in and clear the count.
    app.clock.advance(Duration::seconds(3600));
    let token = mfa_token(&app, &session).await;
    let response = verify(
        &app,
        json!({"mfa_token": token, "code": fresh_code(&app, &secret)}),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM login_throttle WHERE failures > 0")
            .await,
        0
    );
}

async fn the_password_grant_answers_mfa_required(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let (secret, _) = enrol_totp(&app, &session).await;
    let response = app
        .post("/api/v1/auth/token")
        .form(&[
            ("grant_type", "password"),
            ("username", &session.username),
            ("password", DEFAULT_PASSWORD),
        ])
        .send()
        .await;
    assert_eq!(response.status, 401, "{}", response.text);
    let body = response.json();
    assert_eq!(body["error"], "mfa_required");
    assert!(body["error_description"].as_str().is_some());
    assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
    assert!(body.get("access_token").is_none());
    let response = verify(
        &app,
        json!({"mfa_token": body["mfa_token"], "code": fresh_code(&app, &secret)}),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text);
    // A wrong password is still the plain invalid_grant.
    let response = app
        .post("/api/v1/auth/token")
        .form(&[
            ("grant_type", "password"),
            ("username", &session.username),
            ("password", "Wrong-Password-123"),
        ])
        .send()
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"], "invalid_grant");
}

async fn enrolment_is_pending_until_confirmed_and_removal_restores_password_login(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let first = app
        .post("/api/v1/auth/mfa/totp")
        .bearer(&session.access_token)
        .send()
        .await
        .json();
    // Pending: a password still logs in.
    app.login(&session.username, DEFAULT_PASSWORD).await;
    let second = app
        .post("/api/v1/auth/mfa/totp")
        .bearer(&session.access_token)
        .send()
        .await
        .json();
    assert_ne!(first["secret"], second["secret"]);
    let stale = code_at(&app, first["secret"].as_str().unwrap(), 0);
    let current = code_at(&app, second["secret"].as_str().unwrap(), 0);
    if stale != current {
        let response = app
            .post("/api/v1/auth/mfa/totp/confirm")
            .bearer(&session.access_token)
            .json(json!({"code": stale}))
            .send()
            .await;
        assert_eq!(response.problem(400)["errors"][0]["field"], "code");
    }
    let response = app
        .post("/api/v1/auth/mfa/totp/confirm")
        .bearer(&session.access_token)
        .json(json!({"code": "12ab56"}))
        .send()
        .await;
    assert_eq!(response.failing_fields(), ["code"]);
    assert_eq!(response.status, 422);
    let response = app
        .post("/api/v1/auth/mfa/totp/confirm")
        .bearer(&session.access_token)
        .json(json!({"code": current}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    // Confirmed: a new enrolment is refused until it is removed.
    let response = app
        .post("/api/v1/auth/mfa/totp")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, 409);
    let response = app
        .delete("/api/v1/auth/mfa/totp")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, 204, "{}", response.text);
    let response = app
        .delete("/api/v1/auth/mfa/totp")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, 404);
    app.login(&session.username, DEFAULT_PASSWORD).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM mfa_recovery_codes").await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'mfa_totp_removed'")
            .await,
        1
    );
}

async fn regenerated_recovery_codes_void_the_earlier_ones(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let response = app
        .post("/api/v1/auth/mfa/recovery-codes")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(
        response.status, 409,
        "no second factor yet: {}",
        response.text
    );
    let (_, old) = enrol_totp(&app, &session).await;
    let response = app
        .post("/api/v1/auth/mfa/recovery-codes")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let new: Vec<String> = response.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(new.len(), 10);
    let token = mfa_token(&app, &session).await;
    let response = verify(&app, json!({"mfa_token": token, "recovery_code": old[0]})).await;
    assert_eq!(response.status, 400);
    let response = verify(&app, json!({"mfa_token": token, "recovery_code": new[0]})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'recovery_codes_regenerated'")
            .await,
        1
    );
}

async fn the_secret_is_sealed_at_rest(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let (secret, codes) = enrol_totp(&app, &session).await;
    let raw = totp_rs::Secret::try_from_base32(&secret)
        .unwrap()
        .as_bytes()
        .to_vec();
    let stored: Vec<u8> = match &app.state.db {
        roster::db::Db::Sqlite(pool, _) => sqlx::query_scalar("SELECT secret FROM mfa_totp")
            .fetch_one(pool)
            .await
            .unwrap(),
        roster::db::Db::Postgres(pool) => sqlx::query_scalar("SELECT secret FROM mfa_totp")
            .fetch_one(pool)
            .await
            .unwrap(),
    };
    assert!(
        stored.len() >= raw.len() + 28,
        "nonce and tag around the secret"
    );
    assert!(!stored.windows(raw.len()).any(|w| w == raw.as_slice()));
    assert!(!String::from_utf8_lossy(&stored).contains(&secret));
    // Recovery codes are stored as hashes only.
    for code in &codes {
        let plain = code.replace('-', "");
        let found = match &app.state.db {
            roster::db::Db::Sqlite(pool, _) => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM mfa_recovery_codes WHERE CAST(code_hash AS TEXT) LIKE '%' || $1 || '%'").bind(&plain).fetch_one(pool).await.unwrap(),
            roster::db::Db::Postgres(pool) => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM mfa_recovery_codes WHERE encode(code_hash, 'escape') LIKE '%' || $1 || '%'").bind(&plain).fetch_one(pool).await.unwrap(),
        };
        assert_eq!(found, 0);
    }
}

async fn an_admin_reset_removes_every_second_factor(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let session = app.user().await;
    enrol_totp(&app, &session).await;
    let path = format!("/api/v1/admin/users/{}/mfa/reset", session.user_id);
    let response = app.post(&path).bearer(&session.access_token).send().await;
    assert_eq!(response.status, 403);
    let response = app.post(&path).bearer(&admin.access_token).send().await;
    assert_eq!(response.status, 204, "{}", response.text);
    app.login(&session.username, DEFAULT_PASSWORD).await;
    for table in [
        "SELECT COUNT(*) FROM mfa_totp",
        "SELECT COUNT(*) FROM mfa_recovery_codes",
        "SELECT COUNT(*) FROM mfa_challenges",
    ] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'mfa_reset'")
            .await,
        1
    );
    let response = app
        .post(&format!(
            "/api/v1/admin/users/{}/mfa/reset",
            uuid::Uuid::now_v7()
        ))
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(response.status, 404);
}

async fn verification_needs_exactly_one_second_factor(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let (secret, codes) = enrol_totp(&app, &session).await;
    let token = mfa_token(&app, &session).await;
    let response = verify(&app, json!({"mfa_token": token})).await;
    assert_eq!(response.status, 422);
    assert_eq!(response.failing_fields(), ["code"]);
    let response = verify(
        &app,
        json!({"mfa_token": token, "code": fresh_code(&app, &secret), "recovery_code": codes[0]}),
    )
    .await;
    assert_eq!(response.status, 422);
    let response = verify(&app, json!({"mfa_token": token, "credential": {}})).await;
    assert_eq!(response.failing_fields(), ["challenge_id"]);
    let response = verify(
        &app,
        json!({"mfa_token": token, "code": "123456", "extra": 1}),
    )
    .await;
    assert_eq!(response.status, 422);
    // None of these spent the challenge or counted as a failure.
    let response = verify(
        &app,
        json!({"mfa_token": token, "code": fresh_code(&app, &secret)}),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text);
}
