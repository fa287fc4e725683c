//! `roster users import`, run as an operator would run it: every field of a line, the
//! rejected lines and their reasons, `--atomic`, `--map`, and the hash formats of other
//! systems signing in over HTTP and being re-hashed to Argon2id at that login.

use std::path::{Path, PathBuf};
use std::process::Output;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::cli::{roster, text};
use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;
use crate::users::support::get_ok;

on_both_engines!(
    users_import_reports_imported_and_rejected_lines,
    users_import_keeps_uuids_and_maps_other_ids,
    users_import_atomic_stores_all_or_nothing,
    imported_hashes_of_every_format_sign_in_and_are_upgraded,
);

/// Hashes other systems wrote (computed once with Python's hashlib, in Django's and
/// passlib's own forms), and libargon2's Argon2i, with their passwords.
const FOREIGN: [(&str, &str, &str); 4] = [
    (
        "django_user",
        "Django-Pbkdf2-41",
        "pbkdf2_sha256$1000$Qw7xPz3kLm9vRt2sYb6nHc$zTR1zDlHoiKe5zuUPzSa5B4uXSZxA6e5DMxCwNvk1T4=",
    ),
    (
        "passlib_user",
        "Passlib-Pbkdf2-52",
        "$pbkdf2-sha256$1000$N2bMOSfEuFcqBYDQes9Z6w$88md1O.GGJqXirowvoOChMSwKcKJ8BGs1xsAxcoqRNI",
    ),
    (
        "scrypt_user",
        "Scrypt-Hash-63",
        "$scrypt$ln=10,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$5Mm6OWEKk6geMxoGMFEWA5galqfrkZGcgVgSAZ5XM7g",
    ),
    (
        "argon2i_user",
        "Argon2i-Pass-1",
        "$argon2i$v=19$m=4096,t=3,p=1$DFsT8p5YVkT7VI2bnZhXjg$DPu60D6rnjgPzG2cZEuNdxNak9ULgaH0VYFMi0pzvDQ",
    ),
];

fn write_lines(app: &TestApp, name: &str, lines: &[String]) -> PathBuf {
    let file = app.data_dir().join(name);
    std::fs::write(&file, lines.join("\n")).unwrap();
    file
}

/// Runs `roster users import FILE` with `flags`; answers its output and its text.
fn import(app: &TestApp, file: &Path, flags: &[&str]) -> (Output, String) {
    let mut args = vec!["users", "import", file.to_str().unwrap()];
    args.extend_from_slice(flags);
    let output = roster(app, &args, &[], None);
    let report = text(&output);
    (output, report)
}

async fn login_status(app: &TestApp, login: &str, password: &str) -> StatusCode {
    app.post("/api/v1/auth/login")
        .json(json!({"login": login, "password": password}))
        .send()
        .await
        .status
}

/// The account's current password hash.
async fn current_hash(app: &TestApp, username: &str) -> String {
    let sql = "SELECT c.password_hash FROM credentials c JOIN users u ON u.id = c.user_id \
               WHERE u.username = $1 AND c.is_current";
    match &app.state.db {
        roster::db::Db::Sqlite(pool, _) => sqlx::query_scalar(sql)
            .bind(username)
            .fetch_one(pool)
            .await
            .expect(sql),
        roster::db::Db::Postgres(pool) => sqlx::query_scalar(sql)
            .bind(username)
            .fetch_one(pool)
            .await
            .expect(sql),
    }
}

