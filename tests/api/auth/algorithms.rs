//! `ACCESS_TOKEN_ALGORITHM`: access tokens signed `EdDSA`, `ES256` or `RS256` with keys
//! published in the JWK set, verifiable from it alone; changing the algorithm keeps
//! earlier tokens valid until they expire; `roster keys rotate` makes keys of the
//! configured kind; a bad value stops start-up naming the variable.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::helpers::{Backend, Session, TestApp, kid_of};
use crate::on_both_engines;

on_both_engines!(
    each_algorithm_signs_tokens_that_a_verifier_built_from_the_jwks_alone_accepts,
    changing_the_algorithm_keeps_earlier_tokens_valid_and_signs_new_ones_with_the_new_kind,
    rotation_makes_a_key_of_the_configured_kind,
    the_shared_secret_still_overrides_the_algorithm,
);

/// Each value, the JOSE algorithm and the JWK `kty` of its keys.
const KINDS: [(&str, Algorithm, &str); 3] = [
    ("EdDSA", Algorithm::EdDSA, "OKP"),
    ("ES256", Algorithm::ES256, "EC"),
    ("RS256", Algorithm::RS256, "RSA"),
];

async fn app_signing(backend: Backend, algorithm: &str) -> TestApp {
    TestApp::builder(backend)
        .env("ACCESS_TOKEN_ALGORITHM", algorithm)
        .env("KEY_REFRESH_SECONDS", "1")
        .start()
        .await
}

/// The key of `/.well-known/jwks.json` (also in `/oauth2/jwks`) that the token's `kid`
/// names.
async fn published_key(app: &TestApp, token: &str) -> Value {
    let kid = kid_of(token);
    let jwks = app.get("/.well-known/jwks.json").send().await.json();
    let ids = app.get("/oauth2/jwks").send().await.json();
    assert_eq!(jwks, ids, "both key sets hold every access-token key");
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("{kid} is not published: {jwks}"))
        .clone()
}

/// What a service that knows only Roster's JWK set, issuer and audience makes of the
/// token: the key its `kid` names, with that key's own `alg`. Panics unless it verifies.
async fn verified_from_the_jwks(app: &TestApp, token: &str) -> Value {
    let key = published_key(app, token).await;
    let jwk: Jwk = serde_json::from_value(key.clone()).expect("a JWK jsonwebtoken reads");
    let algorithm: Algorithm = key["alg"].as_str().unwrap().parse().unwrap();
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&["http://roster.test"]);
    validation.set_audience(&["roster"]);
    validation.leeway = 0;
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
        .unwrap_or_else(|e| panic!("the JWK set does not verify the token: {e}"))
        .claims
}

async fn accepted(app: &TestApp, session: &Session) -> bool {
    app.get("/api/v1/auth/me")
        .bearer(&session.access_token)
        .send()
        .await
        .status
        == 200
}

/// The stored keys of `algorithm` as (kid, retired).
async fn stored_keys(app: &TestApp, algorithm: &str) -> Vec<(String, bool)> {
    roster::tokens::keys::list(&app.state.db, &app.state.cipher)
        .await
        .unwrap()
        .into_iter()
        .filter(|key| key.algorithm == algorithm)
        .map(|key| (key.kid, key.retired_at.is_some()))
        .collect()
}

