//! `roster users import FILE`: accounts from JSON Lines, one
//! `{"username", "email", "full_name"?, "password_hash"?, "id"?, "email_verified"?,
//! "role"?, "created_at"?}` per line.
//!
//! - `password_hash`: any format `passwords::imported` knows (Argon2, scrypt, bcrypt,
//!   PBKDF2-SHA256 as Django and passlib write it), stored as it is and re-hashed to
//!   Argon2id at the first login; a malformed one rejects the line, and is never stored.
//!   Without one the account has no password (a reset mail gives it one).
//! - `id`: a UUID is kept; any other string or number gets a new UUID, and `--map FILE`
//!   writes `{"old_id", "id"}` (JSON Lines) for every imported line that had an id.
//! - `role` (`user`, the default, or `admin`), `email_verified` (false), `created_at`
//!   (RFC 3339, not in the future; the import's time by default).
//!
//! Each line is its own transaction: a rejected line is reported (number and reason)
//! and the others are imported. With `--atomic` the whole file is one transaction, and
//! any rejected line leaves nothing stored. Duplicates (id, username, email; ignoring
//! case, also within the file) are found before inserting, inside the transaction.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, DurationRound, Utc};
use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use uuid::Uuid;

use crate::accounts::fields::parse_new_account;
use crate::accounts::model::{NewUser, Role, insert_user_as, taken_fields};
use crate::audit::{self, AuditEntry, event};
use crate::auth::credentials::set_password;
use crate::db::Tx;
use crate::error::{ApiError, FieldError, unique_violation_target};
use crate::on_exec;
use crate::passwords::imported::check_format;

use super::context::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportLine {
    username: String,
    email: String,
    full_name: Option<String>,
    password_hash: Option<String>,
    id: Option<Value>,
    email_verified: Option<bool>,
    role: Option<String>,
    created_at: Option<String>,
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// All lines or none.
    pub atomic: bool,
    /// Where to write `{"old_id", "id"}` for each imported line that had an id.
    pub map: Option<PathBuf>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: u64,
    /// (line number, reason) of every rejected line.
    pub rejected: Vec<(u64, String)>,
    /// `--atomic` with a rejected line: nothing was stored.
    pub rolled_back: bool,
}

/// One valid line, ready to insert.
struct Account {
    new_user: NewUser,
    hash: Option<String>,
    id: Uuid,
    old_id: Option<Value>,
    created_at: Option<DateTime<Utc>>,
}

fn parse_line(text: &str, now: DateTime<Utc>) -> Result<Account, String> {
    let line: ImportLine = crate::http::parse_json(text.as_bytes()).map_err(|e| match e {
        ApiError::Validation(errors) => describe(&errors),
        other => other.to_string(),
    })?;
    let mut errors = Vec::new();
    let (username, email, full_name) = parse_new_account(
        &line.username,
        &line.email,
        line.full_name.as_deref(),
        &mut errors,
    );
    if let Some(Err(reason)) = line.password_hash.as_deref().map(check_format) {
        errors.push(FieldError::new("password_hash", reason));
    }
    let role = match line.role.as_deref() {
        None | Some("user") => Role::User,
        Some("admin") => Role::Admin,
        Some(_) => {
            errors.push(FieldError::new("role", "must be user or admin"));
            Role::User
        }
    };
    let (id, old_id) = match line.id {
        None | Some(Value::Null) => (Uuid::now_v7(), None),
        Some(Value::String(text)) if !text.trim().is_empty() => {
            let id = Uuid::parse_str(&text).unwrap_or_else(|_| Uuid::now_v7());
            (id, Some(Value::String(text)))
        }
        Some(number @ Value::Number(_)) => (Uuid::now_v7(), Some(number)),
        Some(_) => {
            errors.push(FieldError::new(
                "id",
                "must be a non-empty string or a number",
            ));
            (Uuid::now_v7(), None)
        }
    };
    let created_at = match line.created_at.as_deref().map(|t| parse_created_at(t, now)) {
        Some(Ok(at)) => Some(at),
        Some(Err(error)) => {
            errors.push(error);
            None
        }
        None => None,
    };
    match (username, email) {
        (Some(username), Some(email)) if errors.is_empty() => Ok(Account {
            new_user: NewUser {
                username,
                email,
                full_name,
                role,
                email_verified: line.email_verified.unwrap_or(false),
            },
            hash: line.password_hash,
            id,
            old_id,
            created_at,
        }),
        _ => Err(describe(&errors)),
    }
}

