//! What the Users and Admin tests share: premium members, token claims, and SQL reads
//! of what is stored.

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, TestResponse};

/// A new account upgraded to premium, logged in again so its token says so.
pub async fn premium(app: &TestApp) -> Session {
    let session = app.user().await;
    let response = app
        .post("/api/v1/users/me/upgrade")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    app.login(&session.username, &session.password).await
}

pub use crate::helpers::claims;

/// GET `path` with `token`, asserting 200; returns the body.
pub async fn get_ok(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app.get(path).bearer(token).send().await;
    assert_eq!(response.status, 200, "GET {path}: {}", response.text);
    response.json()
}

/// Sends `body` with `method` to `path` as `token`.
pub async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> TestResponse {
    let method = axum::http::Method::from_bytes(method.as_bytes()).expect("a method");
    let mut request = app.request(method, path);
    if let Some(token) = token {
        request = request.bearer(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await
}

/// Every row of every table, as text, for asserting that a secret is stored nowhere.
pub async fn dump_database(app: &TestApp) -> String {
    let mut text = String::new();
    match &app.state.db {
        roster::db::Db::Sqlite(pool, _) => {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .fetch_all(pool)
            .await
            .expect("tables");
            for table in tables {
                let columns: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT name FROM pragma_table_info('{table}')"
                )))
                .fetch_all(pool)
                .await
                .expect("columns");
                if columns.is_empty() {
                    continue;
                }
                let quoted: Vec<String> =
                    columns.iter().map(|c| format!("quote(\"{c}\")")).collect();
                let sql = format!(
                    "SELECT COALESCE(group_concat({}, char(10)), '') FROM \"{table}\"",
                    quoted.join(" || ',' || ")
                );
                let rows: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(pool)
                    .await
                    .expect("rows");
                text.push_str(&format!("{table}: {rows}\n"));
            }
            // Raw bytes of every column too (BLOBs as text), so nothing hides in a blob.
            let blobs: Vec<Vec<u8>> =
                sqlx::query_scalar("SELECT token_ciphertext FROM payment_info")
                    .fetch_all(pool)
                    .await
                    .expect("blobs");
            for blob in blobs {
                text.push_str(&String::from_utf8_lossy(&blob));
            }
        }
        roster::db::Db::Postgres(pool) => {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'",
            )
            .fetch_all(pool)
            .await
            .expect("tables");
            for table in tables {
                let sql =
                    format!("SELECT COALESCE(string_agg(t::text, E'\\n'), '') FROM \"{table}\" t");
                let rows: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(pool)
                    .await
                    .expect("rows");
                text.push_str(&format!("{table}: {rows}\n"));
            }
            let blobs: Vec<Vec<u8>> =
                sqlx::query_scalar("SELECT token_ciphertext FROM payment_info")
                    .fetch_all(pool)
                    .await
                    .expect("blobs");
            for blob in blobs {
                text.push_str(&String::from_utf8_lossy(&blob));
            }
        }
    }
    text
}

/// A full update body for the extended profile.
pub fn full_profile() -> Value {
    json!({
        "date_of_birth": "1990-05-17",
        "occupation": "Engineer",
        "location": "New York",
        "phone": "+12125551234",
        "current_title": "Staff Engineer",
        "bio": "Likes quiet libraries.\nAnd coffee.",
        "avatar_url": "https://cdn.example.com/a.png",
        "shipping_address": {"line1": "1 Main St", "line2": "Apt 2", "city": "New York", "region": "NY", "postal_code": "10001", "country": "us"}
    })
}
