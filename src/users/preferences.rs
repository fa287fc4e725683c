//! Preferences: one JSON document per user, validated against the configured JSON
//! Schema (the built-in study-spot schema, or the file `PREFERENCES_SCHEMA` names).
//!
//! The schema is compiled once at start-up ([`PreferencesSchema`]); an invalid schema
//! stops start-up. What is stored is what the user set; reads fill in the schema's
//! defaults, so a field the user never set follows the schema's default. PUT replaces
//! the document, PATCH applies an RFC 7396 merge patch (null removes a field, which
//! then takes its default), DELETE resets to the defaults.

use std::path::Path;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::app::AppState;
use crate::audit::{self, AuditEntry, event};
use crate::config::ConfigError;
use crate::db::Exec;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::http::{ApiJson, ApiPath, AuthUser, ClientInfo, NoContent};
use crate::on_exec;
use crate::users::access::{require_reader_of_others, visible_user_or_404};

/// The built-in study-spot schema (the contract's default).
pub const STUDY_SPOT_SCHEMA: &str = include_str!("../../schemas/study_spot.json");

/// A compiled preferences schema and the defaults it declares.
pub struct PreferencesSchema {
    validator: jsonschema::Validator,
    defaults: Map<String, Value>,
}

impl std::fmt::Debug for PreferencesSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreferencesSchema")
            .field("defaults", &self.defaults)
            .finish_non_exhaustive()
    }
}

impl PreferencesSchema {
    /// The schema `PREFERENCES_SCHEMA` names, or the built-in one; an unusable schema is
    /// a configuration error naming `PREFERENCES_SCHEMA`.
    pub fn configured(path: Option<&Path>) -> Result<PreferencesSchema, ConfigError> {
        let invalid = |message: String| ConfigError {
            variable: "PREFERENCES_SCHEMA",
            message,
        };
        match path {
            None => PreferencesSchema::from_text(STUDY_SPOT_SCHEMA)
                .map_err(|m| invalid(format!("the built-in schema is invalid: {m}"))),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
                PreferencesSchema::from_text(&text)
                    .map_err(|m| invalid(format!("{} is not a usable schema: {m}", path.display())))
            }
        }
    }

    /// Compiles a schema given as JSON text. It must be a valid JSON Schema describing an
    /// object, and its defaults must satisfy it.
    pub fn from_text(text: &str) -> Result<PreferencesSchema, String> {
        let schema: Value =
            serde_json::from_str(text).map_err(|e| format!("it is not JSON ({e})"))?;
        if schema.get("type") != Some(&Value::String("object".into())) {
            return Err("its top level must be {\"type\": \"object\", ...}".into());
        }
        jsonschema::meta::validate(&schema)
            .map_err(|e| format!("it is not a valid JSON Schema: {}", e.masked()))?;
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| format!("it cannot be compiled: {}", e.masked()))?;
        let defaults = match object_defaults(&schema) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let compiled = PreferencesSchema {
            validator,
            defaults,
        };
        if let Err(errors) = compiled.validate(&Map::new()) {
            let fields: Vec<String> = errors.into_iter().map(|e| e.field).collect();
            return Err(format!(
                "its defaults do not satisfy it (fields: {})",
                fields.join(", ")
            ));
        }
        Ok(compiled)
    }

    /// `stored` with the schema's defaults filled in where the user set nothing.
    pub fn with_defaults(&self, stored: &Map<String, Value>) -> Map<String, Value> {
        let mut document = self.defaults.clone();
        for (key, value) in stored {
            match (document.get_mut(key), value) {
                (Some(Value::Object(default)), Value::Object(given)) => {
                    let merged = merge_defaults(default.clone(), given);
                    *default = merged;
                }
                _ => {
                    document.insert(key.clone(), value.clone());
                }
            }
        }
        document
    }

    /// Checks `stored` (with defaults filled in) against the schema, naming every failing
    /// field by its dotted path.
    pub fn validate(&self, stored: &Map<String, Value>) -> Result<(), Vec<FieldError>> {
        let document = Value::Object(self.with_defaults(stored));
        let mut errors = Vec::new();
        for error in self.validator.iter_errors(&document) {
            let path = dotted(&error.instance_path().to_string());
            let message = describe(&error);
            match error.kind() {
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected }
                | jsonschema::error::ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                    for name in unexpected {
                        errors.push(FieldError::new(
                            join(&path, name),
                            "is not a recognised field",
                        ));
                    }
                }
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    errors.push(FieldError::new(join(&path, name), "is required"));
                }
                _ => errors.push(FieldError::new(
                    if path.is_empty() {
                        "body".to_owned()
                    } else {
                        path
                    },
                    message,
                )),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// The defaults an object schema declares, nested objects included.
fn object_defaults(schema: &Value) -> Value {
    let mut defaults = match schema.get("default") {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for (name, property) in properties {
            if defaults.contains_key(name) {
                continue;
            }
            if let Some(default) = property.get("default") {
                defaults.insert(name.clone(), default.clone());
            } else if property.get("type") == Some(&Value::String("object".into())) {
                if let Value::Object(nested) = object_defaults(property) {
                    if !nested.is_empty() {
                        defaults.insert(name.clone(), Value::Object(nested));
                    }
                }
            }
        }
    }
    Value::Object(defaults)
}

fn merge_defaults(
    mut defaults: Map<String, Value>,
    given: &Map<String, Value>,
) -> Map<String, Value> {
    for (key, value) in given {
        match (defaults.get_mut(key), value) {
            (Some(Value::Object(d)), Value::Object(g)) => {
                let merged = merge_defaults(d.clone(), g);
                *d = merged;
            }
            _ => {
                defaults.insert(key.clone(), value.clone());
            }
        }
    }
    defaults
}

