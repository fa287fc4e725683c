//! Preferences: one JSON document per user, validated against the configured JSON
//! Schema (the built-in study-spot schema, or the file `PREFERENCES_SCHEMA` names).
//!
//! The schema is compiled once at start-up ([`PreferencesSchema`]); an invalid schema
//! stops start-up. What is stored is what the user set; reads fill in the schema's
//! defaults, so a field the user never set follows the schema's default. PUT replaces
//! the document, PATCH applies an RFC 7396 merge patch (null removes a field, which
//! then takes its default), DELETE resets to the defaults.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::accounts::preferences::merge_patch;

use crate::audit::{self, AuditEntry, event};
use crate::db::Exec;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiPath, AuthUser, ClientInfo, NoContent};
use crate::on_exec;
use crate::state::AppState;
use crate::users::access::{require_reader_of_others, visible_user_or_404};

async fn stored_document(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
) -> Result<Map<String, Value>, sqlx::Error> {
    let row: Option<sqlx::types::Json<Map<String, Value>>> = on_exec!(ex, c => sqlx::query_scalar(
        "SELECT document FROM user_preferences WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(c)
        .await)?;
    Ok(row.map(|json| json.0).unwrap_or_default())
}

async fn store_document(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    document: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on_exec!(ex, c => sqlx::query(
        "INSERT INTO user_preferences (user_id, document, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at")
        .bind(user_id)
        .bind(sqlx::types::Json(document))
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// How a write changes the stored document.
pub enum Write {
    /// The whole document (fields left out take their defaults).
    Replace(Map<String, Value>),
    /// An RFC 7396 merge patch.
    Merge(Map<String, Value>),
    /// Back to the schema's defaults.
    Reset,
}

/// Applies `write` to the preferences of `user_id` by `actor_id` in one transaction,
/// validating the result (422 naming every failing field by its dotted path); returns
/// the document with defaults filled in. The JSON endpoints and the console's
/// preferences page call this.
pub async fn write_preferences(
    state: &AppState,
    actor_id: Uuid,
    user_id: Uuid,
    client: &ClientInfo,
    write: Write,
) -> ApiResult<Map<String, Value>> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    crate::accounts::model::find_user_or_404(&mut tx, user_id).await?;
    let (document, action) = match write {
        Write::Replace(document) => (document, "replaced"),
        Write::Merge(patch) => {
            // Lock the stored row (a no-op update) so concurrent patches apply in turn.
            on_exec!(&mut tx, c => sqlx::query(
                "UPDATE user_preferences SET updated_at = updated_at WHERE user_id = $1")
                .bind(user_id)
                .execute(c)
                .await.map(|r| r.rows_affected()))?;
            let mut document = stored_document(&mut tx, user_id).await?;
            merge_patch(&mut document, &patch);
            (document, "patched")
        }
        Write::Reset => (Map::new(), "reset"),
    };
    state
        .preferences
        .validate(&document)
        .map_err(ApiError::Validation)?;
    if matches!(action, "reset") {
        on_exec!(&mut tx, c => sqlx::query("DELETE FROM user_preferences WHERE user_id = $1")
            .bind(user_id)
            .execute(c)
            .await.map(|r| r.rows_affected()))?;
    } else {
        store_document(&mut tx, user_id, &document, now).await?;
    }
    let mut fields: Vec<&String> = document.keys().collect();
    fields.sort();
    let entry = AuditEntry {
        event: event::PREFERENCES_CHANGE,
        actor_id: Some(actor_id),
        user_id: Some(user_id),
        client: Some(client),
        detail: serde_json::json!({"action": action, "fields": fields}),
    };
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(state.preferences.with_defaults(&document))
}

/// The preferences of `user_id` with defaults filled in.
pub async fn read_preferences(state: &AppState, user_id: Uuid) -> ApiResult<Map<String, Value>> {
    let stored = stored_document(&state.db, user_id).await?;
    Ok(state.preferences.with_defaults(&stored))
}

/// The caller's preferences
///
/// The configured preferences JSON Schema decides the fields; fields the caller never
/// set take the schema's defaults.
#[utoipa::path(get, path = "/me/preferences", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "Preferences with defaults filled in", body = Object),
    ))]
pub async fn get_my_preferences(
    State(state): State<AppState>,
    caller: AuthUser,
) -> ApiResult<Json<Map<String, Value>>> {
    Ok(Json(read_preferences(&state, caller.id()).await?))
}