async fn each_algorithm_signs_tokens_that_a_verifier_built_from_the_jwks_alone_accepts(
    backend: Backend,
) {
    for (name, algorithm, kty) in KINDS {
        let app = app_signing(backend, name).await;
        let session = app.user().await;
        let header = jsonwebtoken::decode_header(&session.access_token).unwrap();
        assert_eq!(header.alg, algorithm, "{name}");
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let key = published_key(&app, &session.access_token).await;
        assert_eq!(key["alg"], name);
        assert_eq!(key["kty"], kty);
        assert_eq!(key["use"], "sig");
        assert!(key.get("d").is_none(), "{name}: no private material");
        let claims = verified_from_the_jwks(&app, &session.access_token).await;
        assert_eq!(claims["sub"], session.user_id.as_str(), "{name}");
        assert!(accepted(&app, &session).await, "{name}");
        // One active key of the kind signs; the ID tokens' kinds are there beside it.
        assert_eq!(stored_keys(&app, name).await.len(), 1, "{name}");
        for id_kind in ["EdDSA", "RS256"] {
            assert_eq!(
                stored_keys(&app, id_kind).await.len(),
                1,
                "{name}: {id_kind}"
            );
        }
        // Discovery and the API description say how tokens are signed.
        let discovery = app
            .get("/.well-known/openid-configuration")
            .send()
            .await
            .json();
        assert_eq!(
            discovery["access_token_signing_alg_values_supported"],
            serde_json::json!([name])
        );
        let openapi = app.get("/openapi.json").send().await.json();
        let description = openapi["info"]["description"].as_str().unwrap();
        assert!(
            description.contains(&format!("signs access tokens `{name}` with")),
            "{description}"
        );
        let bearer = openapi["components"]["securitySchemes"]["bearer"]["description"]
            .as_str()
            .unwrap();
        assert!(bearer.contains(&format!("`{name}`")), "{bearer}");
    }
}

async fn changing_the_algorithm_keeps_earlier_tokens_valid_and_signs_new_ones_with_the_new_kind(
    backend: Backend,
) {
    let ed = app_signing(backend, "EdDSA").await;
    let before = ed.user().await;
    let ed_kid = kid_of(&before.access_token);

    // Restarted with ES256: a key of the new kind signs; the Ed25519 key stays (it signs
    // EdDSA ID tokens) and so do the tokens it signed.
    let es = ed
        .restarted_with(&[("ACCESS_TOKEN_ALGORITHM", "ES256")])
        .await;
    let during = es.user().await;
    let header = jsonwebtoken::decode_header(&during.access_token).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    let es_keys = stored_keys(&es, "ES256").await;
    assert_eq!(es_keys, [(kid_of(&during.access_token), false)]);
    assert!(accepted(&es, &before).await, "an EdDSA token signed before");
    assert!(accepted(&es, &during).await);
    for token in [&before.access_token, &during.access_token] {
        verified_from_the_jwks(&es, token).await;
    }
    // A sibling started with the same setting makes no second key.
    let sibling = es.sibling().await;
    assert_eq!(stored_keys(&sibling, "ES256").await.len(), 1);
    assert!(accepted(&sibling, &before).await);

    // Restarted with RS256: the P-256 key, which signs nothing else, is retired but stays
    // published, and its tokens accepted, until they have expired.
    let rs = es
        .restarted_with(&[("ACCESS_TOKEN_ALGORITHM", "RS256")])
        .await;
    let after = rs.user().await;
    assert_eq!(
        jsonwebtoken::decode_header(&after.access_token)
            .unwrap()
            .alg,
        Algorithm::RS256
    );
    assert!(stored_keys(&rs, "ES256").await[0].1, "retired");
    for session in [&before, &during, &after] {
        assert!(accepted(&rs, session).await);
        verified_from_the_jwks(&rs, &session.access_token).await;
    }
    // A token's `alg` must be its key's: the EdDSA token relabelled RS256 is refused.
    let relabelled = relabel(&before.access_token, "RS256");
    let refused = rs.get("/api/v1/auth/me").bearer(&relabelled).send().await;
    refused.problem(401);

    // Once the P-256 key's tokens have expired (15 min, and 5 min of grace), it is
    // withdrawn; the Ed25519 key, which signs ID tokens, stays.
    rs.clock
        .advance(chrono::Duration::minutes(20) + chrono::Duration::seconds(1));
    let later = rs.restarted_with(&[]).await;
    let jwks = later.get("/.well-known/jwks.json").send().await.json();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap())
        .collect();
    assert!(!kids.contains(&es_keys[0].0.as_str()), "{kids:?}");
    assert!(kids.contains(&ed_kid.as_str()), "{kids:?}");
    assert!(kids.contains(&kid_of(&after.access_token).as_str()));
}

