//! Changing an account: username, email, full name and language (`PUT`/`PATCH /me`,
//! `PUT /{user_id}`).
//!
//! [`update_account`] is the one place an account's username, email, full name or
//! locale changes. The owner's own email change needs the current password and stays pending
//! until the new address confirms it ([`email_change`]); an administrator's change of
//! another account applies at once, and both addresses are told.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::fields::{
    collect, parse_email, parse_full_name, parse_locale, parse_username,
};
use crate::accounts::model::{User, duplicate_account, find_user, taken_fields};
use crate::audit::{self, AuditEntry, event};
use crate::auth::guard::confirm_password;
use crate::auth::mfa::rules::require_recent_over_admin;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult, FieldError, Problem, ResultExt, Why};
use crate::http::{ApiJson, ApiPath, AuthUser, ClientInfo};
use crate::i18n::message_key;
use crate::patch::Patch;
use crate::state::AppState;
use crate::users::email_change;
use crate::{on_exec, user_columns};

/// Changes to an account: any of username, email and full name. Role, tier, status,
/// verification, ids and timestamps cannot be sent (422 naming them).
#[derive(Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountUpdate {
    /// 3 to 32 characters of `A-Z a-z 0-9 _ . -`, unique ignoring case.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub username: Patch<String>,
    /// Unique ignoring case; stored in canonical form (NFC, ASCII domain, lower-cased).
    /// The account's own change needs `current_password` and stays pending
    /// (`pending_email`) until confirmed through the link mailed to the new address;
    /// the old address is told, with a link that cancels the change for 7 days. An
    /// administrator's change of another account applies at once (unverified).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    /// The account's current password: required with an `email` change of one's own
    /// account (missing: 422; wrong: 400, counted toward the account's lockout).
    #[serde(default)]
    pub current_password: Option<String>,
    /// At most 100 characters; null or empty clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub full_name: Patch<String>,
    /// The language of the account's pages and mails: one of the supported languages
    /// (`en`, `de`); null clears it (pages then follow the browser's language, mails are
    /// in English).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "de")]
    pub locale: Patch<String>,
}