/// RFC 7396: applies a JSON merge patch to `target`.
pub fn merge_patch(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(nested_patch) => {
                let entry = target
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                if let Value::Object(nested) = entry {
                    merge_patch(nested, nested_patch);
                }
            }
            other => {
                target.insert(key.clone(), other.clone());
            }
        }
    }
}

/// "/a/b~1c/0" -> "a.b/c.0"
fn dotted(pointer: &str) -> String {
    pointer
        .split('/')
        .skip(1)
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// What failed, without echoing the value (it is the user's own text).
fn describe(error: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::ValidationErrorKind as K;
    match error.kind() {
        K::Type { .. } => "has the wrong type".to_owned(),
        K::Enum { options } => format!("must be one of {options}"),
        K::Constant { expected_value } => format!("must be {expected_value}"),
        K::Minimum { limit } => format!("must be at least {limit}"),
        K::Maximum { limit } => format!("must be at most {limit}"),
        K::ExclusiveMinimum { limit } => format!("must be greater than {limit}"),
        K::ExclusiveMaximum { limit } => format!("must be less than {limit}"),
        K::MinLength { limit } => format!("must be at least {limit} characters"),
        K::MaxLength { limit } => format!("must be at most {limit} characters"),
        K::MinItems { limit } => format!("must have at least {limit} items"),
        K::MaxItems { limit } => format!("must have at most {limit} items"),
        K::UniqueItems => "must not repeat items".to_owned(),
        K::Pattern { pattern } => format!("must match the pattern {pattern}"),
        K::Format { format } => format!("must be a valid {format}"),
        K::MultipleOf { multiple_of } => format!("must be a multiple of {multiple_of}"),
        _ => error.masked().to_string(),
    }
}

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
enum Write {
    Replace(Map<String, Value>),
    Merge(Map<String, Value>),
    Reset,
}

/// Applies `write` to the preferences of `user_id` in one transaction, validating the
/// result; returns the document with defaults filled in.
async fn write_preferences(
    state: &AppState,
    caller: &AuthUser,
    user_id: Uuid,
    client: &ClientInfo,
    write: Write,
) -> ApiResult<Map<String, Value>> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    crate::users::model::find_user_or_404(&mut tx, user_id).await?;
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
        actor_id: Some(caller.id()),
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
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
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
        (status = 400, description = "Malformed JSON or not an object", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
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
        write_preferences(&state, &caller, id, &client, Write::Replace(document)).await?,
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
        (status = 400, description = "Malformed JSON or not an object", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
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
        write_preferences(&state, &caller, id, &client, Write::Merge(patch)).await?,
    ))
}

/// Reset the caller's preferences to the defaults
#[utoipa::path(delete, path = "/me/preferences", tag = "users", security(("bearer" = [])),
    responses(
        (status = 204, description = "Reset; a GET now answers the defaults"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_my_preferences(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
) -> ApiResult<NoContent> {
    let id = caller.id();
    write_preferences(&state, &caller, id, &client, Write::Reset).await?;
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
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
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
        (status = 400, description = "Malformed JSON or not an object", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither that user nor an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
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
        write_preferences(&state, &caller, user_id, &client, Write::Replace(document)).await?,
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
        (status = 400, description = "Malformed JSON or not an object", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither that user nor an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
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
        write_preferences(&state, &caller, user_id, &client, Write::Merge(patch)).await?,
    ))
}

/// Reset a user's preferences to the defaults (that user or an admin)
#[utoipa::path(delete, path = "/{user_id}/preferences", tag = "users", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Reset; a GET now answers the defaults"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
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
    write_preferences(&state, &caller, user_id, &client, Write::Reset).await?;
    Ok(NoContent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn the_built_in_schema_compiles_and_has_defaults() {
        let schema = PreferencesSchema::configured(None).unwrap();
        let document = schema.with_defaults(&Map::new());
        assert_eq!(document["noise_level"], "quiet");
        assert_eq!(document["max_distance_km"], 5);
        assert!(schema.validate(&Map::new()).is_ok());
    }

    #[test]
    fn violations_name_every_field_path() {
        let schema = PreferencesSchema::configured(None).unwrap();
        let errors = schema
            .validate(&map(json!({"noise_level": "deafening", "max_distance_km": 0, "wifi": "yes", "colour": "red"})))
            .unwrap_err();
        let mut fields: Vec<String> = errors.into_iter().map(|e| e.field).collect();
        fields.sort();
        assert_eq!(fields, ["colour", "max_distance_km", "noise_level", "wifi"]);
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut target = map(json!({"a": "b", "c": {"d": "e", "f": "g"}}));
        merge_patch(&mut target, &map(json!({"a": "z", "c": {"f": null}})));
        assert_eq!(Value::Object(target), json!({"a": "z", "c": {"d": "e"}}));
        let mut target = map(json!({"a": [1, 2]}));
        merge_patch(&mut target, &map(json!({"a": [3], "b": {"c": null}})));
        assert_eq!(Value::Object(target), json!({"a": [3], "b": {}}));
    }

    #[test]
    fn unusable_schemas_are_refused() {
        for text in [
            "not json",
            r#"{"type": "array"}"#,
            r#"{"type": "object", "properties": {"a": {"type": "nonsense"}}}"#,
            r#"{"type": "object", "properties": {"a": {"type": "integer", "default": "x"}}}"#,
        ] {
            assert!(PreferencesSchema::from_text(text).is_err(), "{text}");
        }
    }
}
