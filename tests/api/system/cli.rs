//! The `roster` binary's commands, run as a user would run them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp, wait_beside_the_app};
use crate::on_both_engines;

on_both_engines!(
    create_admin_takes_the_password_from_the_environment_or_stdin,
    create_admin_promotes_an_existing_account,
    create_admin_refuses_a_username_and_email_of_different_accounts,
    create_admin_refuses_a_weak_password,
    keys_rotate_reaches_a_running_instance,
    migrate_applies_migrations_and_reports,
    passwords_benchmark_times_the_configured_hash,
);

pub(super) fn roster(
    app: &TestApp,
    args: &[&str],
    extra_env: &[(&str, &str)],
    stdin: Option<&str>,
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_roster"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(app.data_dir());
    for (name, value) in app.vars() {
        command.env(name, value);
    }
    for (name, value) in extra_env {
        command.env(name, value);
    }
    command
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the roster binary runs");
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    wait_beside_the_app(|| child.wait_with_output()).expect("the roster binary finishes")
}

pub(super) fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn role_of(app: &TestApp, login: &str) -> String {
    let session = app.login(login, DEFAULT_PASSWORD).await;
    let me = app
        .get("/api/v1/auth/me")
        .bearer(&session.access_token)
        .send()
        .await
        .json();
    me["role"].as_str().unwrap().to_owned()
}

async fn create_admin_takes_the_password_from_the_environment_or_stdin(backend: Backend) {
    let app = TestApp::new(backend).await;
    let output = roster(
        &app,
        &[
            "create-admin",
            "--username",
            "root",
            "--email",
            "root@example.com",
        ],
        &[("ROSTER_ADMIN_PASSWORD", DEFAULT_PASSWORD)],
        None,
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("created admin root"));
    assert_eq!(role_of(&app, "root").await, "admin");
    let output = roster(
        &app,
        &[
            "create-admin",
            "--username",
            "ops",
            "--email",
            "ops@example.com",
        ],
        &[],
        Some(&format!("{DEFAULT_PASSWORD}\n")),
    );
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(role_of(&app, "ops@example.com").await, "admin");
    for help in [
        &["--help"][..],
        &["create-admin", "--help"],
        &["keys", "rotate", "--help"],
        &["keys", "list", "--help"],
        &["clients", "create", "--help"],
        &["encryption-key", "rotate", "--help"],
        &["instances", "--help"],
        &["users", "import", "--help"],
        &["migrate", "--help"],
        &["serve", "--help"],
    ] {
        let output = roster(&app, help, &[], None);
        assert!(
            output.status.success() && text(&output).contains("Usage"),
            "{help:?}"
        );
    }
}

async fn create_admin_promotes_an_existing_account(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.register("olga", DEFAULT_PASSWORD).await;
    let output = roster(
        &app,
        &[
            "create-admin",
            "--username",
            "olga",
            "--email",
            "olga@example.com",
        ],
        &[],
        None,
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("promoted olga"));
    assert!(
        text(&output).contains("password was not changed"),
        "{}",
        text(&output)
    );
    assert_eq!(role_of(&app, "olga").await, "admin");
}

async fn create_admin_refuses_a_username_and_email_of_different_accounts(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.register("olga", DEFAULT_PASSWORD).await;
    app.register("piotr", DEFAULT_PASSWORD).await;
    let new_password = [("ROSTER_ADMIN_PASSWORD", "An-Entirely-New-Pass-81")];
    for (username, email, named) in [
        ("olga", "piotr@example.com", "two different accounts"),
        ("olga", "someone@example.com", "olga@example.com"),
        ("nobody", "piotr@example.com", "piotr"),
    ] {
        let output = roster(
            &app,
            &["create-admin", "--username", username, "--email", email],
            &new_password,
            None,
        );
        assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        assert!(text(&output).contains(named), "{}", text(&output));
    }
    assert_eq!(role_of(&app, "olga").await, "user");
    assert_eq!(role_of(&app, "piotr").await, "user");
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 2);
    // The existing password still works, the one in the environment does not.
    app.login("olga", DEFAULT_PASSWORD).await;
}

