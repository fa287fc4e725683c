//! Access-token forgery and validation: only the configured algorithm, a known `kid`, the
//! right issuer and audience, and time within 60 s of leeway are accepted.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{Backend, Session, TestApp};
use crate::on_both_engines;

on_both_engines!(
    alg_none_tokens_are_rejected,
    tampered_claims_are_rejected,
    hs256_signed_with_the_public_key_is_rejected,
    unknown_or_foreign_keys_are_rejected_even_when_offered_in_the_header,
    wrong_issuer_or_audience_is_rejected,
    expiry_and_not_before_are_checked_with_60_seconds_of_leeway,
    tokens_are_read_only_from_the_authorization_header,
    a_refresh_token_is_not_an_access_token,
    malformed_authorization_headers_are_401,
    hs256_mode_signs_with_the_shared_secret_and_publishes_no_keys,
);

fn parts(token: &str) -> (Value, Value, String) {
    let mut pieces = token.split('.');
    let header =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(pieces.next().unwrap()).unwrap()).unwrap();
    let claims =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(pieces.next().unwrap()).unwrap()).unwrap();
    (header, claims, pieces.next().unwrap().to_owned())
}

fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

async fn assert_refused(app: &TestApp, token: &str) {
    let response = app.get("/api/v1/auth/me").bearer(token).send().await;
    response.problem(401);
    assert!(
        response
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\""),
        "{:?}",
        response.headers
    );
}

async fn accepted(app: &TestApp, token: &str) -> bool {
    app.get("/api/v1/auth/me").bearer(token).send().await.status == 200
}

/// Signs `claims` with the application's own current key (what a valid token is).
fn sign_with_current_key(app: &TestApp, claims: &Value) -> String {
    let keys = app.state.tokens.key_set();
    let mut header = Header::new(keys.algorithm);
    header.kid = Some(keys.signing_kid.clone());
    header.typ = Some("at+jwt".into());
    keys.sign(&header, claims).unwrap()
}

async fn alg_none_tokens_are_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let (mut header, claims, _) = parts(&session.access_token);
    for alg in ["none", "None", "NONE"] {
        header["alg"] = json!(alg);
        assert_refused(
            &app,
            &format!("{}.{}.", encode_part(&header), encode_part(&claims)),
        )
        .await;
    }
}

async fn tampered_claims_are_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let victim = app.user().await;
    assert!(accepted(&app, &session.access_token).await);
    let (header, claims, signature) = parts(&session.access_token);
    for (field, value) in [
        ("role", json!("admin")),
        ("tier", json!("premium")),
        ("sub", json!(victim.user_id)),
        ("exp", json!(claims["exp"].as_i64().unwrap() + 3600)),
    ] {
        let mut forged = claims.clone();
        forged[field] = value;
        assert_refused(
            &app,
            &format!(
                "{}.{}.{}",
                encode_part(&header),
                encode_part(&forged),
                signature
            ),
        )
        .await;
    }
    // A valid signature over claims naming another user's session does not pass either.
    let mut cross = claims.clone();
    cross["sid"] = json!(victim.session_id);
    assert_refused(&app, &sign_with_current_key(&app, &cross)).await;
}

async fn hs256_signed_with_the_public_key_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let jwks = app.get("/.well-known/jwks.json").send().await.json();
    let jwk = &jwks["keys"][0];
    let x = jwk["x"].as_str().unwrap();
    let (_, claims, _) = parts(&session.access_token);
    let secrets: Vec<Vec<u8>> = vec![
        x.as_bytes().to_vec(),
        URL_SAFE_NO_PAD.decode(x).unwrap(),
        serde_json::to_vec(jwk).unwrap(),
    ];
    for secret in secrets {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = jwk["kid"].as_str().map(str::to_owned);
        header.typ = Some("at+jwt".into());
        let forged =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap();
        assert_refused(&app, &forged).await;
    }
}

fn attacker_key() -> (EncodingKey, Value) {
    let seed = [42u8; 32];
    let der = {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: seed,
            public_key: None,
        }
        .to_pkcs8_der()
        .unwrap()
    };
    let key = EncodingKey::from_ed_der(der.as_bytes());
    let jwk = serde_json::to_value(
        jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::EdDSA).unwrap(),
    )
    .unwrap();
    (key, jwk)
}

async fn unknown_or_foreign_keys_are_rejected_even_when_offered_in_the_header(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let (real_header, claims, _) = parts(&session.access_token);
    let (key, jwk) = attacker_key();
    for kid in [
        Some("attacker".to_owned()),
        real_header["kid"].as_str().map(str::to_owned),
        None,
    ] {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = kid;
        header.typ = Some("at+jwt".into());
        header.jwk = Some(serde_json::from_value(jwk.clone()).unwrap());
        header.jku = Some("https://attacker.example/jwks.json".into());
        header.x5u = Some("https://attacker.example/cert.pem".into());
        let forged = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        assert_refused(&app, &forged).await;
    }
}

