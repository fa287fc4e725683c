//! Passkeys, driven by a software authenticator: registration, listing and removal, use
//! as the second factor, and a login on their own; and what must be refused (another
//! origin, another key, a replayed challenge or assertion).

use chrono::Duration;

use serde_json::{Value, json};

use super::authenticator::{Algorithm, SoftAuthenticator};
use super::{mfa_token, password_login, verify};
use crate::helpers::{Backend, DEFAULT_PASSWORD, Session, TestApp, claims};
use crate::on_both_engines;

/// `PUBLIC_URL` of the test applications: the relying party's one origin.
const ORIGIN: &str = "http://roster.test";

on_both_engines!(
    an_es256_passkey_registers_and_serves_as_second_factor_and_as_a_whole_login,
    an_ed25519_passkey_registers_and_serves_as_second_factor_and_as_a_whole_login,
    refusals_hold_for_ed25519_keys_too,
    a_synced_passkey_counts_as_a_software_key,
    assertions_from_another_origin_or_key_are_refused,
    a_challenge_and_an_assertion_work_once,
    passkeys_are_listed_and_removed_by_their_owner_only,
    a_ceremony_begun_on_one_instance_finishes_on_another,
    registration_responses_are_checked,
    a_registration_in_the_level_2_form_is_accepted,
);

