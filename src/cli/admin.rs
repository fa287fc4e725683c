//! `roster create-admin`: creates an administrator, or promotes the existing account that
//! has both the username and the email given. A username and an email that point at
//! different accounts (or one at an account whose other half differs) are a conflict the
//! operator resolves: nothing is changed, and the command exits 2 naming it. An existing
//! account's password is never changed here (the command says so when it promotes).

use crate::accounts::model::User;
use crate::admin::first::{NewAdmin, insert_admin, parse_names};
use crate::audit::{self, AuditEntry, event};
use crate::error::{ApiError, FieldError};
use crate::on_exec;

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use super::context::Context;

/// Why `create-admin` changed nothing: the username and the email disagree about which
/// account is meant (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AdminConflict(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminOutcome {
    Created(User),
    Promoted(User),
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Creates `username` as an admin, or promotes the existing account that has both this
/// username and this email ([`AdminConflict`] when they name different accounts, or an
/// account with another email or username). `password` is asked for only when an account
/// is created.
pub async fn create_admin(
    context: &Context,
    username: &str,
    email: &str,
    password: impl AsyncFnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<AdminOutcome> {
    let given = NewAdmin {
        username,
        email,
        password: "",
        via: "create-admin",
    };
    let (username, email) = parse_names(&given)
        .map_err(|errors| anyhow::anyhow!("invalid arguments: {}", describe(&errors)))?;
    let now = context.clock.now();
    let existing: Vec<User> = on_exec!(&context.db, c => sqlx::query_as::<_, User>(concat!(
        "SELECT ", crate::user_columns!(), " FROM users WHERE username_key = $1 OR email = $2"))
        .bind(username.to_ascii_lowercase())
        .bind(&email)
        .fetch_all(c)
        .await)?;
    match existing.as_slice() {
        [user] if user.username.eq_ignore_ascii_case(&username) && user.email == email => {
            let mut tx = context.db.begin().await?;
            let promoted = on_exec!(&mut tx, c => sqlx::query_as::<_, User>(concat!(
                "UPDATE users SET role = 'admin', is_active = TRUE, updated_at = $2 WHERE id = $1 RETURNING ", crate::user_columns!()))
                .bind(user.id)
                .bind(now)
                .fetch_one(c)
                .await)?;
            let entry = AuditEntry {
                event: event::ROLE_CHANGE,
                actor_id: None,
                user_id: Some(user.id),
                client: None,
                detail: serde_json::json!({"role": "admin", "via": "create-admin"}),
            };
            audit::record(&mut tx, now, entry).await?;
            tx.commit().await?;
            Ok(AdminOutcome::Promoted(promoted))
        }
        [] => {
            let password = password().await?;
            let admin = NewAdmin {
                username: &username,
                email: &email,
                password: &password,
                via: "create-admin",
            };
            let mut tx = context.db.begin().await?;
            let hashing = (&context.config, &context.hasher);
            let user = insert_admin(&mut tx, hashing, &admin, now)
                .await
                .map_err(|e| match e {
                    ApiError::Validation(errors) => {
                        anyhow::anyhow!("not acceptable: {}", describe(&errors))
                    }
                    other => anyhow::anyhow!("{other}"),
                })?;
            tx.commit().await?;
            Ok(AdminOutcome::Created(user))
        }
        [user] if user.email == email => Err(AdminConflict(format!(
            "the email {email} belongs to the account {}, not to {username}: nothing was changed",
            user.username
        ))
        .into()),
        [user] => Err(AdminConflict(format!(
            "the username {} belongs to the account with the email {}, not {email}: nothing was changed",
            user.username, user.email
        ))
        .into()),
        _ => Err(AdminConflict(format!(
            "the username {username} and the email {email} belong to two different accounts: nothing was changed"
        ))
        .into()),
    }
}

/// `roster create-admin`: creates or promotes, and says which (exit 2 on a conflict, by
/// the caller mapping [`AdminConflict`]).
pub async fn run_create_admin(
    context: &Context,
    username: &str,
    email: &str,
) -> anyhow::Result<ExitCode> {
    match create_admin(context, username, email, async || read_admin_password()).await? {
        AdminOutcome::Created(user) => {
            println!("created admin {} ({})", user.username, user.id)
        }
        AdminOutcome::Promoted(user) => {
            println!(
                "promoted {} ({}) to admin; its password was not changed (a password is read only for a new account)",
                user.username, user.id
            )
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The new administrator's password: `ROSTER_ADMIN_PASSWORD`, or else standard input. At
/// a terminal it is read without echo and asked twice; piped in, one line.
fn read_admin_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("ROSTER_ADMIN_PASSWORD")
        && !password.is_empty()
    {
        return Ok(password);
    }
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        let password = rpassword::prompt_password("password for the new admin: ")?;
        let again = rpassword::prompt_password("the same password again: ")?;
        if password != again {
            anyhow::bail!("the two passwords differ: nothing was changed");
        }
        password
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        anyhow::bail!("no password: set ROSTER_ADMIN_PASSWORD or pass it on standard input");
    }
    Ok(password)
}
