//! A missing or wrong `ENCRYPTION_KEY` never retires, adds or rewrites anything: every
//! command that seals (`serve`, `keys rotate`, `encryption-key rotate`) and the one that
//! only opens (`keys list`) checks the key against the database's check value first.
//! And `roster encryption-key rotate` re-seals every secret, or nothing.

use std::sync::Arc;

use base64::Engine;
use roster::app::Application;
use roster::clock::ManualClock;
use roster::config::Config;
use serde_json::json;

use super::cli::{roster, text};
use crate::helpers::{Backend, TestApp};
use crate::mfa::enrol_totp;
use crate::on_both_engines;

on_both_engines!(
    keys_rotate_without_the_key_retires_nothing_and_names_the_variable,
    keys_rotate_refuses_when_the_current_signing_key_cannot_be_opened,
    keys_list_shows_every_key_and_whether_it_opens,
    serve_refuses_a_missing_or_wrong_key_and_generates_no_key_file,
    an_upgraded_database_records_its_check_value_only_from_a_key_that_opens_its_secrets,
    encryption_key_rotate_reseals_every_secret_under_the_new_key,
    encryption_key_rotate_writes_nothing_when_a_key_or_a_secret_is_wrong,
);

const PAYMENT_TOKEN: &str = "tok_live_5f3c9a7e21d84b0f9c6a4242";

fn another_key() -> String {
    base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes().repeat(2))
}

/// Every sealed value and the check value, in a fixed order: equal before and after
/// means nothing sealed was rewritten. (Queued mail is left out: the mail worker sends
/// it, and erases its sealed message, whenever it likes.)
async fn sealed_state(app: &TestApp) -> Vec<Vec<u8>> {
    const QUERIES: [&str; 4] = [
        "SELECT private_key FROM signing_keys ORDER BY kid",
        "SELECT secret FROM mfa_totp ORDER BY user_id",
        "SELECT token_ciphertext FROM payment_info ORDER BY user_id",
        "SELECT check_value FROM encryption_key_check",
    ];
    let mut values = Vec::new();
    for sql in QUERIES {
        let rows: Vec<Vec<u8>> = match &app.state.db {
            roster::db::Db::Sqlite(pool, _) => sqlx::query_scalar(sql).fetch_all(pool).await,
            roster::db::Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        }
        .expect(sql);
        values.push(rows.concat());
    }
    values
}

/// Builds the application as `roster serve` does, with these changes; the error if it
/// refuses to start.
async fn start_error(app: &TestApp, changes: &[(&str, &str)]) -> Option<String> {
    let mut vars = app.vars().clone();
    for (name, value) in changes {
        vars.insert((*name).to_owned(), (*value).to_owned());
    }
    let config = Config::from_map(&vars).expect("a valid configuration");
    match Application::build(config, Arc::new(ManualClock::new(chrono::Utc::now()))).await {
        Ok(_) => None,
        Err(e) => Some(format!("{e:#}")),
    }
}

/// The key file a command run in the data directory looks for without `ENCRYPTION_KEY`.
fn key_file(app: &TestApp) -> std::path::PathBuf {
    match app.backend {
        Backend::Sqlite => app.data_dir().join("roster.db.key"),
        Backend::Postgres => app.data_dir().join("roster.key"),
    }
}

/// A user with a payment token and a TOTP secret, so every kind of secret is stored.
async fn with_secrets(app: &TestApp) {
    let alice = app.user().await;
    let stored = app
        .post("/api/v1/users/me/payment-info")
        .bearer(&alice.access_token)
        .json(json!({"payment_token": PAYMENT_TOKEN}))
        .send()
        .await;
    assert_eq!(stored.status, 201, "{}", stored.text);
    enrol_totp(app, &app.user().await).await;
}