async fn options(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> Value {
    let mut request = app.post(path).json(body);
    if let Some(token) = token {
        request = request.bearer(token);
    }
    let response = request.send().await;
    assert_eq!(response.status, 200, "{path}: {}", response.text);
    response.json()
}

/// Registers a passkey for `session` on `authenticator`; answers the passkey.
async fn register(
    app: &TestApp,
    session: &Session,
    authenticator: &mut SoftAuthenticator,
) -> Value {
    let ceremony = options(
        app,
        "/api/v1/auth/mfa/passkeys/options",
        Some(&session.access_token),
        json!({}),
    )
    .await;
    let credential = authenticator.register(&ceremony["publicKey"]);
    let response = app
        .post("/api/v1/auth/mfa/passkeys")
        .bearer(&session.access_token)
        .json(json!({"challenge_id": ceremony["challenge_id"], "name": "Laptop", "credential": credential}))
        .send()
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.json()
}

async fn passkey_login(app: &TestApp, authenticator: &mut SoftAuthenticator) -> (Value, Value) {
    let ceremony = options(app, "/api/v1/auth/passkey-login/options", None, json!({})).await;
    let credential = authenticator.authenticate(&ceremony["publicKey"]);
    (ceremony, credential)
}

async fn finish_login(
    app: &TestApp,
    ceremony: &Value,
    credential: &Value,
) -> crate::helpers::TestResponse {
    app.post("/api/v1/auth/passkey-login")
        .json(json!({"challenge_id": ceremony["challenge_id"], "credential": credential, "device_name": "Phone"}))
        .send()
        .await
}

async fn an_es256_passkey_registers_and_serves_as_second_factor_and_as_a_whole_login(
    backend: Backend,
) {
    whole_passkey_life(backend, Algorithm::Es256).await;
}

async fn an_ed25519_passkey_registers_and_serves_as_second_factor_and_as_a_whole_login(
    backend: Backend,
) {
    whole_passkey_life(backend, Algorithm::Ed25519).await;
}

async fn whole_passkey_life(backend: Backend, algorithm: Algorithm) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let ceremony = options(
        &app,
        "/api/v1/auth/mfa/passkeys/options",
        Some(&session.access_token),
        json!({}),
    )
    .await;
    let public_key = &ceremony["publicKey"];
    assert_eq!(public_key["rp"]["id"], "roster.test");
    assert_eq!(public_key["user"]["name"], session.username.as_str());
    assert_eq!(public_key["attestation"], "none");
    assert_eq!(
        public_key["authenticatorSelection"]["residentKey"],
        "required"
    );
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    let algorithms: Vec<i64> = public_key["pubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["alg"].as_i64().unwrap())
        .collect();
    // Ed25519 first, then ES256, ES384 and RS256 (the COSE identifiers).
    assert_eq!(algorithms, [-8, -7, -35, -257]);
    let mut authenticator = SoftAuthenticator::new(algorithm, ORIGIN);
    let credential = authenticator.register(public_key);
    let response = app
        .post("/api/v1/auth/mfa/passkeys")
        .bearer(&session.access_token)
        .json(json!({"challenge_id": ceremony["challenge_id"], "name": "Laptop", "credential": credential}))
        .send()
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    let passkey = response.json();
    assert_eq!(passkey["name"], "Laptop");
    assert!(passkey["last_used_at"].is_null());
    let status = app
        .get("/api/v1/auth/mfa")
        .bearer(&session.access_token)
        .send()
        .await
        .json();
    assert_eq!(status["passkeys"][0]["id"], passkey["id"]);
    assert_eq!(status["totp"], false);

    // The second factor of a password login.
    let response = password_login(&app, &session.username, DEFAULT_PASSWORD).await;
    let problem = response.problem(401);
    assert_eq!(problem["methods"], json!(["passkey"]));
    let token = problem["mfa_token"].as_str().unwrap().to_owned();
    let challenge = options(
        &app,
        "/api/v1/auth/mfa/passkey-challenge",
        None,
        json!({"mfa_token": token}),
    )
    .await;
    let allowed = challenge["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap();
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0]["id"], authenticator.credential_id_b64().as_str());
    let assertion = authenticator.authenticate(&challenge["publicKey"]);
    let response = verify(&app, json!({"mfa_token": token, "challenge_id": challenge["challenge_id"], "credential": assertion})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        claims(response.json()["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "hwk", "mfa"])
    );

    // A whole login, no account named: the authenticator's user handle says whose.
    let (ceremony, assertion) = passkey_login(&app, &mut authenticator).await;
    assert!(
        ceremony["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(Vec::is_empty)
    );
    assert_eq!(ceremony["publicKey"]["userVerification"], "required");
    let response = finish_login(&app, &ceremony, &assertion).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let pair = response.json();
    assert_eq!(pair["user"]["id"], session.user_id.as_str());
    let access = claims(pair["access_token"].as_str().unwrap());
    assert_eq!(access["amr"], json!(["hwk", "mfa"]));
    let sessions = app
        .get("/api/v1/auth/sessions")
        .bearer(pair["access_token"].as_str().unwrap())
        .send()
        .await
        .json();
    assert!(sessions.to_string().contains("Phone"), "{sessions}");
    let status = app
        .get("/api/v1/auth/mfa")
        .bearer(&session.access_token)
        .send()
        .await
        .json();
    assert!(status["passkeys"][0]["last_used_at"].is_string());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'passkey_added'")
            .await,
        1
    );
}

async fn a_synced_passkey_counts_as_a_software_key(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let mut authenticator = SoftAuthenticator::new(Algorithm::Es256, ORIGIN);
    authenticator.set_backup(true, true);
    register(&app, &session, &mut authenticator).await;
    let (ceremony, assertion) = passkey_login(&app, &mut authenticator).await;
    let response = finish_login(&app, &ceremony, &assertion).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        claims(response.json()["access_token"].as_str().unwrap())["amr"],
        json!(["swk", "mfa"])
    );
}

async fn assertions_from_another_origin_or_key_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let mut authenticator = SoftAuthenticator::new(Algorithm::Es256, ORIGIN);
    register(&app, &session, &mut authenticator).await;

    authenticator.with_origin("http://evil.test");
    let (ceremony, assertion) = passkey_login(&app, &mut authenticator).await;
    let response = finish_login(&app, &ceremony, &assertion).await;
    assert_eq!(
        response.problem(401)["type"],
        "urn:roster:problem:invalid-credentials"
    );
    authenticator.with_origin(ORIGIN);

    let ceremony = options(&app, "/api/v1/auth/passkey-login/options", None, json!({})).await;
    let forged = authenticator.authenticate_with_wrong_key(&ceremony["publicKey"]);
    let response = finish_login(&app, &ceremony, &forged).await;
    assert_eq!(response.status, 401);

    // As a second factor: refused, counted, and the mfa_token lives on.
    let token = mfa_token(&app, &session).await;
    let challenge = options(
        &app,
        "/api/v1/auth/mfa/passkey-challenge",
        None,
        json!({"mfa_token": token}),
    )
    .await;
    let forged = authenticator.authenticate_with_wrong_key(&challenge["publicKey"]);
    let response = verify(&app, json!({"mfa_token": token, "challenge_id": challenge["challenge_id"], "credential": forged})).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.fields(400), ["credential"]);
    let challenge = options(
        &app,
        "/api/v1/auth/mfa/passkey-challenge",
        None,
        json!({"mfa_token": token}),
    )
    .await;
    let assertion = authenticator.authenticate(&challenge["publicKey"]);
    let response = verify(&app, json!({"mfa_token": token, "challenge_id": challenge["challenge_id"], "credential": assertion})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'mfa_failed'")
            .await,
        1
    );

    // Someone else's passkey does not answer for this account.
    let other = app.user().await;
    let mut theirs = SoftAuthenticator::new(Algorithm::Es256, ORIGIN);
    register(&app, &other, &mut theirs).await;
    let token = mfa_token(&app, &session).await;
    let challenge = options(
        &app,
        "/api/v1/auth/mfa/passkey-challenge",
        None,
        json!({"mfa_token": token}),
    )
    .await;
    let mut request = challenge["publicKey"].clone();
    request["allowCredentials"] = json!([]);
    let foreign = theirs.authenticate(&request);
    let response = verify(&app, json!({"mfa_token": token, "challenge_id": challenge["challenge_id"], "credential": foreign})).await;
    assert_eq!(response.status, 400);
}