impl std::fmt::Debug for AccountUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountUpdate")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("full_name", &self.full_name)
            .field("locale", &self.locale)
            .field(
                "current_password",
                &self.current_password.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A checked [`AccountUpdate`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountChanges {
    pub username: Option<String>,
    pub email: Option<String>,
    /// `Some(None)` clears the full name.
    pub full_name: Option<Option<String>>,
    /// `Some(None)` clears the locale.
    pub locale: Option<Option<String>>,
}

impl AccountChanges {
    /// Checks every given field, naming each failure.
    pub fn parse(update: &AccountUpdate) -> Result<AccountChanges, ApiError> {
        let mut errors = Vec::new();
        let mut required = |patch: &Patch<String>,
                            name: &str,
                            parse: fn(&str, &str) -> Result<String, FieldError>|
         -> Option<String> {
            match patch.as_change() {
                None => None,
                Some(None) => {
                    errors.push(Why::not_null().at(name));
                    None
                }
                Some(Some(raw)) => collect(parse(raw, name), &mut errors),
            }
        };
        let username = required(&update.username, "username", parse_username);
        let email = required(&update.email, "email", parse_email);
        let full_name = match update.full_name.as_change() {
            None => None,
            Some(None) => Some(None),
            Some(Some(raw)) => collect(parse_full_name(raw, "full_name"), &mut errors),
        };
        let locale = match update.locale.as_change() {
            None => None,
            Some(None) => Some(None),
            Some(Some(raw)) => collect(parse_locale(raw, "locale"), &mut errors).map(Some),
        };
        if errors.is_empty() {
            Ok(AccountChanges {
                username,
                email,
                full_name,
                locale,
            })
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    pub fn is_empty(&self) -> bool {
        self.username.is_none()
            && self.email.is_none()
            && self.full_name.is_none()
            && self.locale.is_none()
    }

    fn field_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.username.is_some() {
            names.push("username");
        }
        if self.email.is_some() {
            names.push("email");
        }
        if self.full_name.is_some() {
            names.push("full_name");
        }
        if self.locale.is_some() {
            names.push("locale");
        }
        names
    }

    /// The names of the fields whose value differs from `current`'s (for the event,
    /// which names changed fields only).
    fn changed_names(&self, current: &User) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self
            .username
            .as_ref()
            .is_some_and(|u| *u != current.username)
        {
            names.push("username");
        }
        if self.email.as_ref().is_some_and(|e| *e != current.email) {
            names.push("email");
        }
        if self
            .full_name
            .as_ref()
            .is_some_and(|n| *n != current.full_name)
        {
            names.push("full_name");
        }
        if self.locale.as_ref().is_some_and(|l| *l != current.locale) {
            names.push("locale");
        }
        names
    }
}

/// The outcome of [`update_account`].
#[derive(Debug, Clone)]
pub struct AccountUpdated {
    pub user: User,
    /// The address the account had, when the email changed (it is now unverified).
    pub previous_email: Option<String>,
}

/// Applies `changes` to account `user_id` inside `tx`: usernames and emails stay unique
/// ignoring case (409 naming the field), a changed email becomes unverified, and the
/// change is audited with `actor_id` and `client`. Returns the account and whether its
/// email changed, so that the caller can queue a verification message.
pub async fn update_account(
    tx: &mut Tx,
    user_id: Uuid,
    changes: &AccountChanges,
    actor_id: Uuid,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> ApiResult<AccountUpdated> {
    let current = find_user(&mut *tx, user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("user", message_key("not-found-user")))?;
    if changes.is_empty() {
        return Ok(AccountUpdated {
            user: current,
            previous_email: None,
        });
    }
    if let Some(field) = taken_fields(
        &mut *tx,
        changes.username.as_deref(),
        changes.email.as_deref(),
        Some(user_id),
    )
    .await?
    .first()
    {
        return Err(duplicate_account(field));
    }
    let email_changed = changes
        .email
        .as_ref()
        .is_some_and(|email| *email != current.email);
    let username = changes.username.as_ref().unwrap_or(&current.username);
    let email = changes.email.as_ref().unwrap_or(&current.email);
    let full_name = changes.full_name.as_ref().unwrap_or(&current.full_name);
    let locale = changes.locale.as_ref().unwrap_or(&current.locale);
    let user = on_exec!(&mut *tx, c => sqlx::query_as::<_, User>(concat!(
        "UPDATE users SET username = $2, username_key = $3, email = $4, full_name = $5, ",
        "email_verified = CASE WHEN $6 THEN FALSE ELSE email_verified END, ",
        "pending_email = CASE WHEN $6 THEN NULL ELSE pending_email END, updated_at = $7, ",
        "locale = $8 WHERE id = $1 RETURNING ", user_columns!()))
        .bind(user_id)
        .bind(username)
        .bind(username.to_ascii_lowercase())
        .bind(email)
        .bind(full_name)
        .bind(email_changed)
        .bind(now)
        .bind(locale)
        .fetch_one(c)
        .await)
    .on_unique_violation(duplicate_account)?;
    let entry = AuditEntry {
        event: event::ACCOUNT_UPDATE,
        actor_id: Some(actor_id),
        user_id: Some(user_id),
        client: Some(client),
        detail: serde_json::json!({"fields": changes.field_names(), "changed": changes.changed_names(&current), "email_changed": email_changed}),
    };
    audit::record(&mut *tx, now, entry).await?;
    Ok(AccountUpdated {
        user,
        previous_email: email_changed.then_some(current.email),
    })
}

/// Applies an account update by `caller` (the account as signed in: a bearer token's, or
/// the browser's in the console). The account's own email change needs the current
/// password and stays pending ([`email_change::request_change`]); an administrator's
/// change of another account applies at once, and both addresses hear of it.
pub async fn update_and_commit(
    state: &AppState,
    caller: &User,
    user_id: Uuid,
    client: &ClientInfo,
    update: &AccountUpdate,
) -> ApiResult<User> {
    let mut changes = AccountChanges::parse(update)?;
    let own = caller.id == user_id;
    let own_email = if own { changes.email.take() } else { None };
    let asks_for_change = own_email.as_ref().is_some_and(|email| {
        *email != caller.email || caller.pending_email.as_ref() == Some(email)
    });
    if asks_for_change {
        let password = update.current_password.as_deref().unwrap_or("");
        if password.is_empty() {
            return Err(ApiError::validation(
                "current_password",
                "is required to change the email address",
            ));
        }
        confirm_password(
            state,
            caller,
            password,
            "current_password",
            "email_change",
            client,
        )
        .await?;
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let updated = update_account(&mut tx, user_id, &changes, caller.id, client, now).await?;
    let mut user = updated.user;
    let mut mailed = false;
    if let Some(email) = &own_email
        && (*email != user.email || user.pending_email.is_some())
    {
        user = email_change::request_change(&mut tx, state, &user, email, client, now).await?;
        mailed = true;
    }
    if let Some(previous) = &updated.previous_email {
        // Over the per-address hourly limit the change still stands, unverified; the
        // owner asks for the mail again with /auth/verify-email-request.
        crate::auth::verify::queue_verification_email(&mut tx, state, &user).await?;
        email_change::notify_admin_change(&mut tx, state, previous, &user, caller.id, client, now)
            .await?;
        mailed = true;
    }
    tx.commit().await?;
    if mailed {
        state.mail.wake();
    }
    Ok(user)
}

/// Update the caller's username, email, full name or language
///
/// Fields left out stay as they are; `full_name: null` and `locale: null` clear them.
/// `locale` must be a supported language (`en`, `de`; otherwise 422 naming `locale`). Changing `email`
/// needs `current_password` (missing: 422, wrong: 400, counted toward the account's
/// lockout; this also spends the client's authentication budget) and leaves the new
/// address pending (`pending_email`) until it is confirmed through the link mailed to
/// it; the old address gets a notice with a link that cancels the change for 7 days.
/// Sending the current address withdraws a pending change. `role`, `tier`,
/// `is_active`, `email_verified`, ids and timestamps cannot be set here (422).
#[utoipa::path(put, path = "/me", tag = "users", security(("bearer" = [])), request_body = AccountUpdate,
    responses(
        (status = 200, description = "The updated account", body = User),
        (status = 400, description = "current_password is wrong, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username or email already taken (ignoring case)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for the account, too many requests from this client, or too many confirmation mails to the new address; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed or a field that cannot be set here (every field named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_me(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(update): ApiJson<AccountUpdate>,
) -> ApiResult<Json<User>> {
    let id = caller.id();
    Ok(Json(
        update_and_commit(&state, &caller.user, id, &client, &update).await?,
    ))
}

/// Update the caller's username, email, full name or language (same as PUT)
#[utoipa::path(patch, path = "/me", tag = "users", security(("bearer" = [])), request_body = AccountUpdate,
    responses(
        (status = 200, description = "The updated account", body = User),
        (status = 400, description = "current_password is wrong, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username or email already taken (ignoring case)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for the account, too many requests from this client, or too many confirmation mails to the new address; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed or a field that cannot be set here (every field named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_me(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(update): ApiJson<AccountUpdate>,
) -> ApiResult<Json<User>> {
    let id = caller.id();
    Ok(Json(
        update_and_commit(&state, &caller.user, id, &client, &update).await?,
    ))
}

/// Update an account (that user or an admin)
///
/// As `PUT /me` for the account itself. An administrator changing another account's
/// email applies it at once, unverified: a verification mail goes to the new address and
/// a notice to the old one, and the change is audited.
#[utoipa::path(put, path = "/{user_id}", tag = "users", security(("bearer" = [])), request_body = AccountUpdate,
    params(("user_id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The updated account", body = User),
        (status = 403, description = "Neither that user nor an admin; or `reauthentication-required`: an admin changing another administrator without a recent sign-in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "current_password is wrong, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username or email already taken (ignoring case)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for the account, too many requests from this client, or too many confirmation mails to the new address; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed or a field that cannot be set here (every field named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_user(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiPath(user_id): ApiPath<Uuid>,
    ApiJson(update): ApiJson<AccountUpdate>,
) -> ApiResult<Json<User>> {
    caller.require_self_or_admin(user_id)?;
    require_recent_over_admin(&state, caller.id(), caller.claims.auth_time, user_id).await?;
    Ok(Json(
        update_and_commit(&state, &caller.user, user_id, &client, &update).await?,
    ))
}