async fn keys_rotate_without_the_key_retires_nothing_and_names_the_variable(backend: Backend) {
    let app = TestApp::new(backend).await;
    with_secrets(&app).await;
    let before = sealed_state(&app).await;
    let unset = roster(&app, &["keys", "rotate"], &[("ENCRYPTION_KEY", "")], None);
    assert_eq!(unset.status.code(), Some(1), "{}", text(&unset));
    let message = text(&unset);
    assert!(message.contains("ENCRYPTION_KEY"), "{message}");
    let looked_for = match backend {
        Backend::Sqlite => key_file(&app).display().to_string(),
        Backend::Postgres => "roster.key".to_owned(),
    };
    assert!(message.contains(&looked_for), "{message}");
    assert!(!key_file(&app).exists(), "no key file is generated");
    let wrong = another_key();
    let mismatch = roster(
        &app,
        &["keys", "rotate"],
        &[("ENCRYPTION_KEY", &wrong)],
        None,
    );
    assert_eq!(mismatch.status.code(), Some(1), "{}", text(&mismatch));
    assert!(
        text(&mismatch).contains("ENCRYPTION_KEY"),
        "{}",
        text(&mismatch)
    );
    assert!(!text(&mismatch).contains(&wrong), "the key is never echoed");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM signing_keys WHERE algorithm = 'EdDSA'")
            .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM signing_keys WHERE retired_at IS NOT NULL AND algorithm = 'EdDSA'"
        )
        .await,
        0,
        "the good key is not retired"
    );
    assert_eq!(sealed_state(&app).await, before);
    // With the right key it rotates, and says which key it retired.
    let old_kid = app.state.tokens.key_set().signing_kid.clone();
    let rotated = roster(&app, &["keys", "rotate"], &[], None);
    assert!(rotated.status.success(), "{}", text(&rotated));
    assert!(
        text(&rotated).contains(&format!("retired {old_kid}")),
        "{}",
        text(&rotated)
    );
}

async fn keys_rotate_refuses_when_the_current_signing_key_cannot_be_opened(backend: Backend) {
    let app = TestApp::new(backend).await;
    // The current key sealed with some other key (as a rotation from a wrong shell did).
    let stranger = roster::crypto::Cipher::new(&[9; 32]);
    let kid = app.state.tokens.key_set().signing_kid.clone();
    let sealed = hex::encode(stranger.seal(b"not this database's key", kid.as_bytes()));
    app.exec(match backend {
        Backend::Sqlite => format!("UPDATE signing_keys SET private_key = X'{sealed}'"),
        Backend::Postgres => format!("UPDATE signing_keys SET private_key = '\\x{sealed}'::bytea"),
    })
    .await;
    let output = roster(&app, &["keys", "rotate"], &[], None);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains(&kid) && text(&output).contains("cannot be opened"),
        "{}",
        text(&output)
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM signing_keys WHERE algorithm = 'EdDSA'")
            .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM signing_keys WHERE retired_at IS NULL AND algorithm = 'EdDSA'"
        )
        .await,
        1
    );
    let listed = roster(&app, &["keys", "list"], &[], None);
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(
        text(&listed).contains(&format!("{kid}\tEdDSA\t")),
        "{}",
        text(&listed)
    );
    assert!(
        text(&listed).trim_end().ends_with("\tno"),
        "{}",
        text(&listed)
    );
}

async fn keys_list_shows_every_key_and_whether_it_opens(backend: Backend) {
    let app = TestApp::new(backend).await;
    let first = app.state.tokens.key_set().signing_kid.clone();
    assert!(
        roster(&app, &["keys", "rotate"], &[], None)
            .status
            .success()
    );
    let output = roster(&app, &["keys", "list"], &[], None);
    assert!(output.status.success(), "{}", text(&output));
    let listing = String::from_utf8_lossy(&output.stdout).into_owned();
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(
        lines[0], "kid\talgorithm\tcreated\tretired\topens",
        "{listing}"
    );
    // Each generation is an Ed25519 key (access tokens) and an RSA key (ID tokens).
    assert_eq!(lines.len(), 5, "{listing}");
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split('\t').collect()).collect();
    let algorithms: Vec<&str> = rows.iter().map(|row| row[1]).collect();
    assert_eq!(
        algorithms,
        ["EdDSA", "RS256", "EdDSA", "RS256"],
        "{listing}"
    );
    let (old, new) = (&rows[0], &rows[2]);
    assert_eq!(old[0], first);
    assert_eq!(old[4], "yes");
    for retired in &rows[..2] {
        assert_ne!(retired[3], "-", "the first keys are retired: {listing}");
    }
    for current in &rows[2..] {
        assert_eq!((current[3], current[4]), ("-", "yes"), "{listing}");
    }
    assert!(
        chrono::DateTime::parse_from_rfc3339(new[2]).is_ok(),
        "{listing}"
    );
    let wrong = roster(
        &app,
        &["keys", "list"],
        &[("ENCRYPTION_KEY", &another_key())],
        None,
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(text(&wrong).contains("ENCRYPTION_KEY"), "{}", text(&wrong));
}

