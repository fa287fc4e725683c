//! The payment vault: statuses, validation, AES-256-GCM at rest (unique nonces, bound to
//! the user, tampering detected), the development key file's permissions, and that no
//! response, log line, audit row or database column holds the token in clear.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;
use crate::users::support::{dump_database, get_ok};

on_both_engines!(
    post_put_get_delete_follow_the_contract,
    the_payment_token_is_validated,
    tokens_are_sealed_with_a_fresh_nonce_and_bound_to_their_user,
    tampered_ciphertext_is_an_error_never_garbage,
    the_development_key_file_is_owner_only_and_warned_about,
    the_payment_token_is_never_in_clear_text_anywhere,
);

const TOKEN: &str = "tok_live_5f3c9a7e21d84b0f9c6a4242";

async fn post_put_get_delete_follow_the_contract(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let path = "/api/v1/users/me/payment-info";
    app.get(path)
        .bearer(&alice.access_token)
        .send()
        .await
        .problem(404);
    let created = app
        .post(path)
        .bearer(&alice.access_token)
        .json(json!({"payment_token": TOKEN}))
        .send()
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let body = created.json();
    assert_eq!(body["has_payment_info"], true);
    assert_eq!(body["token_hint"], "4242");
    assert!(body["updated_at"].is_string());
    assert_eq!(body.as_object().unwrap().len(), 3);
    let again = app
        .post(path)
        .bearer(&alice.access_token)
        .json(json!({"payment_token": "tok_other_0000001111"}))
        .send()
        .await;
    again.problem(409);
    assert_eq!(
        get_ok(&app, path, &alice.access_token).await["token_hint"],
        "4242"
    );

    app.clock.advance(chrono::Duration::minutes(1));
    let replaced = app
        .put(path)
        .bearer(&alice.access_token)
        .json(json!({"payment_token": "tok_other_0000009876"}))
        .send()
        .await;
    assert_eq!(replaced.status, 200);
    assert_eq!(replaced.json()["token_hint"], "9876");
    assert_ne!(replaced.json()["updated_at"], body["updated_at"]);
    assert_eq!(
        get_ok(&app, path, &alice.access_token).await,
        replaced.json()
    );

    assert_eq!(
        app.delete(path)
            .bearer(&alice.access_token)
            .send()
            .await
            .status,
        204
    );
    app.get(path)
        .bearer(&alice.access_token)
        .send()
        .await
        .problem(404);
    assert_eq!(
        app.delete(path)
            .bearer(&alice.access_token)
            .send()
            .await
            .status,
        204
    );
    // PUT creates when none is stored.
    let put_new = app
        .put(path)
        .bearer(&alice.access_token)
        .json(json!({"payment_token": TOKEN}))
        .send()
        .await;
    assert_eq!(put_new.status, 200);
    // Another user sees none of it.
    let bob = app.user().await;
    app.get(path)
        .bearer(&bob.access_token)
        .send()
        .await
        .problem(404);
    app.get(path).send().await.problem(401);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'payment_info_change'")
            .await,
        4
    );
}

