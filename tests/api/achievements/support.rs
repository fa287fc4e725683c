//! Steps the achievements tests share: paths, creating badges and goals, logging in
//! again after the clock moved past the access token's life, and looking at rows.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{DEFAULT_PASSWORD, Session, TestApp};

pub fn badges_of(user_id: &str) -> String {
    format!("/api/v1/users/{user_id}/badges")
}

pub fn goals_of(user_id: &str) -> String {
    format!("/api/v1/users/{user_id}/goals")
}

pub fn goal_at(user_id: &str, goal_id: &str) -> String {
    format!("/api/v1/users/{user_id}/goals/{goal_id}")
}

pub fn check_in_at(user_id: &str, goal_id: &str) -> String {
    format!("/api/v1/users/{user_id}/goals/{goal_id}/check-in")
}

/// Awards a badge to `session`'s own user; panics unless 201.
pub async fn new_badge(app: &TestApp, session: &Session, body: Value) -> Value {
    let response = app
        .post(&badges_of(&session.user_id))
        .bearer(&session.access_token)
        .json(body)
        .send()
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.json()
}

/// Creates a goal for `session`'s own user; panics unless 201.
pub async fn new_goal(app: &TestApp, session: &Session, body: Value) -> Value {
    let response = app
        .post(&goals_of(&session.user_id))
        .bearer(&session.access_token)
        .json(body)
        .send()
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.json()
}

/// The goal's id as a string.
pub fn id(goal: &Value) -> String {
    goal["id"].as_str().expect("an id").to_owned()
}

/// A fresh login of the same account (after the clock moved past the token's life).
pub async fn log_in_again(app: &TestApp, session: &Session) -> Session {
    app.login(&session.username, DEFAULT_PASSWORD).await
}

/// A timestamp of a response body.
#[track_caller]
pub fn at(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a timestamp, not {value}"))
        .parse()
        .expect("an RFC 3339 timestamp")
}

/// Runs `sql` (one `$1`, the user id) and returns the count it selects.
pub async fn count_for(app: &TestApp, sql: &'static str, user_id: &str) -> i64 {
    let user_id: Uuid = user_id.parse().expect("a user id");
    match &app.state.db {
        roster::db::Db::Sqlite(pool, _) => sqlx::query_scalar::<_, i64>(sql)
            .bind(user_id)
            .fetch_one(pool)
            .await
            .expect(sql),
        roster::db::Db::Postgres(pool) => sqlx::query_scalar::<_, i64>(sql)
            .bind(user_id)
            .fetch_one(pool)
            .await
            .expect(sql),
    }
}

/// Deletes the account row itself (what deleting a user comes down to in the database).
pub async fn delete_user_row(app: &TestApp, user_id: &str) {
    let user_id: Uuid = user_id.parse().expect("a user id");
    let sql = "DELETE FROM users WHERE id = $1";
    let deleted = match &app.state.db {
        roster::db::Db::Sqlite(pool, _) => sqlx::query(sql)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
        roster::db::Db::Postgres(pool) => sqlx::query(sql)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
    };
    assert_eq!(deleted.expect(sql), 1);
}
