//! Second factors: TOTP and recovery codes, the login challenge, re-authentication and
//! the recent rule, passkeys (driven by a software authenticator), the admin reset.

pub(crate) mod authenticator;
mod passkeys;
mod recent;
mod totp;

use roster::clock::Clock;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, TestResponse};

/// The code an authenticator app shows for the base32 `secret` at the app's time,
/// `offset_steps` steps of 30 s from now.
pub fn code_at(app: &TestApp, secret: &str, offset_steps: i64) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).expect("a base32 secret");
    let totp = totp_rs::Builder::new()
        .with_secret(bytes.as_bytes().to_vec())
        .with_account_name("test")
        .build()
        .expect("RFC 6238 parameters");
    let time = app.clock.now().timestamp() + offset_steps * 30;
    totp.generate(time as u64).to_string()
}

/// The current code; moves the clock one step on first, so that no two calls in one
/// test share a step (a code is accepted once).
pub fn fresh_code(app: &TestApp, secret: &str) -> String {
    app.clock.advance(chrono::Duration::seconds(30));
    code_at(app, secret, 0)
}

/// Sets up and confirms TOTP for `session`: the secret and the recovery codes.
pub async fn enrol_totp(app: &TestApp, session: &Session) -> (String, Vec<String>) {
    let response = app
        .post("/api/v1/auth/mfa/totp")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let secret = response.json()["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let response = app
        .post("/api/v1/auth/mfa/totp/confirm")
        .bearer(&session.access_token)
        .json(json!({"code": code_at(app, &secret, 0)}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let codes = response.json()["recovery_codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

pub async fn password_login(app: &TestApp, login: &str, password: &str) -> TestResponse {
    app.post("/api/v1/auth/login")
        .json(json!({"login": login, "password": password}))
        .send()
        .await
}

/// A password login that must answer the second-factor challenge: its `mfa_token`.
pub async fn mfa_token(app: &TestApp, session: &Session) -> String {
    let response = password_login(app, &session.username, &session.password).await;
    let problem = response.problem(401);
    assert_eq!(
        problem["type"], "urn:roster:problem:mfa-required",
        "{}",
        response.text
    );
    problem["mfa_token"].as_str().expect("mfa_token").to_owned()
}

pub async fn verify(app: &TestApp, body: Value) -> TestResponse {
    app.post("/api/v1/auth/mfa/verify").json(body).send().await
}