async fn the_payment_token_is_validated(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    for body in [
        json!({}),
        json!({"payment_token": ""}),
        json!({"payment_token": "short"}),
        json!({"payment_token": "x".repeat(257)}),
        json!({"payment_token": "tok with spaces 1234"}),
        json!({"payment_token": "tok\u{1}control1234"}),
        json!({"payment_token": 12345678}),
        json!({"payment_token": null}),
    ] {
        for method in ["POST", "PUT"] {
            let response = crate::users::support::send(
                &app,
                method,
                "/api/v1/users/me/payment-info",
                Some(&alice.access_token),
                Some(body.clone()),
            )
            .await;
            assert_eq!(
                response.failing_fields(),
                ["payment_token"],
                "{method} {body}"
            );
            if let Some(token) = body["payment_token"].as_str().filter(|t| t.len() > 6) {
                assert!(!response.text.contains(token), "the value is not echoed");
            }
        }
    }
    let extra = app
        .post("/api/v1/users/me/payment-info")
        .bearer(&alice.access_token)
        .json(json!({"payment_token": TOKEN, "card_number": "4242424242424242"}))
        .send()
        .await;
    assert_eq!(extra.failing_fields(), ["card_number"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM payment_info").await, 0);
}

async fn sealed(app: &TestApp) -> Vec<Vec<u8>> {
    match &app.state.db {
        roster::db::Db::Sqlite(pool, _) => {
            sqlx::query_scalar("SELECT token_ciphertext FROM payment_info ORDER BY created_at")
                .fetch_all(pool)
                .await
                .unwrap()
        }
        roster::db::Db::Postgres(pool) => {
            sqlx::query_scalar("SELECT token_ciphertext FROM payment_info ORDER BY created_at")
                .fetch_all(pool)
                .await
                .unwrap()
        }
    }
}

async fn tokens_are_sealed_with_a_fresh_nonce_and_bound_to_their_user(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let bob = app.user().await;
    for session in [&alice, &bob] {
        app.put("/api/v1/users/me/payment-info")
            .bearer(&session.access_token)
            .json(json!({"payment_token": TOKEN}))
            .send()
            .await;
    }
    let first = sealed(&app).await;
    assert_eq!(first.len(), 2);
    // nonce (12) + ciphertext (token length) + tag (16)
    assert_eq!(first[0].len(), 12 + TOKEN.len() + 16);
    assert_ne!(
        first[0], first[1],
        "same token, different users: different ciphertexts"
    );
    assert_ne!(first[0][..12], first[1][..12], "nonces differ");
    // Rewriting the same token gives a new nonce.
    app.put("/api/v1/users/me/payment-info")
        .bearer(&alice.access_token)
        .json(json!({"payment_token": TOKEN}))
        .send()
        .await;
    let rewritten = sealed(&app).await;
    assert!(!rewritten.contains(&first[0]));
    // The stored value opens with the user's id as associated data, and only with it.
    let alice_id: uuid::Uuid = alice.user_id.parse().unwrap();
    let bob_id: uuid::Uuid = bob.user_id.parse().unwrap();
    let opened: Vec<_> = rewritten
        .iter()
        .filter_map(|s| app.state.cipher.open(s, alice_id.as_bytes()).ok())
        .collect();
    assert_eq!(opened, [TOKEN.as_bytes().to_vec()]);
    // Moving Bob's ciphertext onto Alice does not give Alice Bob's token.
    let table_swap = match backend {
        Backend::Sqlite => format!(
            "UPDATE payment_info SET token_ciphertext = (SELECT token_ciphertext FROM payment_info WHERE user_id = X'{}') WHERE user_id = X'{}'",
            hex::encode(bob_id.as_bytes()),
            hex::encode(alice_id.as_bytes())
        ),
        Backend::Postgres => format!(
            "UPDATE payment_info SET token_ciphertext = (SELECT token_ciphertext FROM payment_info WHERE user_id = '{bob_id}') WHERE user_id = '{alice_id}'"
        ),
    };
    app.exec(table_swap).await;
    app.get("/api/v1/users/me/payment-info")
        .bearer(&alice.access_token)
        .send()
        .await
        .problem(500);
    assert_eq!(
        get_ok(&app, "/api/v1/users/me/payment-info", &bob.access_token).await["token_hint"],
        "4242"
    );
}

async fn tampered_ciphertext_is_an_error_never_garbage(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    app.post("/api/v1/users/me/payment-info")
        .bearer(&alice.access_token)
        .json(json!({"payment_token": TOKEN}))
        .send()
        .await;
    let mut value = sealed(&app).await.remove(0);
    let middle = value.len() / 2;
    value[middle] ^= 0x01;
    let statement = match backend {
        Backend::Sqlite => format!(
            "UPDATE payment_info SET token_ciphertext = X'{}'",
            hex::encode(&value)
        ),
        Backend::Postgres => format!(
            "UPDATE payment_info SET token_ciphertext = '\\x{}'::bytea",
            hex::encode(&value)
        ),
    };
    app.exec(statement).await;
    let response = app
        .get("/api/v1/users/me/payment-info")
        .bearer(&alice.access_token)
        .send()
        .await;
    let problem = response.problem(500);
    assert_eq!(problem["type"], "urn:roster:problem:internal");
    assert!(problem["request_id"].is_string());
    assert!(!response.text.contains("4242"));
    // Replacing it works again.
    let replaced = app
        .put("/api/v1/users/me/payment-info")
        .bearer(&alice.access_token)
        .json(json!({"payment_token": TOKEN}))
        .send()
        .await;
    assert_eq!(replaced.status, 200);
    assert_eq!(
        get_ok(&app, "/api/v1/users/me/payment-info", &alice.access_token).await["token_hint"],
        "4242"
    );
}

async fn the_development_key_file_is_owner_only_and_warned_about(backend: Backend) {
    // Logs of this test's own runtime, captured on its thread.
    let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = CapturedLogs(logs.clone());
    let outcome = std::thread::spawn(move || {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app = TestApp::builder(backend)
                    .unset("ENCRYPTION_KEY")
                    .start()
                    .await;
                assert!(app.config.encryption_key.is_none());
                let path = app.config.key_file_path();
                let alice = app.user().await;
                let stored = app
                    .post("/api/v1/users/me/payment-info")
                    .bearer(&alice.access_token)
                    .json(json!({"payment_token": TOKEN}))
                    .send()
                    .await;
                assert_eq!(stored.status, 201, "{}", stored.text);
                // A restart reads the same key file and can still open the vault.
                let restarted = app.restarted_with(&[]).await;
                assert_eq!(
                    get_ok(
                        &restarted,
                        "/api/v1/users/me/payment-info",
                        &alice.access_token
                    )
                    .await["token_hint"],
                    "4242"
                );
                let metadata = std::fs::metadata(&path).expect("the key file exists");
                let text = std::fs::read_to_string(&path).expect("the key file reads");
                (path, app.data_dir(), metadata, text)
            })
        })
    })
    .join()
    .expect("the test thread");
    let (path, data_dir, metadata, text) = outcome;
    if backend == Backend::Sqlite {
        assert_eq!(path, data_dir.join("roster.db.key"), "beside the database");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            metadata.permissions().mode() & 0o777,
            0o600,
            "{}",
            path.display()
        );
    }
    assert_eq!(
        roster::config::decode_key(text.trim()).map(|k| k.len()),
        Ok(32)
    );
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logs.contains("ENCRYPTION_KEY is not set"), "{logs}");
    assert!(logs.contains("WARN"), "{logs}");
}

