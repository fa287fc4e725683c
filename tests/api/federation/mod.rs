//! Sign in with other identity providers: the admin API of providers, the flow against
//! a real OpenID provider nobody here wrote (PyPI's `oidc-provider-mock`, run on a free
//! loopback port for each test), and against a deliberately misbehaving one written here
//! ([`fake::FakeProvider`]), the linking rules, and the owner's identities.

mod account_links;
pub mod apple;
mod console;
pub mod fake;
mod github;
mod identities;
mod linking;
mod misbehaving;
pub mod mock;
mod providers;
mod real_provider;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, TestResponse};
use crate::oidc::Browser;

/// Where the tests' Roster says it lives (the callback's origin).
pub const PUBLIC_URL: &str = "http://roster.test";

/// Adds a provider as `admin`; the 201 answer.
pub async fn add_provider(app: &TestApp, admin: &Session, body: Value) -> Value {
    let response = app
        .post("/api/v1/admin/identity-providers")
        .bearer(&admin.access_token)
        .json(body)
        .send()
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.json()
}

/// An `oidc` provider at `issuer` with `trust_email`, client `roster`/`secret`.
pub fn oidc_provider(slug: &str, issuer: &str, trust_email: &str) -> Value {
    json!({
        "slug": slug,
        "kind": "oidc",
        "display_name": format!("Sign-in {slug}"),
        "client_id": fake::CLIENT_ID,
        "client_secret": fake::CLIENT_SECRET,
        "issuer": issuer,
        "trust_email": trust_email,
    })
}

/// A misbehaving provider, added as `fake` with `trust_email`.
pub async fn with_fake(app: &TestApp, admin: &Session, trust_email: &str) -> fake::FakeProvider {
    let fake = fake::FakeProvider::start().await;
    add_provider(app, admin, oidc_provider("fake", &fake.issuer, trust_email)).await;
    fake
}

/// The parameters of an absolute URL's query.
pub fn query_of(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .expect("an absolute URL")
        .query_pairs()
        .into_owned()
        .collect()
}

/// Leaves for the provider `slug` (with `return_to` when given): the absolute URL of
/// the provider's authorization endpoint Roster sent the browser to.
pub async fn depart(browser: &mut Browser<'_>, slug: &str, return_to: Option<&str>) -> String {
    let mut path = format!("/login/{slug}");
    if let Some(return_to) = return_to {
        let encoded: String = form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
        path.push_str(&format!("?return_to={encoded}"));
    }
    let leave = browser.get(&path).await;
    assert_eq!(leave.status, 303, "{}", leave.text);
    assert!(browser.has_cookie("roster-federation"));
    leave.header("location").expect("a Location").to_owned()
}

/// The path and query of a callback URL the provider sent the browser to.
pub fn callback_path(url: &str) -> String {
    url.strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("a callback to Roster: {url}"))
        .to_owned()
}

/// The failure page of the flow: an HTML page saying what to do, and no session.
pub fn assert_refused(browser: &Browser<'_>, response: &TestResponse, status: u16, says: &str) {
    assert_eq!(response.status, status, "{}", response.text);
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{:?}",
        response.headers
    );
    assert!(
        response.text.contains(says),
        "{says:?} in {}",
        response.text
    );
    assert!(
        response.text.contains("Go back to the sign-in page"),
        "{}",
        response.text
    );
    let sets_session = response.headers.get_all("set-cookie").iter().any(|cookie| {
        cookie
            .to_str()
            .is_ok_and(|c| c.starts_with("roster=") && !c.starts_with("roster=;"))
    });
    assert!(!sets_session, "{:?}", response.headers);
    assert!(!browser.has_cookie("roster"), "a session cookie was set");
}

/// A number the database answers to `sql`.
pub async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match &app.state.db {
        roster::db::Db::Sqlite(pool, _) => sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await
            .expect("a number"),
        roster::db::Db::Postgres(pool) => sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await
            .expect("a number"),
    }
}

/// A text the database answers to `sql`.
pub async fn text(app: &TestApp, sql: &str) -> String {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match &app.state.db {
        roster::db::Db::Sqlite(pool, _) => sqlx::query_scalar::<_, String>(sql)
            .fetch_one(pool)
            .await
            .expect("a text"),
        roster::db::Db::Postgres(pool) => sqlx::query_scalar::<_, String>(sql)
            .fetch_one(pool)
            .await
            .expect("a text"),
    }
}
