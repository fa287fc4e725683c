//! What the `email_*` tests share: an application wired to a test SMTP server, the
//! subjects of Roster's mails, request shortcuts and database probes.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Backend, Session, TestApp, TestResponse};
use crate::mail::smtp_sink::SmtpSink;

pub const RESET: &str = "Reset your Roster password";
pub const VERIFY: &str = "Confirm your email address";
pub const CHANGED: &str = "Your Roster password was changed";
pub const PUBLIC_URL: &str = "http://roster.test";

/// An application that sends its mail to `sink`, looking for due mail every 50 ms.
pub async fn mail_app(backend: Backend, sink: &SmtpSink) -> TestApp {
    mail_app_with(backend, sink, &[]).await
}

pub async fn mail_app_with(backend: Backend, sink: &SmtpSink, vars: &[(&str, &str)]) -> TestApp {
    let mut builder = TestApp::builder(backend)
        .env("SMTP_URL", sink.url())
        .env("MAIL_POLL_MILLIS", "50");
    for (name, value) in vars {
        builder = builder.env(name, *value);
    }
    builder.start().await
}

pub fn email_of(session: &Session) -> String {
    format!("{}@example.com", session.username)
}

pub async fn request_reset(app: &TestApp, email: &str) -> TestResponse {
    app.post("/api/v1/auth/password-reset-request")
        .json(json!({"email": email}))
        .send()
        .await
}

pub async fn confirm_reset(app: &TestApp, token: &str, password: &str) -> TestResponse {
    app.post("/api/v1/auth/password-reset-confirm")
        .json(json!({"token": token, "new_password": password}))
        .send()
        .await
}

/// Runs a counting query with one text parameter.
pub async fn count_with(app: &TestApp, sql: &'static str, value: &str) -> i64 {
    match &app.state.db {
        roster::db::Db::Sqlite(pool, _) => sqlx::query_scalar::<_, i64>(sql)
            .bind(value)
            .fetch_one(pool)
            .await
            .expect(sql),
        roster::db::Db::Postgres(pool) => sqlx::query_scalar::<_, i64>(sql)
            .bind(value)
            .fetch_one(pool)
            .await
            .expect(sql),
    }
}

/// Runs a statement with one text parameter (to arrange what no endpoint of this
/// branch changes, such as deactivation or a new address).
pub async fn execute_with(app: &TestApp, sql: &'static str, value: &str) {
    match &app.state.db {
        roster::db::Db::Sqlite(pool, _) => {
            sqlx::query(sql).bind(value).execute(pool).await.expect(sql);
        }
        roster::db::Db::Postgres(pool) => {
            sqlx::query(sql).bind(value).execute(pool).await.expect(sql);
        }
    }
}

/// The outbox as text, for failure messages.
pub async fn outbox_dump(app: &TestApp) -> String {
    let sql = "SELECT kind, recipient, attempts, CAST(next_attempt_at AS TEXT), CAST(lease_until AS TEXT), \
               CAST(sent_at AS TEXT), CAST(failed_at AS TEXT), last_error FROM mail_outbox ORDER BY id";
    type Row = (
        String,
        String,
        i32,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = match &app.state.db {
        roster::db::Db::Sqlite(pool, _) => sqlx::query_as(sql).fetch_all(pool).await.expect(sql),
        roster::db::Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.expect(sql),
    };
    format!("{rows:#?}")
}

/// Waits (boundedly) until the background worker has made `sql` count `expected`.
pub async fn wait_for_count(app: &TestApp, sql: &'static str, expected: i64) {
    let deadline = Instant::now() + crate::mail::smtp_sink::DELIVERY_TIMEOUT;
    loop {
        let count = app.count(sql).await;
        if count == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{sql}: {count}, expected {expected}; outbox: {}",
            outbox_dump(app).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
