//! `roster users import FILE`: accounts from JSON Lines, one
//! `{"username", "email", "full_name"?, "password_hash"}` per line, with Argon2 or bcrypt
//! PHC hashes (bcrypt is re-hashed to Argon2id at the first login). Each line is its own
//! transaction: a bad line is reported and skipped, the others are imported.

use std::path::Path;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::accounts::fields::{parse_email, parse_full_name, parse_username};
use crate::accounts::model::{NewUser, Role, insert_user};
use crate::audit::{self, AuditEntry, event};
use crate::auth::credentials::set_password;
use crate::error::{FieldError, unique_violation_target};
use crate::passwords::is_supported_hash;

use super::context::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportLine {
    username: String,
    email: String,
    full_name: Option<String>,
    password_hash: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: u64,
    /// (line number, reason) of every rejected line.
    pub rejected: Vec<(u64, String)>,
}

fn parse_line(text: &str) -> Result<(NewUser, String), String> {
    let line: ImportLine = crate::http::parse_json(text.as_bytes()).map_err(|e| match e {
        crate::error::ApiError::Validation(errors) => describe(&errors),
        other => other.to_string(),
    })?;
    let mut errors = Vec::new();
    let username = parse_username(&line.username, "username")
        .map_err(|e| errors.push(e))
        .ok();
    let email = parse_email(&line.email, "email")
        .map_err(|e| errors.push(e))
        .ok();
    let full_name = match line.full_name.as_deref() {
        Some(raw) => parse_full_name(raw, "full_name")
            .map_err(|e| errors.push(e))
            .ok()
            .flatten(),
        None => None,
    };
    if !is_supported_hash(&line.password_hash) {
        errors.push(FieldError::new(
            "password_hash",
            "must be an Argon2 or bcrypt ($2a$/$2b$/$2y$) PHC string",
        ));
    }
    match (username, email) {
        (Some(username), Some(email)) if errors.is_empty() => Ok((
            NewUser {
                username,
                email,
                full_name,
                role: Role::User,
                email_verified: false,
            },
            line.password_hash,
        )),
        _ => Err(describe(&errors)),
    }
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

pub async fn import_users(context: &Context, path: &Path) -> anyhow::Result<ImportReport> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    let mut lines = BufReader::new(file).lines();
    let mut report = ImportReport::default();
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
        let (new_user, hash) = match parse_line(&text) {
            Ok(parsed) => parsed,
            Err(reason) => {
                report.rejected.push((number, reason));
                continue;
            }
        };
        let now = context.clock.now();
        let mut tx = context.db.begin().await?;
        let user = match insert_user(&mut tx, &new_user, now).await {
            Ok(user) => user,
            Err(e) => match unique_violation_target(&e) {
                Some(target) => {
                    let field = if target.contains("email") {
                        "email"
                    } else {
                        "username"
                    };
                    report
                        .rejected
                        .push((number, format!("{field}: already exists")));
                    continue;
                }
                None => return Err(e.into()),
            },
        };
        set_password(
            &mut tx,
            user.id,
            &hash,
            context.config.passwords.history,
            now,
        )
        .await?;
        let entry = AuditEntry {
            event: event::USER_IMPORTED,
            actor_id: None,
            user_id: Some(user.id),
            client: None,
            detail: serde_json::json!({"line": number}),
        };
        audit::record(&mut tx, now, entry).await?;
        tx.commit().await?;
        report.imported += 1;
    }
    Ok(report)
}