/// What the ES256 tests refuse is refused for an Ed25519 key as well: another origin,
/// another key (as a whole login and as a second factor), a replayed assertion, a
/// counter that goes back.
async fn refusals_hold_for_ed25519_keys_too(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let mut authenticator = SoftAuthenticator::new(Algorithm::Ed25519, ORIGIN);
    register(&app, &session, &mut authenticator).await;

    authenticator.with_origin("http://evil.test");
    let (ceremony, assertion) = passkey_login(&app, &mut authenticator).await;
    assert_eq!(finish_login(&app, &ceremony, &assertion).await.status, 401);
    authenticator.with_origin(ORIGIN);

    let ceremony = options(&app, "/api/v1/auth/passkey-login/options", None, json!({})).await;
    let forged = authenticator.authenticate_with_wrong_key(&ceremony["publicKey"]);
    assert_eq!(finish_login(&app, &ceremony, &forged).await.status, 401);

    let token = mfa_token(&app, &session).await;
    let challenge = options(
        &app,
        "/api/v1/auth/mfa/passkey-challenge",
        None,
        json!({"mfa_token": token}),
    )
    .await;
    let forged = authenticator.authenticate_with_wrong_key(&challenge["publicKey"]);
    let response = verify(&app, json!({"mfa_token": token, "challenge_id": challenge["challenge_id"], "credential": forged})).await;
    assert_eq!(response.fields(400), ["credential"]);

    let (ceremony, assertion) = passkey_login(&app, &mut authenticator).await;
    assert_eq!(finish_login(&app, &ceremony, &assertion).await.status, 200);
    assert_eq!(
        finish_login(&app, &ceremony, &assertion).await.problem(400)["type"],
        "urn:roster:problem:invalid-token"
    );
    authenticator.set_counter(0);
    let (ceremony, assertion) = passkey_login(&app, &mut authenticator).await;
    assert_eq!(finish_login(&app, &ceremony, &assertion).await.status, 401);
}