#[derive(Clone)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn the_payment_token_is_never_in_clear_text_anywhere(backend: Backend) {
    let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = CapturedLogs(logs.clone());
    let (responses, dump, audit) = std::thread::spawn(move || {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app = TestApp::new(backend).await;
                let alice = app.user().await;
                let admin = app.admin().await;
                let path = "/api/v1/users/me/payment-info";
                let mut texts = Vec::new();
                for (method, body) in [
                    ("POST", json!({"payment_token": TOKEN})),
                    ("POST", json!({"payment_token": TOKEN})),
                    ("PUT", json!({"payment_token": TOKEN})),
                    ("PUT", json!({"payment_token": format!("{TOKEN} ")})),
                    ("PUT", json!({"payment_token": TOKEN, "extra": TOKEN})),
                    ("POST", json!({"payment_token": [TOKEN]})),
                ] {
                    let response = crate::users::support::send(
                        &app,
                        method,
                        path,
                        Some(&alice.access_token),
                        Some(body),
                    )
                    .await;
                    texts.push(format!("{:?} {}", response.headers, response.text));
                }
                let response = app.get(path).bearer(&alice.access_token).send().await;
                texts.push(response.text);
                let audit = app
                    .get("/api/v1/admin/audit?limit=100")
                    .bearer(&admin.access_token)
                    .send()
                    .await
                    .text;
                (texts.join("\n"), dump_database(&app).await, audit)
            })
        })
    })
    .join()
    .expect("the test thread");
    let hex_token = hex::encode(TOKEN);
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        logs.contains("payment-info"),
        "requests were logged: {logs}"
    );
    for (place, text) in [
        ("responses", &responses),
        ("database", &dump),
        ("audit", &audit),
        ("logs", &logs),
    ] {
        assert!(!text.contains(TOKEN), "the token is in the {place}");
        assert!(
            !text.to_lowercase().contains(&hex_token),
            "the token's bytes are in the {place}"
        );
    }
    assert!(responses.contains("\"token_hint\":\"4242\""));
    assert!(
        dump.contains("payment_info"),
        "the dump covers the vault table"
    );
    assert!(audit.contains("payment_info_change"));
}