/// Replace the caller's preferences
///
/// The body is the whole document; fields left out take the schema's defaults. Every
/// violation of the schema is a 422 naming the field's dotted path.
#[utoipa::path(put, path = "/me/preferences", tag = "users", security(("bearer" = [])), request_body = Object,
    responses(
        (status = 200, description = "The new preferences with defaults filled in", body = Object),
        (status = 422, description = "The document violates the schema (every failing field named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_my_preferences(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(document): ApiJson<Map<String, Value>>,
) -> ApiResult<Json<Map<String, Value>>> {
    let id = caller.id();
    Ok(Json(
        write_preferences(&state, caller.id(), id, &client, Write::Replace(document)).await?,
    ))
}

/// Merge-patch the caller's preferences (RFC 7396)
///
/// Send `application/merge-patch+json` (or `application/json`): given fields are set,
/// a field set to null is removed and takes its default again, nested objects merge.
#[utoipa::path(patch, path = "/me/preferences", tag = "users", security(("bearer" = [])),
    request_body(content = Object, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The patched preferences with defaults filled in", body = Object),
        (status = 422, description = "The result violates the schema (every failing field named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_my_preferences(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(patch): ApiJson<Map<String, Value>>,
) -> ApiResult<Json<Map<String, Value>>> {
    let id = caller.id();
    Ok(Json(
        write_preferences(&state, caller.id(), id, &client, Write::Merge(patch)).await?,
    ))
}

/// Reset the caller's preferences to the defaults
#[utoipa::path(delete, path = "/me/preferences", tag = "users", security(("bearer" = [])),
    responses(
        (status = 204, description = "Reset; a GET now answers the defaults"),
    ))]
pub async fn delete_my_preferences(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
) -> ApiResult<NoContent> {
    let id = caller.id();
    write_preferences(&state, caller.id(), id, &client, Write::Reset).await?;
    Ok(NoContent)
}

/// A user's preferences (that user, an admin, or a premium member)
///
/// Basic members may read only their own (403 otherwise). Deactivated accounts are 404
/// except to admins.
#[utoipa::path(get, path = "/{user_id}/preferences", tag = "users", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "Preferences with defaults filled in", body = Object),
        (status = 403, description = "A basic member reading someone else's preferences", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_user_preferences(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(user_id): ApiPath<Uuid>,
) -> ApiResult<Json<Map<String, Value>>> {
    require_reader_of_others(&caller, user_id)?;
    visible_user_or_404(&state, &caller, user_id).await?;
    Ok(Json(read_preferences(&state, user_id).await?))
}

/// Replace a user's preferences (that user or an admin)
///
/// As `PUT /me/preferences`.
#[utoipa::path(put, path = "/{user_id}/preferences", tag = "users", security(("bearer" = [])), request_body = Object,
    params(("user_id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The new preferences with defaults filled in", body = Object),
        (status = 403, description = "Neither that user nor an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The document violates the schema (every failing field named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_user_preferences(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiPath(user_id): ApiPath<Uuid>,
    ApiJson(document): ApiJson<Map<String, Value>>,
) -> ApiResult<Json<Map<String, Value>>> {
    caller.require_self_or_admin(user_id)?;
    Ok(Json(
        write_preferences(
            &state,
            caller.id(),
            user_id,
            &client,
            Write::Replace(document),
        )
        .await?,
    ))
}

/// Merge-patch a user's preferences (that user or an admin)
///
/// As `PATCH /me/preferences` (RFC 7396).
#[utoipa::path(patch, path = "/{user_id}/preferences", tag = "users", security(("bearer" = [])),
    request_body(content = Object, content_type = "application/merge-patch+json"),
    params(("user_id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The patched preferences with defaults filled in", body = Object),
        (status = 403, description = "Neither that user nor an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The result violates the schema (every failing field named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_user_preferences(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiPath(user_id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<Map<String, Value>>,
) -> ApiResult<Json<Map<String, Value>>> {
    caller.require_self_or_admin(user_id)?;
    Ok(Json(
        write_preferences(&state, caller.id(), user_id, &client, Write::Merge(patch)).await?,
    ))
}

/// Reset a user's preferences to the defaults (that user or an admin)
#[utoipa::path(delete, path = "/{user_id}/preferences", tag = "users", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Reset; a GET now answers the defaults"),
        (status = 403, description = "Neither that user nor an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_user_preferences(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiPath(user_id): ApiPath<Uuid>,
) -> ApiResult<NoContent> {
    caller.require_self_or_admin(user_id)?;
    write_preferences(&state, caller.id(), user_id, &client, Write::Reset).await?;
    Ok(NoContent)
}