async fn serve_refuses_a_missing_or_wrong_key_and_generates_no_key_file(backend: Backend) {
    let app = TestApp::new(backend).await;
    with_secrets(&app).await;
    let before = sealed_state(&app).await;
    let wrong = start_error(&app, &[("ENCRYPTION_KEY", &another_key())]).await;
    let wrong = wrong.expect("a wrong key is refused");
    assert!(
        wrong.contains("ENCRYPTION_KEY") && wrong.contains("nothing was written"),
        "{wrong}"
    );
    // The binary says the same and exits 1 before listening.
    let served = roster(
        &app,
        &["serve"],
        &[("ENCRYPTION_KEY", &another_key()), ("PORT", "0")],
        None,
    );
    assert_eq!(served.status.code(), Some(1), "{}", text(&served));
    assert!(
        text(&served).contains("ENCRYPTION_KEY"),
        "{}",
        text(&served)
    );
    // Without ENCRYPTION_KEY and without a key file, it says which file it looked for,
    // and generates none for a database that holds secrets.
    let unset = roster(
        &app,
        &["serve"],
        &[("ENCRYPTION_KEY", ""), ("PORT", "0")],
        None,
    );
    assert_eq!(unset.status.code(), Some(1), "{}", text(&unset));
    let looked_for = match backend {
        Backend::Sqlite => key_file(&app).display().to_string(),
        Backend::Postgres => "roster.key".to_owned(),
    };
    assert!(
        text(&unset).contains("ENCRYPTION_KEY") && text(&unset).contains(&looked_for),
        "{}",
        text(&unset)
    );
    assert!(!key_file(&app).exists(), "no key file is generated");
    if backend == Backend::Sqlite {
        // The same through the library (the key file beside the database; on PostgreSQL
        // it would be ./roster.key of the test process, shared by other tests).
        let missing = start_error(&app, &[("ENCRYPTION_KEY", "")]).await;
        let missing = missing.expect("a missing key is refused");
        assert!(
            missing.contains(&key_file(&app).display().to_string()),
            "{missing}"
        );
        assert!(!key_file(&app).exists());
    }
    assert_eq!(sealed_state(&app).await, before);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM signing_keys WHERE algorithm = 'EdDSA'")
            .await,
        1
    );
    assert!(
        start_error(&app, &[]).await.is_none(),
        "the right key still starts"
    );
}

async fn an_upgraded_database_records_its_check_value_only_from_a_key_that_opens_its_secrets(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    with_secrets(&app).await;
    // A database from before check values existed.
    app.exec("DELETE FROM encryption_key_check").await;
    let refused = start_error(&app, &[("ENCRYPTION_KEY", &another_key())]).await;
    assert!(refused.is_some_and(|e| e.contains("ENCRYPTION_KEY")));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM encryption_key_check").await,
        0
    );
    let cli = roster(
        &app,
        &["keys", "rotate"],
        &[("ENCRYPTION_KEY", &another_key())],
        None,
    );
    assert_eq!(cli.status.code(), Some(1), "{}", text(&cli));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM encryption_key_check").await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM signing_keys WHERE algorithm = 'EdDSA'")
            .await,
        1
    );
    assert!(
        start_error(&app, &[]).await.is_none(),
        "the right key starts"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM encryption_key_check").await,
        1
    );
    // From now on the check value decides.
    let refused = start_error(&app, &[("ENCRYPTION_KEY", &another_key())]).await;
    assert!(refused.is_some_and(|e| e.contains("ENCRYPTION_KEY")));
}

