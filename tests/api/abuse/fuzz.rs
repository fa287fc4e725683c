//! Property-based fuzzing of the parsing that faces attackers first: access tokens
//! (`TokenService::verify`), JSON bodies (`parse_json`) and the OAuth2 form of
//! `/token` (through the router). None may panic, answer 5xx, accept what it should
//! not, or echo a password back. Cases per target: `PROPTEST_CASES` (default 64).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use roster::auth::login::LoginRequest;
use roster::auth::refresh::RefreshRequest;
use roster::auth::register::RegisterRequest;
use roster::clock::Clock;
use roster::error::ApiError;
use roster::http::parse_json;
use serde_json::Value;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;

on_both_engines!(
    token_verification_rejects_every_forgery_without_panicking,
    the_token_form_never_answers_5xx_and_always_speaks_oauth,
);

fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Token-shaped text: arbitrary strings, three segments of arbitrary bytes, and
/// well-formed headers that ask for `none`, HS256 or embedded keys over any claims.
fn forged_tokens() -> impl Strategy<Value = String> {
    let header = prop_oneof![
        Just(r#"{"alg":"none","typ":"at+jwt"}"#.to_owned()),
        Just(r#"{"alg":"HS256","typ":"at+jwt","kid":"k"}"#.to_owned()),
        Just(r#"{"alg":"EdDSA","jwk":{"kty":"OKP","crv":"Ed25519","x":"AAAA"}}"#.to_owned()),
        Just(r#"{"alg":"EdDSA","jku":"http://evil.example/jwks"}"#.to_owned()),
        any::<String>(),
    ];
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        (
            proptest::collection::vec(any::<u8>(), 0..80),
            proptest::collection::vec(any::<u8>(), 0..200),
            proptest::collection::vec(any::<u8>(), 0..80),
        )
            .prop_map(|(h, p, s)| format!("{}.{}.{}", b64(&h), b64(&p), b64(&s))),
        (header, any::<String>(), proptest::collection::vec(any::<u8>(), 0..70)).prop_map(
            |(h, sub, sig)| {
                let claims = format!(
                    r#"{{"iss":"http://roster.test","aud":"roster","sub":{sub:?},"sid":{sub:?},"exp":99999999999,"iat":0,"jti":"x","role":"admin","tier":"premium"}}"#
                );
                format!("{}.{}.{}", b64(h.as_bytes()), b64(claims.as_bytes()), b64(&sig))
            }
        ),
    ]
}

async fn token_verification_rejects_every_forgery_without_panicking(backend: Backend) {
    let app = TestApp::new(backend).await;
    let session = app.user().await;
    let genuine = session.access_token.clone();
    let now = app.clock.now();
    assert!(app.state.tokens.verify(&genuine, now).is_ok());
    let tokens = &app.state.tokens;

    runner()
        .run(&forged_tokens(), |token| {
            prop_assert!(tokens.verify(&token, now).is_err(), "accepted {token:?}");
            Ok(())
        })
        .unwrap();

    // Any single-character change to a genuine token invalidates it.
    let changes = (0..genuine.len(), any::<char>());
    runner()
        .run(&changes, |(index, replacement)| {
            let mut forged: Vec<char> = genuine.chars().collect();
            if forged[index] == replacement {
                return Ok(());
            }
            forged[index] = replacement;
            let forged: String = forged.into_iter().collect();
            prop_assert!(tokens.verify(&forged, now).is_err(), "accepted {forged:?}");
            Ok(())
        })
        .unwrap();
}

/// What `parse_json` may answer for any input: a value, or a 400/422 problem that does
/// not quote `secret`.
fn check_parse<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    secret: &str,
    is_object: bool,
) -> Result<(), TestCaseError> {
    match parse_json::<T>(bytes) {
        Ok(_) => prop_assert!(is_object),
        Err(ApiError::Malformed(detail)) => {
            prop_assert!(!is_object, "a JSON object is never malformed");
            prop_assert!(!detail.contains(secret));
        }
        Err(ApiError::Validation(errors)) => {
            prop_assert!(!errors.is_empty());
            for error in errors {
                prop_assert!(!error.message.contains(secret), "{}", error.message);
            }
        }
        Err(other) => prop_assert!(false, "unexpected {other:?}"),
    }
    Ok(())
}

fn json_values() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z_]{0,12}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("login".to_owned()),
                    Just("username".to_owned()),
                    Just("email".to_owned()),
                    Just("password".to_owned()),
                    Just("refresh_token".to_owned()),
                    Just("device_name".to_owned()),
                    any::<String>(),
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn json_bodies_parse_or_fail_with_a_problem_that_quotes_no_secret() {
    const SECRET: &str = "Secret-Password-1234";
    runner()
        .run(&proptest::collection::vec(any::<u8>(), 0..200), |bytes| {
            let is_object = serde_json::from_slice::<Value>(&bytes).is_ok_and(|v| v.is_object());
            check_parse::<LoginRequest>(&bytes, SECRET, is_object)?;
            check_parse::<RegisterRequest>(&bytes, SECRET, is_object)?;
            check_parse::<RefreshRequest>(&bytes, SECRET, is_object)
        })
        .unwrap();
    runner()
        .run(&json_values(), |mut value| {
            if let Value::Object(fields) = &mut value {
                if fields.contains_key("password") {
                    fields.insert("password".into(), Value::from(SECRET));
                }
            }
            let bytes = serde_json::to_vec(&value).unwrap();
            check_parse::<LoginRequest>(&bytes, SECRET, value.is_object())?;
            check_parse::<RegisterRequest>(&bytes, SECRET, value.is_object())?;
            check_parse::<RefreshRequest>(&bytes, SECRET, value.is_object())
        })
        .unwrap();
}

/// Form bodies: arbitrary bytes, and forms built from the fields the endpoint knows
/// with arbitrary values (repeated, NUL-bearing, percent-encoded or not).
fn token_forms() -> impl Strategy<Value = (String, Vec<u8>)> {
    let content_type = prop_oneof![
        Just("application/x-www-form-urlencoded".to_owned()),
        Just("application/x-www-form-urlencoded; charset=ISO-8859-1".to_owned()),
        Just("application/json".to_owned()),
        "[ -~]{0,40}",
    ];
    let field = prop_oneof![
        Just("grant_type"),
        Just("username"),
        Just("password"),
        Just("refresh_token"),
        Just("client_id"),
        Just("scope"),
    ];
    let value = prop_oneof![
        Just("password".to_owned()),
        Just("refresh_token".to_owned()),
        Just("fuzz_user".to_owned()),
        Just(DEFAULT_PASSWORD.to_owned()),
        any::<String>(),
    ];
    let form = proptest::collection::vec((field, value), 0..6).prop_map(|pairs| {
        serde_urlencoded::to_string(pairs)
            .unwrap_or_default()
            .into_bytes()
    });
    let body = prop_oneof![form, proptest::collection::vec(any::<u8>(), 0..200)];
    (content_type, body)
}

async fn the_token_form_never_answers_5xx_and_always_speaks_oauth(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("RATE_LIMIT_AUTH_PER_MINUTE", "1000000")
        .env("ARGON2_MEMORY_KIB", "1024")
        .env("ARGON2_ITERATIONS", "1")
        .start()
        .await;
    app.register("fuzz_user", DEFAULT_PASSWORD).await;
    let handle = tokio::runtime::Handle::current();
    runner()
        .run(&token_forms(), |(content_type, body)| {
            let response = tokio::task::block_in_place(|| {
                handle.block_on(
                    app.post("/api/v1/auth/token")
                        .body(&content_type, body.clone())
                        .send(),
                )
            });
            let status = response.status.as_u16();
            prop_assert!(
                [200, 400, 415, 429].contains(&status),
                "{status}: {}",
                response.text
            );
            let json = response.json();
            match status {
                200 => prop_assert_eq!(&json["token_type"], "Bearer"),
                400 => prop_assert!(
                    ["invalid_request", "invalid_grant", "unsupported_grant_type"]
                        .contains(&json["error"].as_str().unwrap_or("")),
                    "{}",
                    response.text
                ),
                415 => prop_assert_eq!(json["status"].as_u64(), Some(415)),
                _ => prop_assert!(response.header("retry-after").is_some()),
            }
            prop_assert!(!response.text.contains(DEFAULT_PASSWORD));
            Ok(())
        })
        .unwrap();
}