async fn a_challenge_and_an_assertion_work_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let mut authenticator = SoftAuthenticator::new(Algorithm::Es256, ORIGIN);
    register(&app, &session, &mut authenticator).await;
    let (ceremony, assertion) = passkey_login(&app, &mut authenticator).await;
    assert_eq!(finish_login(&app, &ceremony, &assertion).await.status, 200);
    // The same answer again: the challenge is spent.
    let response = finish_login(&app, &ceremony, &assertion).await;
    assert_eq!(
        response.problem(400)["type"],
        "urn:roster:problem:invalid-token"
    );
    // The old answer to a new challenge: the challenge does not match.
    let ceremony = options(&app, "/api/v1/auth/passkey-login/options", None, json!({})).await;
    assert_eq!(finish_login(&app, &ceremony, &assertion).await.status, 401);
    // A counter that goes back (a cloned authenticator): refused.
    let (ceremony, assertion) = passkey_login(&app, &mut authenticator).await;
    assert_eq!(finish_login(&app, &ceremony, &assertion).await.status, 200);
    authenticator.set_counter(0);
    let (ceremony, assertion) = passkey_login(&app, &mut authenticator).await;
    assert_eq!(finish_login(&app, &ceremony, &assertion).await.status, 401);
    // A ceremony expires after 5 minutes.
    authenticator.set_counter(100);
    let (ceremony, assertion) = passkey_login(&app, &mut authenticator).await;
    app.clock.advance(Duration::seconds(301));
    assert_eq!(finish_login(&app, &ceremony, &assertion).await.status, 400);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webauthn_challenges").await,
        1
    );
    roster::maintenance::purge(&app.state).await.unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webauthn_challenges").await,
        0
    );
}

async fn passkeys_are_listed_and_removed_by_their_owner_only(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let other = app.user().await;
    let mut authenticator = SoftAuthenticator::new(Algorithm::Es256, ORIGIN);
    let passkey = register(&app, &session, &mut authenticator).await;
    let path = format!(
        "/api/v1/auth/mfa/passkeys/{}",
        passkey["id"].as_str().unwrap()
    );
    assert_eq!(
        app.delete(&path)
            .bearer(&other.access_token)
            .send()
            .await
            .status,
        404
    );
    let response = app
        .post("/api/v1/auth/mfa/recovery-codes")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(
        response.status, 200,
        "a passkey is a factor to recover: {}",
        response.text
    );
    assert_eq!(
        app.delete(&path)
            .bearer(&session.access_token)
            .send()
            .await
            .status,
        204
    );
    assert_eq!(
        app.delete(&path)
            .bearer(&session.access_token)
            .send()
            .await
            .status,
        404
    );
    // No second factor left: the recovery codes went too, a password logs in.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM mfa_recovery_codes").await,
        0
    );
    app.login(&session.username, DEFAULT_PASSWORD).await;
    let (ceremony, assertion) = passkey_login(&app, &mut authenticator).await;
    assert_eq!(finish_login(&app, &ceremony, &assertion).await.status, 401);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'passkey_removed'")
            .await,
        1
    );
}

/// Older clients send only `clientDataJSON` and `attestationObject` (WebAuthn Level 2
/// JSON, no `authenticatorData`, `publicKey`, `publicKeyAlgorithm` or `transports`).
async fn a_registration_in_the_level_2_form_is_accepted(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let ceremony = options(
        &app,
        "/api/v1/auth/mfa/passkeys/options",
        Some(&session.access_token),
        json!({}),
    )
    .await;
    let mut authenticator = SoftAuthenticator::new(Algorithm::Ed25519, ORIGIN);
    let mut credential = authenticator.register(&ceremony["publicKey"]);
    for member in [
        "authenticatorData",
        "publicKey",
        "publicKeyAlgorithm",
        "transports",
    ] {
        credential["response"]
            .as_object_mut()
            .unwrap()
            .remove(member);
    }
    let response = app
        .post("/api/v1/auth/mfa/passkeys")
        .bearer(&session.access_token)
        .json(json!({"challenge_id": ceremony["challenge_id"], "name": "Old", "credential": credential}))
        .send()
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    let (ceremony, assertion) = passkey_login(&app, &mut authenticator).await;
    assert_eq!(finish_login(&app, &ceremony, &assertion).await.status, 200);
}