async fn users_import_reports_imported_and_rejected_lines(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.register("taken", DEFAULT_PASSWORD).await;
    let argon = app.state.hasher.hash("Imported-Argon-22").await.unwrap();
    let lines = [
        json!({"username": "imp_admin", "email": "Admin@Example.com", "full_name": "Ada Admin",
               "password_hash": argon, "role": "admin", "email_verified": true,
               "created_at": "2020-01-02T03:04:05Z"}).to_string(),
        json!({"username": "no_password", "email": "nopass@example.com"}).to_string(),
        String::new(),
        json!({"username": "bad email", "email": "nope"}).to_string(),
        json!({"username": "TAKEN", "email": "other@example.com"}).to_string(),
        "{not json".to_owned(),
        json!({"username": "plain", "email": "plain@example.com", "password_hash": "hunter2"}).to_string(),
        json!({"username": "extra", "email": "extra@example.com", "tier": "premium", "is_active": false}).to_string(),
        json!({"username": "rooted", "email": "rooted@example.com", "role": "root"}).to_string(),
        json!({"username": "future", "email": "future@example.com", "created_at": "2999-01-01T00:00:00Z"}).to_string(),
        json!({"username": "again", "email": "admin@example.com"}).to_string(),
        json!({"username": "zero", "email": "zero@example.com",
               "password_hash": "pbkdf2_sha256$0$salt$zTR1zDlHoiKe5zuUPzSa5B4uXSZxA6e5DMxCwNvk1T4="}).to_string(),
    ];
    let file = write_lines(&app, "users.jsonl", &lines);
    let (output, report) = import(&app, &file, &[]);
    assert_eq!(output.status.code(), Some(2), "{report}");
    assert!(report.contains("imported 2, rejected 9"), "{report}");
    for line in [
        "line 4: username: ",
        "line 5: username: already exists",
        "line 6: ",
        "line 7: password_hash: unknown hash scheme",
        "line 9: role: must be user or admin",
        "line 10: created_at: must not be in the future",
        "line 11: email: already exists",
        "line 12: password_hash: PBKDF2 iterations",
    ] {
        assert!(report.contains(line), "{line} in {report}");
    }
    let unknown = report.lines().find(|l| l.starts_with("line 8: ")).unwrap();
    assert!(
        unknown.contains("tier") && unknown.contains("is_active"),
        "{unknown}"
    );
    assert!(!report.contains("hunter2") && !report.contains("zTR1zD"));

    let admin = app.login("imp_admin", "Imported-Argon-22").await;
    let me = get_ok(&app, "/api/v1/auth/me", &admin.access_token).await;
    assert_eq!(me["role"], "admin");
    assert_eq!(me["email"], "admin@example.com");
    assert_eq!(me["email_verified"], true);
    assert_eq!(me["full_name"], "Ada Admin");
    assert_eq!(me["created_at"], "2020-01-02T03:04:05Z");
    // An account imported without a hash has no password at all.
    assert_eq!(
        login_status(&app, "no_password", DEFAULT_PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM credentials WHERE password_hash = 'hunter2' OR password_hash LIKE 'pbkdf2%'")
            .await,
        0,
        "a malformed hash is never stored"
    );
}

async fn users_import_keeps_uuids_and_maps_other_ids(backend: Backend) {
    let app = TestApp::new(backend).await;
    let kept = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    let lines = [
        json!({"id": kept, "username": "kept_id", "email": "kept@example.com"}).to_string(),
        json!({"id": 42, "username": "numeric_id", "email": "numeric@example.com"}).to_string(),
        json!({"id": "legacy-7", "username": "text_id", "email": "text@example.com"}).to_string(),
        json!({"username": "no_id", "email": "noid@example.com"}).to_string(),
        json!({"id": true, "username": "bool_id", "email": "bool@example.com"}).to_string(),
    ];
    let file = write_lines(&app, "ids.jsonl", &lines);
    let map = app.data_dir().join("ids.map.jsonl");
    let (output, report) = import(&app, &file, &["--map", map.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{report}");
    assert!(report.contains("imported 4, rejected 1"), "{report}");
    assert!(report.contains("line 5: id: "), "{report}");
    let written: Vec<Value> = std::fs::read_to_string(&map)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(written.len(), 3, "{written:?}");
    assert_eq!(written[0], json!({"old_id": kept, "id": kept}));
    assert_eq!(written[1]["old_id"], 42);
    assert_eq!(written[2]["old_id"], "legacy-7");
    let admin = app.admin().await;
    for (entry, username) in written.iter().zip(["kept_id", "numeric_id", "text_id"]) {
        let id = entry["id"].as_str().unwrap();
        let user = get_ok(&app, &format!("/api/v1/users/{id}"), &admin.access_token).await;
        assert_eq!(user["username"], username);
    }
    assert_ne!(written[1]["id"], written[2]["id"]);

    // The same UUID again is a duplicate, whatever the name.
    let again = write_lines(
        &app,
        "again.jsonl",
        &[json!({"id": kept, "username": "other", "email": "other@example.com"}).to_string()],
    );
    let (output, report) = import(&app, &again, &[]);
    assert_eq!(output.status.code(), Some(2), "{report}");
    assert!(report.contains("line 1: id: already exists"), "{report}");
}

async fn users_import_atomic_stores_all_or_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let good = |name: &str| {
        json!({"id": format!("old-{name}"), "username": name, "email": format!("{name}@example.com")}).to_string()
    };
    let users = "SELECT COUNT(*) FROM users";
    let before = app.count(users).await;
    let map = app.data_dir().join("atomic.map.jsonl");
    let map_flag = ["--atomic", "--map", map.to_str().unwrap()];

    // A bad line, and a line repeating an earlier one of the same file: nothing is stored.
    for (name, bad) in [
        (
            "bad.jsonl",
            json!({"username": "x", "email": "bad"}).to_string(),
        ),
        ("twice.jsonl", good("first")),
    ] {
        let file = write_lines(&app, name, &[good("first"), good("second"), bad]);
        let (output, report) = import(&app, &file, &map_flag);
        assert_eq!(output.status.code(), Some(2), "{report}");
        assert!(report.contains("imported 0, rejected 1"), "{report}");
        assert!(report.contains("line 3: "), "{report}");
        assert!(report.contains("nothing was stored"), "{report}");
        assert_eq!(app.count(users).await, before, "{report}");
        assert_eq!(std::fs::read_to_string(&map).unwrap(), "");
    }

    let file = write_lines(&app, "good.jsonl", &[good("first"), good("second")]);
    let (output, report) = import(&app, &file, &map_flag);
    assert!(output.status.success(), "{report}");
    assert!(report.contains("imported 2, rejected 0"), "{report}");
    assert_eq!(app.count(users).await, before + 2);
    assert_eq!(std::fs::read_to_string(&map).unwrap().lines().count(), 2);
}

async fn imported_hashes_of_every_format_sign_in_and_are_upgraded(backend: Backend) {
    let app = TestApp::new(backend).await;
    let bcrypt_hash = bcrypt::hash("Bcrypt-Pass-33", 4).unwrap();
    let mut accounts: Vec<(String, String, String)> = FOREIGN
        .iter()
        .map(|(u, p, h)| (u.to_string(), p.to_string(), h.to_string()))
        .collect();
    for prefix in ["2a", "2b", "2y"] {
        accounts.push((
            format!("bcrypt_{prefix}"),
            "Bcrypt-Pass-33".to_owned(),
            format!("${prefix}{}", &bcrypt_hash[3..]),
        ));
    }
    let lines: Vec<String> = accounts
        .iter()
        .map(|(username, _, hash)| {
            json!({"username": username, "email": format!("{username}@example.com"), "password_hash": hash})
                .to_string()
        })
        .collect();
    let file = write_lines(&app, "hashes.jsonl", &lines);
    let (output, report) = import(&app, &file, &[]);
    assert!(output.status.success(), "{report}");
    assert!(report.contains(&format!("imported {}, rejected 0", accounts.len())));

    for (username, password, hash) in &accounts {
        assert_eq!(&current_hash(&app, username).await, hash, "stored as given");
        let wrong = format!("{password}x");
        assert_eq!(
            login_status(&app, username, &wrong).await,
            StatusCode::UNAUTHORIZED,
            "{username}"
        );
        assert_eq!(
            &current_hash(&app, username).await,
            hash,
            "a failed login changes nothing"
        );
        app.login(username, password).await;
        let upgraded = current_hash(&app, username).await;
        assert!(
            upgraded.starts_with("$argon2id$v=19$"),
            "{username}: {upgraded}"
        );
        // The new hash takes the same password, and only it.
        app.login(username, password).await;
        assert_eq!(
            login_status(&app, username, &wrong).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'password_rehash'")
            .await,
        accounts.len() as i64
    );
}
