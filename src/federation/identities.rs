//! Accounts at other providers linked to Roster accounts (`user_identities`), keyed by
//! (issuer, subject), never by email: linking (audited and mailed, in the transaction
//! that links), the sign-in's bookkeeping, and what the owner sees and removes:
//! `GET /api/v1/users/me/identities` and `DELETE /api/v1/users/me/identities/{id}`
//! ([`of_user`] and [`unlink`] serve the account's page too).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::upstream::UpstreamIdentity;
use crate::accounts::model::User;
use crate::audit::{self, AuditEntry, ClientInfo, event};
use crate::db::{Db, Exec, Tx};
use crate::error::{ApiError, ApiResult, Problem, Why};
use crate::http::{ApiPath, ApiQuery, AuthUser, NoContent, Page, PageQuery};
use crate::i18n::message_key;
use crate::mail::Mailer;
use crate::mail::outbox::MailKind;
use crate::on_exec;
use crate::state::{App, AppState};

/// An account elsewhere that signs its owner in here.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Identity {
    pub id: Uuid,
    /// The provider's slug; null when the provider was removed.
    pub provider: Option<String>,
    /// The provider's display name; null when the provider was removed.
    pub provider_name: Option<String>,
    pub issuer: String,
    /// The address the provider last reported (shown only; never used to sign in).
    pub email: Option<String>,
    pub linked_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT i.id, p.slug AS provider, p.display_name AS provider_name, i.issuer, \
    i.email, i.linked_at, i.last_used_at \
    FROM user_identities i LEFT JOIN identity_providers p ON p.id = i.provider_id";

/// The account an identity signs in, if it is linked.
pub async fn owner(
    ex: impl Into<Exec<'_>>,
    issuer: &str,
    subject: &str,
) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, (Uuid, Uuid)>(
        "SELECT id, user_id FROM user_identities WHERE issuer = $1 AND subject = $2")
        .bind(issuer)
        .bind(subject)
        .fetch_optional(c)
        .await)
}

