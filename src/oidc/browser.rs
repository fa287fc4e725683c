//! The browser session: after signing in on the login page, the browser holds the cookie
//! `__Host-roster` (`roster` on plain-http development origins), HttpOnly and
//! SameSite=Lax, whose value is 256 random bits. Only its SHA-256 is stored
//! (`browser_sessions`), pointing at an ordinary Roster session: it is listed with the
//! user's other sessions, revocable, and when it ends (sign-out, revocation, password
//! change, deactivation) the cookie stops working and the sessions of the applications
//! signed in through it end too.

use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::accounts::model::User;
use crate::crypto::{random_token, token_hash};
use crate::db::{Db, Tx};
use crate::tokens::access::Authentication;
use crate::web::Pages;
use crate::{on_exec, user_columns};

/// A signed-in browser: its Roster session, the account, and how it signed in.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    pub session_id: Uuid,
    pub user: User,
    pub authentication: Authentication,
}

#[derive(sqlx::FromRow)]
struct Row {
    session_id: Uuid,
    auth_time: DateTime<Utc>,
    amr: String,
    #[sqlx(flatten)]
    user: User,
}

/// The cookie's name: `__Host-roster` over https, `roster` on plain http.
pub fn cookie_name(pages: &Pages) -> &'static str {
    if pages.secure() {
        "__Host-roster"
    } else {
        "roster"
    }
}

/// The browser session the request's cookie names, if it is live and its account active.
pub async fn current(
    db: &Db,
    pages: &Pages,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<Option<BrowserSession>, sqlx::Error> {
    let Some(token) = Pages::cookie_value(headers, cookie_name(pages)).filter(|t| t.len() == 43)
    else {
        return Ok(None);
    };
    let row = on_exec!(db, c => sqlx::query_as::<_, Row>(concat!(
        "SELECT s.id AS session_id, COALESCE(s.auth_time, s.created_at) AS auth_time, s.amr, ", user_columns!("u"),
        " FROM browser_sessions b JOIN sessions s ON s.id = b.session_id JOIN users u ON u.id = s.user_id \
          WHERE b.token_hash = $1 AND b.expires_at > $2 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.is_active"))
        .bind(token_hash(&token))
        .bind(now)
        .fetch_optional(c)
        .await)?;
    // The pages of this request speak the account's language, when it chose one.
    if let Some(row) = &row {
        crate::i18n::request::use_account_locale(row.user.locale.as_deref());
    }
    Ok(row.map(|row| BrowserSession {
        session_id: row.session_id,
        user: row.user,
        authentication: Authentication {
            time: row.auth_time,
            methods: row.amr,
        },
    }))
}

/// Binds a new browser cookie to `session_id` (in the transaction that started the
/// session) and answers the `Set-Cookie` value.
pub async fn start(
    tx: &mut Tx,
    pages: &Pages,
    session_id: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<HeaderValue, sqlx::Error> {
    let token = random_token();
    on_exec!(&mut *tx, c => sqlx::query(
        "INSERT INTO browser_sessions (token_hash, session_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash(&token))
        .bind(session_id)
        .bind(now)
        .bind(expires_at)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let max_age = (expires_at - now).num_seconds().max(0);
    Ok(cookie(pages, &token, max_age))
}

/// The `Set-Cookie` value that makes the browser forget its session.
pub fn clear(pages: &Pages) -> HeaderValue {
    cookie(pages, "", 0)
}

fn cookie(pages: &Pages, value: &str, max_age: i64) -> HeaderValue {
    let secure = if pages.secure() { "; Secure" } else { "" };
    let text = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        cookie_name(pages)
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Forgets the cookies of `session_id` (the session itself is revoked by the caller).
pub async fn forget(tx: &mut Tx, session_id: Uuid) -> Result<(), sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query("DELETE FROM browser_sessions WHERE session_id = $1")
        .bind(session_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}