/// `token` with its header's `alg` replaced (the signature left as it was).
fn relabel(token: &str, alg: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (header, rest) = token.split_once('.').unwrap();
    let mut header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["alg"] = Value::from(alg);
    format!(
        "{}.{rest}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap())
    )
}

async fn rotation_makes_a_key_of_the_configured_kind(backend: Backend) {
    for name in ["ES256", "RS256"] {
        let app = app_signing(backend, name).await;
        let before = app.user().await;
        let old_kid = kid_of(&before.access_token);
        let context =
            roster::cli::Context::open_with_clock(app.config.clone(), Arc::new(app.clock.clone()))
                .await
                .unwrap();
        let rotation = roster::cli::rotate_keys(&context).await.unwrap();
        assert_eq!(rotation.algorithm.as_str(), name);
        assert!(rotation.retired.contains(&old_kid), "{name}");
        let active: Vec<String> = stored_keys(&app, name)
            .await
            .into_iter()
            .filter(|(_, retired)| !retired)
            .map(|(kid, _)| kid)
            .collect();
        assert_eq!(active, std::slice::from_ref(&rotation.kid), "{name}");
        if name == "RS256" {
            assert_eq!(rotation.rsa_kid, rotation.kid, "one RSA key signs both");
        }
        // The running instance signs with the new key within KEY_REFRESH_SECONDS.
        let started = std::time::Instant::now();
        let after = loop {
            let session = app.user().await;
            if kid_of(&session.access_token) == rotation.kid {
                break session;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "{name}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let key = published_key(&app, &after.access_token).await;
        assert_eq!(key["alg"], name);
        verified_from_the_jwks(&app, &after.access_token).await;
        assert!(accepted(&app, &before).await, "{name}: the old key's token");
        verified_from_the_jwks(&app, &before.access_token).await;
    }
}

async fn the_shared_secret_still_overrides_the_algorithm(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("ACCESS_TOKEN_ALGORITHM", "ES256")
        .env("JWT_SECRET_KEY", "a-shared-secret-of-at-least-32-bytes!!")
        .start()
        .await;
    let session = app.user().await;
    assert_eq!(
        jsonwebtoken::decode_header(&session.access_token)
            .unwrap()
            .alg,
        Algorithm::HS256
    );
    assert!(accepted(&app, &session).await);
    assert_eq!(
        app.get("/.well-known/jwks.json").send().await.json(),
        serde_json::json!({"keys": []})
    );
    let discovery = app
        .get("/.well-known/openid-configuration")
        .send()
        .await
        .json();
    assert_eq!(
        discovery["access_token_signing_alg_values_supported"],
        serde_json::json!(["HS256"])
    );
}

#[test]
fn an_unknown_algorithm_stops_start_up_naming_the_variable() {
    for bad in ["HS256", "none", "es256", "PS256", "EdDSA,ES256"] {
        let vars = std::collections::HashMap::from([(
            "ACCESS_TOKEN_ALGORITHM".to_owned(),
            bad.to_owned(),
        )]);
        let error = roster::config::Config::from_map(&vars).unwrap_err();
        assert_eq!(error.variable, "ACCESS_TOKEN_ALGORITHM", "{bad}");
        assert!(
            error.to_string().contains("EdDSA, ES256, RS256"),
            "{bad}: {error}"
        );
    }
    // The binary stops before it touches a database, saying which setting to fix.
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("migrate")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ACCESS_TOKEN_ALGORITHM", "HS512")
        .current_dir(dir.path())
        .output()
        .expect("the roster binary runs");
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("ACCESS_TOKEN_ALGORITHM"), "{said}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing was created"
    );
}
