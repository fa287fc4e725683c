//! A request cancelled while its transaction's `BEGIN` is on the wire (the client hung
//! up, a timeout fired) must leave no transaction behind on the pooled connection:
//! otherwise the next statements that connection runs outside a transaction stay
//! uncommitted, invisible to everyone else and lost when the connection closes
//! (sqlx 0.9.0 on PostgreSQL, launchbadge/sqlx#4393; fixed in 0.9.1).

use std::time::Duration;

use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(statements_after_a_cancelled_begin_are_committed,);

/// Attempts, each cancelling a `BEGIN` a little later than the one before.
const ATTEMPTS: i64 = 400;

async fn statements_after_a_cancelled_begin_are_committed(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.exec("CREATE TABLE cancel_probe (n BIGINT NOT NULL)")
        .await;
    let db = &app.state.db;
    for attempt in 0..ATTEMPTS {
        let wait = Duration::from_micros((attempt % 80) as u64 * 4);
        // Done in time or not, the transaction is dropped here without a commit.
        let _ = tokio::time::timeout(wait, db.begin()).await;
        let insert = "INSERT INTO cancel_probe (n) VALUES ($1)";
        match db {
            roster::db::Db::Sqlite(pool, _) => sqlx::query(insert)
                .bind(attempt)
                .execute(pool)
                .await
                .map(|_| ()),
            roster::db::Db::Postgres(pool) => sqlx::query(insert)
                .bind(attempt)
                .execute(pool)
                .await
                .map(|_| ()),
        }
        .expect("an insert");
    }
    // Read through a connection of a pool of its own: only what was committed shows.
    let count = "SELECT COUNT(*) FROM cancel_probe";
    let seen: i64 = match db {
        roster::db::Db::Sqlite(..) => {
            let url = app.vars()["DATABASE_URL"].clone();
            let other = sqlx::SqlitePool::connect(&url)
                .await
                .expect("a second pool");
            sqlx::query_scalar(count)
                .fetch_one(&other)
                .await
                .expect("a count")
        }
        roster::db::Db::Postgres(..) => {
            let url = app.vars()["DATABASE_URL"].clone();
            let other = sqlx::PgPool::connect(&url).await.expect("a second pool");
            sqlx::query_scalar(count)
                .fetch_one(&other)
                .await
                .expect("a count")
        }
    };
    assert_eq!(
        seen, ATTEMPTS,
        "statements ran inside a transaction nobody ended"
    );
}