/// Records a sign-in through identity `id` by `provider_id`: when, and the address the
/// provider reports now (it may have changed there; the identity is the same subject).
/// An identity whose provider was removed and added again belongs to the new one.
pub async fn record_use(
    tx: &mut Tx,
    id: Uuid,
    provider_id: Uuid,
    email: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query(
        "UPDATE user_identities SET last_used_at = $2, email = $3, provider_id = $4 WHERE id = $1")
        .bind(id)
        .bind(now)
        .bind(email)
        .bind(provider_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// What a link is made for: the provider it came through and the identity there.
pub struct Link<'a> {
    pub provider_id: Uuid,
    pub provider_name: &'a str,
    pub identity: &'a UpstreamIdentity,
    /// Why it was linked (the audit record's `how`): `signup`, `authoritative_email`,
    /// `signed_in`.
    pub how: &'static str,
}

/// Links `link.identity` to `user` inside `tx`, audited as `identity_linked` and mailed
/// to the account's address; returns the identity's id. A race with another link of the
/// same identity fails on the unique index, and the transaction with it.
pub async fn link(
    tx: &mut Tx,
    mail: &Mailer,
    user: &User,
    link: &Link<'_>,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    on_exec!(&mut *tx, c => sqlx::query(
        "INSERT INTO user_identities (id, user_id, provider_id, issuer, subject, email, linked_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
        .bind(id)
        .bind(user.id)
        .bind(link.provider_id)
        .bind(&link.identity.issuer)
        .bind(&link.identity.subject)
        .bind(&link.identity.email)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let entry = AuditEntry::by_owner(event::IDENTITY_LINKED, user.id, client).with_detail(
        serde_json::json!({
            "identity_id": id,
            "provider_id": link.provider_id,
            "issuer": link.identity.issuer,
            "how": link.how,
        }),
    );
    audit::record(&mut *tx, now, entry).await?;
    let message = mail.composer().identity_change(
        user,
        true,
        link.provider_name,
        link.identity.email.as_deref(),
        now,
    )?;
    mail.queue_message(
        tx,
        MailKind::IdentityLinked,
        user.id,
        &user.email,
        &message,
        None,
        now,
    )
    .await?;
    Ok(id)
}

/// List the caller's linked identities
///
/// The accounts at other providers that sign the caller in, by when they were linked.
#[utoipa::path(get, path = "/me/identities", tag = "users", security(("bearer" = [])), params(PageQuery),
    responses(
        (status = 200, description = "A page of the caller's identities", body = Page<Identity>),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_identities(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<Identity>>> {
    let cursor = page.by_id()?;
    let sql = format!(
        "{SELECT} WHERE i.user_id = $1 AND ($2 IS NULL OR i.id > $2) ORDER BY i.id LIMIT $3"
    );
    let rows = on_exec!(&state.db, c => sqlx::query_as::<_, Identity>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(caller.id())
        .bind(cursor.after)
        .bind(i64::from(cursor.limit) + 1)
        .fetch_all(c)
        .await)?;
    Ok(Json(Page::from_rows(rows, cursor.limit, |identity| {
        identity.id.as_bytes().to_vec()
    })))
}

/// Remove one of the caller's linked identities
///
/// Refused (409) when it is the account's last way to sign in: no password, no passkey
/// and no other identity. Audited and mailed to the account's address.
#[utoipa::path(delete, path = "/me/identities/{identity_id}", tag = "users", security(("bearer" = [])),
    params(("identity_id" = Uuid, Path, description = "The identity's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The caller has no such identity", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is the account's last way to sign in", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_identity(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiPath(identity_id): ApiPath<Uuid>,
) -> ApiResult<NoContent> {
    unlink(&state, &caller.user, identity_id, &client).await?;
    Ok(NoContent)
}

/// Every identity linked to `user_id`, oldest link first (an account has a handful).
pub async fn of_user(db: &Db, user_id: Uuid) -> Result<Vec<Identity>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE i.user_id = $1 ORDER BY i.id");
    on_exec!(db, c => sqlx::query_as::<_, Identity>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(user_id)
        .fetch_all(c)
        .await)
}

/// Removes `user`'s identity `identity_id`, audited and mailed: 404 when the account has
/// no such identity, 409 when it is the account's last way to sign in.
pub async fn unlink(
    app: &App,
    user: &User,
    identity_id: Uuid,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let sql = format!("{SELECT} WHERE i.id = $1 AND i.user_id = $2");
    let identity =
        on_exec!(&mut tx, c => sqlx::query_as::<_, Identity>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(identity_id)
        .bind(user.id)
        .fetch_optional(c)
        .await)?
        .ok_or_else(|| ApiError::not_found("identity", message_key("not-found-identity")))?;
    if other_ways_to_sign_in(&mut tx, user.id, identity_id).await? == 0 {
        let why = Why::new(
            "this is the account's last way to sign in: set a password (by a reset) or add a passkey first",
            message_key("conflict-last-sign-in"),
        );
        return Err(ApiError::conflict("identity_id", why));
    }
    on_exec!(&mut tx, c => sqlx::query("DELETE FROM user_identities WHERE id = $1")
        .bind(identity_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let entry = AuditEntry::by_owner(event::IDENTITY_UNLINKED, user.id, client)
        .with_detail(serde_json::json!({"identity_id": identity_id, "issuer": identity.issuer}));
    audit::record(&mut tx, now, entry).await?;
    let provider = identity
        .provider_name
        .clone()
        .unwrap_or_else(|| identity.issuer.clone());
    let message = app.mail.composer().identity_change(
        user,
        false,
        &provider,
        identity.email.as_deref(),
        now,
    )?;
    app.mail
        .queue_message(
            &mut tx,
            MailKind::IdentityUnlinked,
            user.id,
            &user.email,
            &message,
            None,
            now,
        )
        .await?;
    tx.commit().await?;
    app.mail.wake();
    Ok(())
}

/// How many ways to sign in the account keeps besides identity `except`: its password,
/// its passkeys, its other identities.
async fn other_ways_to_sign_in(
    tx: &mut Tx,
    user_id: Uuid,
    except: Uuid,
) -> Result<i64, sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query_scalar::<_, i64>(
        "SELECT (SELECT COUNT(*) FROM credentials WHERE user_id = $1 AND is_current) \
              + (SELECT COUNT(*) FROM passkeys WHERE user_id = $1) \
              + (SELECT COUNT(*) FROM user_identities WHERE user_id = $1 AND id <> $2)")
        .bind(user_id)
        .bind(except)
        .fetch_one(c)
        .await)
}