async fn create_admin_refuses_a_weak_password(backend: Backend) {
    let app = TestApp::new(backend).await;
    let output = roster(
        &app,
        &[
            "create-admin",
            "--username",
            "weak",
            "--email",
            "weak@example.com",
        ],
        &[("ROSTER_ADMIN_PASSWORD", "password")],
        None,
    );
    assert!(!output.status.success());
    assert!(text(&output).contains("password"), "{}", text(&output));
    let output = roster(
        &app,
        &["create-admin", "--username", "x", "--email", "bad"],
        &[("ROSTER_ADMIN_PASSWORD", DEFAULT_PASSWORD)],
        None,
    );
    assert!(!output.status.success());
    assert!(
        text(&output).contains("username") && text(&output).contains("email"),
        "{}",
        text(&output)
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}

async fn keys_rotate_reaches_a_running_instance(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("KEY_REFRESH_SECONDS", "1")
        .start()
        .await;
    let output = roster(&app, &["keys", "rotate"], &[], None);
    assert!(output.status.success(), "{}", text(&output));
    let kid = text(&output)
        .split_whitespace()
        .nth(3)
        .unwrap()
        .trim_end_matches(';')
        .to_owned();
    let started = std::time::Instant::now();
    loop {
        let jwks = app.get("/.well-known/jwks.json").send().await.json();
        if jwks.to_string().contains(&kid) {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{kid} not published within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let hs = roster(
        &app,
        &["keys", "rotate"],
        &[("JWT_SECRET_KEY", "a-shared-secret-of-at-least-32-bytes!!")],
        None,
    );
    assert!(!hs.status.success());
}

async fn migrate_applies_migrations_and_reports(backend: Backend) {
    let app = TestApp::new(backend).await;
    let output = roster(&app, &["migrate"], &[], None);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("migrations applied"));
    let bad = roster(&app, &["migrate"], &[("PORT", "not-a-port")], None);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).contains("PORT"), "{}", text(&bad));
    let production = roster(
        &app,
        &["migrate"],
        &[
            ("ROSTER_ENV", "production"),
            ("ALLOWED_ORIGINS", "https://app.example"),
            ("ENCRYPTION_KEY", ""),
        ],
        None,
    );
    assert!(!production.status.success());
    assert!(
        text(&production).contains("ENCRYPTION_KEY"),
        "{}",
        text(&production)
    );
    // Production over plain http on a real host: refused, naming PUBLIC_URL.
    let plain_http = roster(
        &app,
        &["migrate"],
        &[
            ("ROSTER_ENV", "production"),
            ("ALLOWED_ORIGINS", "https://app.example"),
            (
                "ENCRYPTION_KEY",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
            ("SMTP_URL", "smtp://mailer:secret@smtp.example:587"),
            ("PUBLIC_URL", "http://id.example"),
        ],
        None,
    );
    assert_eq!(plain_http.status.code(), Some(1), "{}", text(&plain_http));
    assert!(
        text(&plain_http).contains("PUBLIC_URL") && text(&plain_http).contains("https"),
        "{}",
        text(&plain_http)
    );
}

async fn passwords_benchmark_times_the_configured_hash(backend: Backend) {
    let app = TestApp::new(backend).await;
    let output = roster(
        &app,
        &["passwords", "benchmark", "--samples", "3", "--json"],
        &[("ARGON2_MEMORY_KIB", "256"), ("ARGON2_ITERATIONS", "1")],
        None,
    );
    assert!(output.status.success(), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["memory_kib"], 256);
    assert_eq!(report["iterations"], 1);
    assert!(report["median_ms"].as_f64().unwrap() > 0.0);
    assert!(report["limit_per_second"].as_f64().unwrap() > 0.0);
    let human = roster(
        &app,
        &["passwords", "benchmark", "--samples", "1"],
        &[("ARGON2_MEMORY_KIB", "256"), ("ARGON2_ITERATIONS", "1")],
        None,
    );
    assert!(text(&human).contains("ms per hash"), "{}", text(&human));
}
