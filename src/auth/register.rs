//! Registration: validate every field at once, hash the password off the async
//! threads, then create the account and its first credential in one transaction.
//! Duplicate usernames and emails (ignoring case) are 409, also under concurrency,
//! because the unique indexes decide.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;

use super::credentials::set_password;
use crate::accounts::fields::parse_new_account;
use crate::accounts::model::{
    NewUser, Role, User, duplicate_account, ensure_available, insert_user,
};
use crate::audit::{self, AuditEntry, event};
use crate::error::{ApiError, ApiResult, Problem, ResultExt, Why};
use crate::http::{ApiJson, ClientInfo, created_user};
use crate::passwords::check_policy_off_thread;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 3 to 32 characters of `A-Z a-z 0-9 _ . -`, unique ignoring case.
    #[serde(default)]
    #[schema(required = true)]
    pub username: String,
    /// Unique ignoring case; stored lower-cased.
    #[serde(default)]
    #[schema(required = true)]
    pub email: String,
    /// 8 to 128 characters with upper- and lower-case letters and a digit, not easy to
    /// guess, not containing the username (defaults; see the configuration).
    #[serde(default)]
    #[schema(required = true)]
    pub password: String,
    pub full_name: Option<String>,
    /// When given, must equal `password`.
    pub confirm_password: Option<String>,
}

/// Register an account
///
/// Creates the account with the `user` role and `basic` tier, unverified, and queues
/// a verification email.
#[utoipa::path(post, path = "/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered", body = User, headers(("Location" = String, description = "/api/v1/users/{id}"))),
        (status = 409, description = "Username or email already taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (every failing field is named)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<Response> {
    let user = register_account(&state, &body, &client).await?;
    Ok(created_user(&user))
}

/// Creates the account `body` describes (the JSON endpoint and the console's sign-up
/// page): every failing field named at once (422), duplicates 409 naming the field; the
/// verification email is queued.
pub async fn register_account(
    state: &AppState,
    body: &RegisterRequest,
    client: &ClientInfo,
) -> ApiResult<User> {
    let mut errors = Vec::new();
    let (username, email, full_name) = parse_new_account(
        &body.username,
        &body.email,
        body.full_name.as_deref(),
        &mut errors,
    );
    if body.password.is_empty() {
        errors.push(Why::required().at("password"));
    } else {
        let personal = [username.clone(), email.clone()]
            .into_iter()
            .flatten()
            .collect();
        errors.extend(
            check_policy_off_thread(
                &state.config.passwords.policy,
                &body.password,
                personal,
                "password",
            )
            .await?,
        );
    }
    if body
        .confirm_password
        .as_ref()
        .is_some_and(|c| c != &body.password)
    {
        errors.push(
            Why::new(
                "must equal password",
                crate::i18n::message_key("field-confirm-password"),
            )
            .at("confirm_password"),
        );
    }
    let (Some(username), Some(email)) = (username, email) else {
        return Err(ApiError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    ensure_available(&state.db, &username, &email).await?;

    let hash = state.hasher.hash(&body.password).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let new_user = NewUser {
        username,
        email,
        full_name,
        role: Role::User,
        email_verified: false,
    };
    let user = insert_user(&mut tx, &new_user, now)
        .await
        .on_unique_violation(duplicate_account)?;
    set_password(&mut tx, user.id, &hash, state.config.passwords.history, now).await?;
    // Over the per-address mail limit the account is still created; the user can ask
    // for the mail again later (POST /verify-email-request).
    crate::auth::verify::queue_verification_email(&mut tx, state, &user).await?;
    audit::record(
        &mut tx,
        now,
        AuditEntry::by_owner(event::REGISTER, user.id, client),
    )
    .await?;
    tx.commit().await?;
    state.mail.wake();
    Ok(user)
}