async fn wrong_issuer_or_audience_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let (_, claims, _) = parts(&session.access_token);
    assert!(
        accepted(&app, &sign_with_current_key(&app, &claims)).await,
        "the helper signs valid tokens"
    );
    for (field, value) in [
        ("iss", json!("https://evil.example")),
        ("aud", json!("another-service")),
        ("aud", json!(["another-service"])),
    ] {
        let mut forged = claims.clone();
        forged[field] = value;
        assert_refused(&app, &sign_with_current_key(&app, &forged)).await;
    }
    for missing in ["exp", "iss", "aud", "sub", "sid"] {
        let mut forged = claims.clone();
        forged.as_object_mut().unwrap().remove(missing);
        assert_refused(&app, &sign_with_current_key(&app, &forged)).await;
    }
}

async fn expiry_and_not_before_are_checked_with_60_seconds_of_leeway(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    app.clock.advance(chrono::Duration::seconds(15 * 60 + 50));
    assert!(
        accepted(&app, &session.access_token).await,
        "within the leeway"
    );
    app.clock.advance(chrono::Duration::seconds(20));
    assert_refused(&app, &session.access_token).await;

    let (_, mut claims, _) = parts(&session.access_token);
    let now = app.clock.now_timestamp();
    claims["exp"] = json!(now + 600);
    claims["nbf"] = json!(now + 30);
    assert!(
        accepted(&app, &sign_with_current_key(&app, &claims)).await,
        "nbf within the leeway"
    );
    claims["nbf"] = json!(now + 120);
    assert_refused(&app, &sign_with_current_key(&app, &claims)).await;
}

async fn tokens_are_read_only_from_the_authorization_header(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let token = &session.access_token;
    app.get(&format!("/api/v1/auth/me?access_token={token}"))
        .send()
        .await
        .problem(401);
    app.get("/api/v1/auth/me")
        .header("cookie", &format!("access_token={token}"))
        .send()
        .await
        .problem(401);
}

async fn a_refresh_token_is_not_an_access_token(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session: Session = app.user().await;
    assert_refused(&app, &session.refresh_token).await;
}

async fn malformed_authorization_headers_are_401(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    for value in [
        format!("Basic {}", session.access_token),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Bearer a.b.c".to_owned(),
        format!("Bearer {}x", session.access_token),
        "x".repeat(5000),
    ] {
        app.get("/api/v1/auth/me")
            .header("authorization", &value)
            .send()
            .await
            .problem(401);
    }
    let lower = app
        .get("/api/v1/auth/me")
        .header("authorization", &format!("bearer {}", session.access_token))
        .send()
        .await;
    assert_eq!(lower.status, 200, "the scheme is case-insensitive");
}

async fn hs256_mode_signs_with_the_shared_secret_and_publishes_no_keys(backend: Backend) {
    let secret = "a-shared-secret-of-at-least-32-bytes!!";
    let app = TestApp::builder(backend)
        .env("JWT_SECRET_KEY", secret)
        .start()
        .await;
    let session = app.user().await;
    let (header, claims, _) = parts(&session.access_token);
    assert_eq!(header["alg"], "HS256");
    assert!(header["kid"].is_string());
    assert!(accepted(&app, &session.access_token).await);
    assert_eq!(
        app.get("/.well-known/jwks.json").send().await.json(),
        json!({"keys": []})
    );
    // Another secret, or an EdDSA token, does not pass.
    let mut other = Header::new(Algorithm::HS256);
    other.kid = header["kid"].as_str().map(str::to_owned);
    other.typ = Some("at+jwt".into());
    assert_refused(
        &app,
        &jsonwebtoken::encode(
            &other,
            &claims,
            &EncodingKey::from_secret(b"another-secret-another-secret-xx"),
        )
        .unwrap(),
    )
    .await;
    let (key, _) = attacker_key();
    let mut ed = Header::new(Algorithm::EdDSA);
    ed.kid = header["kid"].as_str().map(str::to_owned);
    assert_refused(&app, &jsonwebtoken::encode(&ed, &claims, &key).unwrap()).await;
}

trait Timestamp {
    fn now_timestamp(&self) -> i64;
}

impl Timestamp for roster::clock::ManualClock {
    fn now_timestamp(&self) -> i64 {
        use roster::clock::Clock;
        self.now().timestamp()
    }
}
