//! What users granted applications: consent is asked once per client and scope set
//! (`oauth_grants`), and users list the applications holding access to their account
//! (consented to, or holding live tokens, as `first_party` ones do without consent) and
//! withdraw them at
//! `GET /api/v1/users/me/grants` and `DELETE /api/v1/users/me/grants/{client_id}`.
//! Withdrawing ends every session issued to that client for the user at once (the
//! change feed makes every instance refuse their tokens on the next request).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::scope::Scopes;
use crate::audit::{self, AuditEntry, event};
use crate::auth::sessions::reason;
use crate::db::{Exec, Tx};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiPath, AuthUser, ClientInfo, NoContent};
use crate::i18n::message_key;
use crate::on_exec;
use crate::state::AppState;

/// The scopes `user_id` granted `client_id` (empty when none).
pub async fn granted(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    client_id: &str,
) -> Result<Scopes, sqlx::Error> {
    let scope: Option<String> = on_exec!(ex, c => sqlx::query_scalar(
        "SELECT scope FROM oauth_grants WHERE user_id = $1 AND client_id = $2")
        .bind(user_id)
        .bind(client_id)
        .fetch_optional(c)
        .await)?;
    Ok(scope.and_then(|s| Scopes::parse(&s)).unwrap_or_default())
}

/// Adds `scopes` to what `user_id` granted `client_id`.
pub async fn grant(
    tx: &mut Tx,
    user_id: Uuid,
    client_id: &str,
    scopes: &Scopes,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let all = granted(&mut *tx, user_id, client_id).await?.union(scopes);
    on_exec!(&mut *tx, c => sqlx::query(
        "INSERT INTO oauth_grants (user_id, client_id, scope, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
         ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at")
        .bind(user_id)
        .bind(client_id)
        .bind(all.text())
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// An application that holds access to the caller's account: one they consented to, or
/// one holding live tokens of theirs (a `first_party` application never asks for
/// consent, so its sessions are all there is to show).
#[derive(Debug, Serialize, ToSchema)]
pub struct Grant {
    pub client_id: String,
    /// The application's name, as its administrator registered it.
    pub client_name: String,
    /// The scopes consented to or held by its live tokens, space-separated.
    pub scope: String,
    /// A `first_party` application (the team's own; it never asks for consent).
    pub first_party: bool,
    /// Whether the user consented on the consent page (false: only its tokens are held).
    pub consented: bool,
    /// Its live sessions for the caller (each holds a refresh token when it was granted
    /// `offline_access`); withdrawing ends them all.
    pub active_sessions: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantList {
    pub items: Vec<Grant>,
}

/// The applications that hold access to the caller's account
#[utoipa::path(get, path = "/me/grants", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "Every application the caller consented to or that holds live tokens of theirs, most recently active first", body = GrantList),
    ))]
pub async fn list_grants(
    State(state): State<AppState>,
    caller: AuthUser,
) -> ApiResult<Json<GrantList>> {
    let items = grants_of(&state.db, caller.id(), state.clock.now()).await?;
    Ok(Json(GrantList { items }))
}

#[derive(sqlx::FromRow)]
struct Holding {
    client_id: String,
    client_name: String,
    first_party: bool,
    scope: Option<String>,
    consented: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The applications that hold access to `user_id`'s account as of `now`: consents, and
/// clients with live sessions, one item per client, most recently active first.
pub async fn grants_of(
    db: &crate::db::Db,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Grant>, sqlx::Error> {
    let rows = on_exec!(db, c => sqlx::query_as::<_, Holding>(
        "SELECT g.client_id, c.name AS client_name, c.first_party, g.scope, TRUE AS consented,                 g.created_at, g.updated_at            FROM oauth_grants g JOIN oauth_clients c ON c.client_id = g.client_id           WHERE g.user_id = $1          UNION ALL          SELECT s.client_id, c.name AS client_name, c.first_party, s.scope, FALSE AS consented,                 s.created_at, s.last_used_at AS updated_at            FROM sessions s JOIN oauth_clients c ON c.client_id = s.client_id           WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2")
        .bind(user_id)
        .bind(now)
        .fetch_all(c)
        .await)?;
    let mut items: Vec<Grant> = Vec::new();
    for row in rows {
        let scope = row
            .scope
            .as_deref()
            .and_then(Scopes::parse)
            .unwrap_or_default();
        let sessions = i64::from(!row.consented);
        match items.iter_mut().find(|g| g.client_id == row.client_id) {
            Some(grant) => {
                let held = Scopes::parse(&grant.scope).unwrap_or_default();
                grant.scope = held.union(&scope).text();
                grant.consented |= row.consented;
                grant.active_sessions += sessions;
                grant.created_at = grant.created_at.min(row.created_at);
                grant.updated_at = grant.updated_at.max(row.updated_at);
            }
            None => items.push(Grant {
                client_id: row.client_id,
                client_name: row.client_name,
                scope: scope.text(),
                first_party: row.first_party,
                consented: row.consented,
                active_sessions: sessions,
                created_at: row.created_at,
                updated_at: row.updated_at,
            }),
        }
    }
    items.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then_with(|| a.client_id.cmp(&b.client_id))
    });
    Ok(items)
}

/// Withdraw what the caller granted an application
///
/// The grant is deleted and every session issued to the application for the caller ends
/// at once: its access and refresh tokens stop working on every instance.
#[utoipa::path(delete, path = "/me/grants/{client_id}", tag = "users", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The application's client id")),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 404, description = "The caller granted this application nothing", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_grant(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiPath(client_id): ApiPath<String>,
) -> ApiResult<NoContent> {
    withdraw_grant(&state, caller.id(), &client_id, &client).await?;
    Ok(NoContent)
}

/// Deletes what `user_id` granted `client_id` and ends the sessions issued to it (404
/// when there was neither). Audited as `grant_revoked`.
pub async fn withdraw_grant(
    state: &AppState,
    user_id: Uuid,
    client_id: &str,
    client: &ClientInfo,
) -> ApiResult<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let deleted = on_exec!(&mut tx, c => sqlx::query("DELETE FROM oauth_grants WHERE user_id = $1 AND client_id = $2")
        .bind(user_id)
        .bind(client_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let sessions =
        revoke_client_sessions(&mut tx, user_id, client_id, reason::GRANT_REVOKED, now).await?;
    if deleted == 0 && sessions == 0 {
        return Err(ApiError::not_found(
            "no grant to this application",
            message_key("not-found-grant"),
        ));
    }
    let entry = AuditEntry::by_owner(event::GRANT_REVOKED, user_id, client)
        .with_detail(serde_json::json!({"client_id": client_id, "sessions_revoked": sessions}));
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every live session of `user_id` issued to `client_id`; returns how many.
pub async fn revoke_client_sessions(
    tx: &mut Tx,
    user_id: Uuid,
    client_id: &str,
    why: &str,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query(
        "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL")
        .bind(user_id)
        .bind(client_id)
        .bind(now)
        .bind(why)
        .execute(c)
        .await.map(|r| r.rows_affected()))
}