async fn a_ceremony_begun_on_one_instance_finishes_on_another(backend: Backend) {
    let app = TestApp::new(backend).await;
    let other = app.sibling().await;
    let session = app.user().await;
    let mut authenticator = SoftAuthenticator::new(Algorithm::Es256, ORIGIN);
    let ceremony = options(
        &app,
        "/api/v1/auth/mfa/passkeys/options",
        Some(&session.access_token),
        json!({}),
    )
    .await;
    let credential = authenticator.register(&ceremony["publicKey"]);
    let response = other
        .post("/api/v1/auth/mfa/passkeys")
        .bearer(&session.access_token)
        .json(json!({"challenge_id": ceremony["challenge_id"], "name": "Key", "credential": credential}))
        .send()
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    let (ceremony, assertion) = passkey_login(&other, &mut authenticator).await;
    assert_eq!(finish_login(&app, &ceremony, &assertion).await.status, 200);
}

async fn registration_responses_are_checked(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let mut authenticator = SoftAuthenticator::new(Algorithm::Es256, "http://evil.test");
    let ceremony = options(
        &app,
        "/api/v1/auth/mfa/passkeys/options",
        Some(&session.access_token),
        json!({}),
    )
    .await;
    let credential = authenticator.register(&ceremony["publicKey"]);
    let post = |body: Value| {
        app.post("/api/v1/auth/mfa/passkeys")
            .bearer(&session.access_token)
            .json(body)
            .send()
    };
    let response = post(
        json!({"challenge_id": ceremony["challenge_id"], "name": "x", "credential": credential}),
    )
    .await;
    assert_eq!(response.status, 400, "wrong origin: {}", response.text);
    assert_eq!(response.fields(400), ["credential"]);
    // The ceremony was spent by the refused answer.
    let response = post(
        json!({"challenge_id": ceremony["challenge_id"], "name": "x", "credential": credential}),
    )
    .await;
    assert_eq!(
        response.problem(400)["type"],
        "urn:roster:problem:invalid-token"
    );
    let ceremony = options(
        &app,
        "/api/v1/auth/mfa/passkeys/options",
        Some(&session.access_token),
        json!({}),
    )
    .await;
    // A response that lies about its key: the attestation's key and `publicKey` differ.
    let mut other_key =
        SoftAuthenticator::new(Algorithm::Es256, ORIGIN).register(&ceremony["publicKey"]);
    let mut credential =
        SoftAuthenticator::new(Algorithm::Es256, ORIGIN).register(&ceremony["publicKey"]);
    credential["response"]["publicKey"] = other_key["response"]["publicKey"].take();
    let response = post(
        json!({"challenge_id": ceremony["challenge_id"], "name": "x", "credential": credential}),
    )
    .await;
    assert_eq!(
        response.failing_fields(),
        ["credential"],
        "{}",
        response.text
    );
    let response = post(
        json!({"challenge_id": ceremony["challenge_id"], "name": "x", "credential": {"id": 1}}),
    )
    .await;
    assert_eq!(response.status, 422);
    assert_eq!(response.failing_fields(), ["credential"]);
    let response = post(json!({"challenge_id": ceremony["challenge_id"], "name": "bad\u{202e}name", "credential": {}})).await;
    assert_eq!(response.failing_fields(), ["name"]);
    // Someone else's ceremony cannot be finished.
    let other = app.user().await;
    let mut mine = SoftAuthenticator::new(Algorithm::Es256, ORIGIN);
    let credential = mine.register(&ceremony["publicKey"]);
    let response = app
        .post("/api/v1/auth/mfa/passkeys")
        .bearer(&other.access_token)
        .json(json!({"challenge_id": ceremony["challenge_id"], "name": "x", "credential": credential}))
        .send()
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 0);
}