/// An RFC 3339 time, not after `now`, truncated to microseconds as stored.
fn parse_created_at(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, FieldError> {
    let at = DateTime::parse_from_rfc3339(text)
        .map_err(|_| FieldError::new("created_at", "must be an RFC 3339 time"))?
        .with_timezone(&Utc);
    let at = at
        .duration_trunc(chrono::Duration::microseconds(1))
        .unwrap_or(at);
    if at > now {
        return Err(FieldError::new("created_at", "must not be in the future"));
    }
    Ok(at)
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why `account` cannot be inserted now: its id, username or email exists (also from an
/// earlier line of the same transaction).
async fn taken(tx: &mut Tx, account: &Account) -> Result<Option<String>, sqlx::Error> {
    let id_taken: i64 = on_exec!(&mut *tx, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE id = $1")
        .bind(account.id)
        .fetch_one(c)
        .await)?;
    let mut fields = Vec::new();
    if id_taken > 0 {
        fields.push("id");
    }
    let user = &account.new_user;
    fields.extend(taken_fields(&mut *tx, Some(&user.username), Some(&user.email), None).await?);
    Ok((!fields.is_empty()).then(|| {
        fields
            .iter()
            .map(|f| format!("{f}: already exists"))
            .collect::<Vec<_>>()
            .join("; ")
    }))
}

/// Inserts `account` (line `number`) with its password and audit record inside `tx`.
async fn insert(
    context: &Context,
    tx: &mut Tx,
    account: &Account,
    number: u64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let created_at = account.created_at.unwrap_or(now);
    let user = insert_user_as(&mut *tx, &account.new_user, account.id, created_at, now).await?;
    if let Some(hash) = &account.hash {
        set_password(tx, user.id, hash, context.config.passwords.history, now).await?;
    }
    let entry = AuditEntry {
        event: event::USER_IMPORTED,
        actor_id: None,
        user_id: Some(user.id),
        client: None,
        detail: serde_json::json!({"line": number, "has_password": account.hash.is_some()}),
    };
    audit::record(tx, now, entry).await
}

/// A unique violation's field, as a rejection reason.
fn violation_reason(error: &sqlx::Error) -> Option<String> {
    let target = unique_violation_target(error)?;
    let field = if target.contains("email") {
        "email"
    } else if target.contains("username") {
        "username"
    } else {
        "id"
    };
    Some(format!("{field}: already exists"))
}

pub async fn import_users(
    context: &Context,
    path: &Path,
    options: &ImportOptions,
) -> anyhow::Result<ImportReport> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    // Opened first, so that a map that cannot be written stops the import before it starts.
    let mut map = match &options.map {
        Some(map_path) => Some(
            tokio::fs::File::create(map_path)
                .await
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", map_path.display()))?,
        ),
        None => None,
    };
    let mut lines = BufReader::new(file).lines();
    let mut report = ImportReport::default();
    let mut mapped = Vec::new();
    // With --atomic, the one transaction of the whole file; it is useless after a failed
    // statement (PostgreSQL aborts it), so later lines are then only parsed.
    let mut whole = if options.atomic {
        Some(context.db.begin().await?)
    } else {
        None
    };
    let mut whole_failed = false;
    let mut number = 0u64;
    while let Some(text) = lines
        .next_line()
        .await
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?
    {
        number += 1;
        if text.trim().is_empty() {
            continue;
        }
        let now = context.clock.now();
        let account = match parse_line(&text, now) {
            Ok(account) => account,
            Err(reason) => {
                report.rejected.push((number, reason));
                continue;
            }
        };
        if whole_failed {
            continue;
        }
        let mut own = None;
        let tx = match whole.as_mut() {
            Some(tx) => tx,
            None => own.insert(context.db.begin().await?),
        };
        if let Some(reason) = taken(tx, &account).await? {
            report.rejected.push((number, reason));
            continue;
        }
        match insert(context, tx, &account, number, now).await {
            Ok(()) => {}
            Err(e) => match violation_reason(&e) {
                Some(reason) => {
                    report.rejected.push((number, reason));
                    whole_failed = whole.is_some();
                    continue;
                }
                None => return Err(e.into()),
            },
        }
        if let Some(tx) = own {
            tx.commit().await?;
        }
        report.imported += 1;
        if let Some(old_id) = account.old_id {
            mapped.push(serde_json::json!({"old_id": old_id, "id": account.id}));
        }
    }
    if let Some(tx) = whole {
        if report.rejected.is_empty() {
            tx.commit().await?;
        } else {
            drop(tx);
            report.rolled_back = true;
            report.imported = 0;
            mapped.clear();
        }
    }
    if let (Some(file), Some(map_path)) = (map.as_mut(), &options.map) {
        let mut text = String::new();
        for entry in &mapped {
            text.push_str(&entry.to_string());
            text.push('\n');
        }
        file.write_all(text.as_bytes())
            .await
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", map_path.display()))?;
        file.flush().await?;
    }
    Ok(report)
}

/// `roster users import`: imports, prints how many were imported and every rejected
/// line with its reason; exit status 0 when every line was imported, 2 otherwise.
pub async fn run_import(
    context: &Context,
    path: &Path,
    options: &ImportOptions,
) -> anyhow::Result<ExitCode> {
    let report = import_users(context, path, options).await?;
    println!(
        "imported {}, rejected {}",
        report.imported,
        report.rejected.len()
    );
    for (line, reason) in &report.rejected {
        println!("line {line}: {reason}");
    }
    if report.rolled_back {
        println!("--atomic: nothing was stored");
    }
    Ok(if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