async fn encryption_key_rotate_reseals_every_secret_under_the_new_key(backend: Backend) {
    let app = TestApp::new(backend).await;
    with_secrets(&app).await;
    let payer = app.login_first_payer().await;
    let before = sealed_state(&app).await;
    let new_key = another_key();
    let file = app.data_dir().join("new.key");
    std::fs::write(&file, format!("{new_key}\n")).unwrap();
    let output = roster(
        &app,
        &[
            "encryption-key",
            "rotate",
            "--new-key-file",
            file.to_str().unwrap(),
        ],
        &[],
        None,
    );
    let report = text(&output);
    assert!(output.status.success(), "{report}");
    assert!(
        report.contains("2 signing keys, 1 TOTP secrets, 1 payment tokens"),
        "{report}"
    );
    assert!(
        report.contains("set ENCRYPTION_KEY to the new key")
            && report.contains("restart every instance"),
        "{report}"
    );
    assert!(!report.contains(&new_key), "the key is never echoed");
    let after = sealed_state(&app).await;
    for (kind, (old, new)) in before.iter().zip(&after).enumerate() {
        if !old.is_empty() {
            assert_ne!(old, new, "every stored kind is re-sealed ({kind})");
        }
    }
    // The old key no longer starts; the new one opens everything.
    let old_key = start_error(&app, &[]).await;
    assert!(old_key.is_some_and(|e| e.contains("ENCRYPTION_KEY")));
    let restarted = app.restarted_with(&[("ENCRYPTION_KEY", &new_key)]).await;
    let vault = restarted
        .get("/api/v1/users/me/payment-info")
        .bearer(&payer)
        .send()
        .await;
    assert_eq!(vault.status, 200, "{}", vault.text);
    assert_eq!(vault.json()["token_hint"], "4242");
    let listed = roster(&restarted, &["keys", "list"], &[], None);
    assert!(
        text(&listed).trim_end().ends_with("\tyes"),
        "{}",
        text(&listed)
    );
    // The new key may come from standard input too; the same key again is refused.
    let same = roster(
        &restarted,
        &["encryption-key", "rotate", "--new-key-file", "-"],
        &[],
        Some(&new_key),
    );
    assert_eq!(same.status.code(), Some(1));
    assert!(text(&same).contains("--new-key-file"), "{}", text(&same));
}

async fn encryption_key_rotate_writes_nothing_when_a_key_or_a_secret_is_wrong(backend: Backend) {
    let app = TestApp::new(backend).await;
    with_secrets(&app).await;
    let file = app.data_dir().join("new.key");
    std::fs::write(&file, another_key()).unwrap();
    let path = file.to_str().unwrap();
    let before = sealed_state(&app).await;
    for env in [
        &[("ENCRYPTION_KEY", "")][..],
        &[("ENCRYPTION_KEY", &another_key())],
    ] {
        let output = roster(
            &app,
            &["encryption-key", "rotate", "--new-key-file", path],
            env,
            None,
        );
        assert_eq!(output.status.code(), Some(1), "{}", text(&output));
        assert!(
            text(&output).contains("ENCRYPTION_KEY"),
            "{}",
            text(&output)
        );
    }
    assert!(!key_file(&app).exists());
    let bad_file = app.data_dir().join("bad.key");
    std::fs::write(&bad_file, "not base64!").unwrap();
    let bad = roster(
        &app,
        &[
            "encryption-key",
            "rotate",
            "--new-key-file",
            bad_file.to_str().unwrap(),
        ],
        &[],
        None,
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).contains("--new-key-file"), "{}", text(&bad));
    assert_eq!(sealed_state(&app).await, before);
    // One secret that does not open (tampered with): the rotation names its kind and
    // rolls everything back.
    app.exec(match backend {
        Backend::Sqlite => "UPDATE payment_info SET token_ciphertext = X'00112233445566778899aabbccddeeff00112233445566778899'",
        Backend::Postgres => "UPDATE payment_info SET token_ciphertext = '\\x00112233445566778899aabbccddeeff00112233445566778899'::bytea",
    })
    .await;
    let tampered = sealed_state(&app).await;
    let output = roster(
        &app,
        &["encryption-key", "rotate", "--new-key-file", path],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("payment tokens") && text(&output).contains("nothing was re-sealed"),
        "{}",
        text(&output)
    );
    assert_eq!(
        sealed_state(&app).await,
        tampered,
        "no secret and no check value changed"
    );
    assert!(
        start_error(&app, &[]).await.is_none(),
        "the old key still starts"
    );
}

impl TestApp {
    /// An access token of the user who stored the payment token in [`with_secrets`].
    async fn login_first_payer(&self) -> String {
        let users: Vec<String> = match &self.state.db {
            roster::db::Db::Sqlite(pool, _) => {
                sqlx::query_scalar(
                    "SELECT u.username FROM users u JOIN payment_info p ON p.user_id = u.id",
                )
                .fetch_all(pool)
                .await
            }
            roster::db::Db::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT u.username FROM users u JOIN payment_info p ON p.user_id = u.id",
                )
                .fetch_all(pool)
                .await
            }
        }
        .expect("the payer");
        self.login(&users[0], crate::helpers::DEFAULT_PASSWORD)
            .await
            .access_token
    }
}
