//! Signing keys: published as a JWK set, rotated without a restart, old keys kept until
//! their tokens have expired.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Backend, TestApp, kid_of};
use crate::on_both_engines;

on_both_engines!(
    the_jwks_publishes_the_ed25519_signing_key,
    rotation_is_picked_up_by_running_instances_within_ten_seconds,
    the_same_key_is_shared_by_instances_of_one_database,
    a_fresh_database_is_served_before_its_rsa_key_exists_and_no_id_token_outruns_the_jwks,
);

async fn kids(app: &TestApp) -> Vec<String> {
    let jwks = app.get("/.well-known/jwks.json").send().await.json();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls until `done` holds, at most `limit`; returns how long it took.
async fn within(limit: Duration, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

async fn the_jwks_publishes_the_ed25519_signing_key(backend: Backend) {
    let app = TestApp::new(backend).await;
    let response = app.get("/.well-known/jwks.json").send().await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let jwks = response.json();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    assert!(key.get("d").is_none(), "no private material");
    let session = app.user().await;
    assert_eq!(kid_of(&session.access_token), key["kid"].as_str().unwrap());
    // Another service verifies the token with the published key alone.
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.clone()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["roster"]);
    validation.set_issuer(&["http://roster.test"]);
    let claims = jsonwebtoken::decode::<Value>(
        &session.access_token,
        &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["sub"], session.user_id.as_str());
    for claim in [
        "iss", "aud", "sub", "sid", "iat", "exp", "jti", "role", "tier",
    ] {
        assert!(claims.get(claim).is_some(), "{claim}");
    }
    // Private keys are stored sealed, never as PKCS#8 in clear.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM signing_keys WHERE algorithm = 'EdDSA'")
            .await,
        1
    );
}

async fn rotation_is_picked_up_by_running_instances_within_ten_seconds(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("KEY_REFRESH_SECONDS", "1")
        .start()
        .await;
    let before = app.user().await;
    let old_kid = kid_of(&before.access_token);
    // The command runs on the application's clock, so that moving it below retires the
    // old key however long the set-up took in real time.
    let context = roster::cli::Context::open_with_clock(
        app.config.clone(),
        std::sync::Arc::new(app.clock.clone()),
    )
    .await
    .unwrap();
    let rotation = roster::cli::rotate_keys(&context).await.unwrap();
    // The Ed25519 key that signed, and the RSA key beside it.
    assert!(
        rotation.retired.contains(&old_kid),
        "{:?}",
        rotation.retired
    );
    assert_eq!(rotation.retired.len(), 2);
    let new_kid = rotation.kid;
    assert_ne!(new_kid, old_kid);
    let took = within(Duration::from_secs(10), async || {
        kids(&app).await.contains(&new_kid)
    })
    .await;
    assert!(took < Duration::from_secs(10));
    let after = app.user().await;
    assert_eq!(
        kid_of(&after.access_token),
        new_kid,
        "new tokens are signed with the new key"
    );
    assert!(
        kids(&app).await.contains(&old_kid),
        "the old key stays published"
    );
    assert_eq!(
        app.get("/api/v1/auth/me")
            .bearer(&before.access_token)
            .send()
            .await
            .status,
        200
    );
    // Once every token it signed has expired, the old keys are withdrawn: the Ed25519 key
    // may have signed an ID token (an hour), so both wait out the ID tokens' lifetime.
    app.clock
        .advance(chrono::Duration::minutes(60 + 5) + chrono::Duration::seconds(1));
    within(Duration::from_secs(10), async || {
        !kids(&app).await.contains(&old_kid)
    })
    .await;
    assert_eq!(kids(&app).await, [new_kid, rotation.rsa_kid]);
}

async fn the_same_key_is_shared_by_instances_of_one_database(backend: Backend) {
    let app = TestApp::new(backend).await;
    let other = app.sibling().await;
    assert_eq!(kids(&app).await, kids(&other).await);
    let session = app.user().await;
    assert_eq!(
        other
            .get("/api/v1/auth/me")
            .bearer(&session.access_token)
            .send()
            .await
            .status,
        200
    );
}

/// The kids of the RSA keys in `/oauth2/jwks`.
async fn rsa_kids(app: &TestApp) -> Vec<String> {
    let response = app.get("/oauth2/jwks").send().await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|key| key["kty"] == "RSA")
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_fresh_database_is_served_before_its_rsa_key_exists_and_no_id_token_outruns_the_jwks(
    backend: Backend,
) {
    // Two instances start together on a fresh database; neither waits for the RSA key,
    // which each makes after start-up unless the other has stored one.
    let app = TestApp::builder(backend).start_unsettled().await;
    let sibling = app.sibling_unsettled().await;
    for instance in [&app, &sibling] {
        assert_eq!(instance.get("/health").send().await.status, 200);
    }
    // A JWK set is never served without the key that signs ID tokens (it waits for it),
    // and both instances publish the same one: one key was stored, not one each.
    let published = rsa_kids(&app).await;
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(rsa_kids(&sibling).await, published);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM signing_keys WHERE algorithm = 'RS256'")
            .await,
        1
    );
    // The first ID token is signed with it.
    let admin = app.admin().await;
    let client = crate::oidc::confidential_client(&app, &admin, true).await;
    let user = app.user().await;
    let tokens = crate::oidc::sign_in_through(&app, &client, &user, "openid").await;
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some(published[0].as_str()));
}
