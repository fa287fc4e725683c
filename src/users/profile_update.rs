//! Changing the extended profile: PUT and PATCH name only the fields they change (`null`
//! clears one), DELETE clears them all. Every failing field is named at once.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sqlx::types::Json as SqlJson;
use utoipa::ToSchema;
use uuid::Uuid;

use super::profile::{
    Address, PREMIUM, PRIVATE, PROFILE_COLUMNS, Profile, ProfileRow, ProfileVisibility, profile_of,
};
use crate::accounts::fields::{
    MAX_ADDRESS_LINE, MAX_BIO, MAX_POSTAL_CODE, MAX_PROFILE_TEXT, collect, parse_country,
    parse_date_of_birth, parse_http_url, parse_line, parse_phone, parse_text,
};
use crate::audit::{self, AuditEntry, event};
use crate::db::Exec;
use crate::error::{ApiError, ApiResult, FieldError, Problem, Why};
use crate::http::{ApiJson, AuthUser, ClientInfo, NoContent};
use crate::i18n::message_key;
use crate::on_exec;
use crate::patch::Patch;
use crate::state::AppState;

/// A shipping address as sent; checked into an [`Address`].
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    /// Required, at most 200 characters.
    pub line1: Option<String>,
    pub line2: Option<String>,
    /// Required, at most 100 characters.
    pub city: Option<String>,
    pub region: Option<String>,
    /// At most 20 characters of letters, digits, spaces and '-'.
    pub postal_code: Option<String>,
    /// Required: ISO 3166-1 alpha-2 (e.g. `US`).
    pub country: Option<String>,
}

/// Changes to the extended profile: fields left out stay as they are, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    /// `YYYY-MM-DD`, in the past, an age from 13 to 120 years.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, example = "1990-05-17")]
    pub date_of_birth: Patch<String>,
    /// At most 100 characters.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub occupation: Patch<String>,
    /// At most 100 characters.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub location: Patch<String>,
    /// E.164, e.g. `+12125551234`.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "+12125551234")]
    pub phone: Patch<String>,
    /// At most 100 characters.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub current_title: Patch<String>,
    /// At most 1000 characters; line breaks allowed.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub bio: Patch<String>,
    /// An http(s) URL of at most 2048 characters.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "https://cdn.example.com/avatar.png")]
    pub avatar_url: Patch<String>,
    /// Replaced as a whole; `line1`, `city` and `country` are required.
    #[serde(default)]
    #[schema(value_type = Option<AddressInput>)]
    pub shipping_address: Patch<AddressInput>,
    /// `premium` (premium members see the professional fields) or `private` (nobody
    /// but you and administrators); `null` means `premium`.
    #[serde(default)]
    #[schema(value_type = Option<ProfileVisibility>)]
    pub profile_visibility: Patch<String>,
}

/// A checked column value to write.
#[derive(Debug, Clone)]
enum Column {
    Text(Option<String>),
    Date(Option<NaiveDate>),
    Address(Option<SqlJson<Address>>),
}

fn check_address(input: &AddressInput, errors: &mut Vec<FieldError>) -> Option<Address> {
    let mut required = |value: &Option<String>, name: &str, max: usize| -> Option<String> {
        let field = format!("shipping_address.{name}");
        match value.as_deref().map(|v| parse_line(v, &field, max)) {
            Some(Ok(Some(text))) => Some(text),
            Some(Err(e)) => {
                errors.push(e);
                None
            }
            _ => {
                errors.push(Why::required().at(field));
                None
            }
        }
    };
    let line1 = required(&input.line1, "line1", MAX_ADDRESS_LINE);
    let city = required(&input.city, "city", MAX_PROFILE_TEXT);
    let mut optional = |value: &Option<String>, name: &str, max: usize| -> Option<String> {
        let field = format!("shipping_address.{name}");
        value
            .as_deref()
            .and_then(|v| collect(parse_line(v, &field, max), errors).flatten())
    };
    let line2 = optional(&input.line2, "line2", MAX_ADDRESS_LINE);
    let region = optional(&input.region, "region", MAX_PROFILE_TEXT);
    let postal_code = optional(&input.postal_code, "postal_code", MAX_POSTAL_CODE);
    if postal_code.as_deref().is_some_and(|p| {
        !p.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
    }) {
        errors.push(
            Why::new(
                "may contain only letters, digits, spaces and '-'",
                message_key("field-postal-code"),
            )
            .at("shipping_address.postal_code"),
        );
    }
    let country = match input.country.as_deref() {
        None => {
            errors.push(Why::required().at("shipping_address.country"));
            None
        }
        Some(raw) => collect(parse_country(raw, "shipping_address.country"), errors),
    };
    Some(Address {
        line1: line1?,
        line2,
        city: city?,
        region,
        postal_code,
        country: country?,
    })
}

/// Checks every given field, collecting every failure; returns the columns to write.
fn check_update(
    update: &ProfileUpdate,
    today: NaiveDate,
) -> Result<Vec<(&'static str, Column)>, ApiError> {
    let mut errors = Vec::new();
    let mut columns = Vec::new();
    let mut text = |name: &'static str,
                    patch: &Patch<String>,
                    parse: &dyn Fn(&str, &str) -> Result<Option<String>, FieldError>,
                    errors: &mut Vec<FieldError>| {
        match patch.as_change() {
            None => {}
            Some(None) => columns.push((name, Column::Text(None))),
            Some(Some(raw)) => {
                if let Some(value) = collect(parse(raw, name), errors) {
                    columns.push((name, Column::Text(value)));
                }
            }
        }
    };
    let line = |raw: &str, field: &str| parse_line(raw, field, MAX_PROFILE_TEXT);
    text("occupation", &update.occupation, &line, &mut errors);
    text("location", &update.location, &line, &mut errors);
    text("current_title", &update.current_title, &line, &mut errors);
    text(
        "bio",
        &update.bio,
        &|raw, field| parse_text(raw, field, MAX_BIO),
        &mut errors,
    );
    text(
        "phone",
        &update.phone,
        &|raw, field| parse_phone(raw.trim(), field).map(Some),
        &mut errors,
    );
    text(
        "avatar_url",
        &update.avatar_url,
        &|raw, field| parse_http_url(raw, field).map(Some),
        &mut errors,
    );
    match update.date_of_birth.as_change() {
        None => {}
        Some(None) => columns.push(("date_of_birth", Column::Date(None))),
        Some(Some(raw)) => {
            if let Some(date) = collect(
                parse_date_of_birth(raw, "date_of_birth", today),
                &mut errors,
            ) {
                columns.push(("date_of_birth", Column::Date(Some(date))));
            }
        }
    }
    match update.profile_visibility.as_change() {
        None => {}
        Some(None) => columns.push(("profile_visibility", Column::Text(Some(PREMIUM.to_owned())))),
        Some(Some(raw)) => match ProfileVisibility::parse(raw) {
            Some(visibility) => columns.push((
                "profile_visibility",
                Column::Text(Some(visibility.as_str().to_owned())),
            )),
            None => errors.push(
                Why::new(
                    "must be premium or private",
                    message_key("field-profile-visibility"),
                )
                .at("profile_visibility"),
            ),
        },
    }
    match update.shipping_address.as_change() {
        None => {}
        Some(None) => columns.push(("shipping_address", Column::Address(None))),
        Some(Some(input)) => {
            if let Some(address) = check_address(input, &mut errors) {
                columns.push(("shipping_address", Column::Address(Some(SqlJson(address)))));
            }
        }
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Applies a checked update in one statement (an upsert naming only the given columns,
/// so concurrent updates of different fields do not undo each other).
async fn write_profile(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
    columns: &[(&'static str, Column)],
    now: DateTime<Utc>,
) -> Result<ProfileRow, sqlx::Error> {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let placeholders: Vec<String> = (0..names.len()).map(|i| format!("${}", i + 3)).collect();
    let assignments: String = names
        .iter()
        .map(|name| format!(", {name} = excluded.{name}"))
        .collect();
    let mut insert_columns = String::new();
    for name in &names {
        insert_columns.push_str(", ");
        insert_columns.push_str(name);
    }
    let mut values = String::new();
    for placeholder in &placeholders {
        values.push_str(", ");
        values.push_str(placeholder);
    }
    // Column names come from the fixed list above, never from the request.
    let sql = format!(
        "INSERT INTO user_profiles (user_id, updated_at{insert_columns}) VALUES ($1, $2{values}) \
         ON CONFLICT (user_id) DO UPDATE SET updated_at = excluded.updated_at{assignments} \
         RETURNING {PROFILE_COLUMNS}"
    );
    on_exec!(ex, c => {
        let mut query = sqlx::query_as::<_, ProfileRow>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(user_id)
            .bind(now);
        for (_, column) in columns {
            query = match column {
                Column::Text(value) => query.bind(value.clone()),
                Column::Date(value) => query.bind(*value),
                Column::Address(value) => query.bind(value.clone()),
            };
        }
        query.fetch_one(c).await
    })
}

/// Applies `update` to the extended profile of `user_id` (by its owner), naming every
/// failing field at once; the JSON endpoints and the console's profile page call this.
pub async fn update_profile(
    state: &AppState,
    user_id: Uuid,
    client: &ClientInfo,
    update: &ProfileUpdate,
) -> ApiResult<Profile> {
    let now = state.clock.now();
    let columns = check_update(update, now.date_naive())?;
    if columns.is_empty() {
        return profile_of(state, user_id).await;
    }
    let mut tx = state.db.begin().await?;
    let row = write_profile(&mut tx, user_id, &columns, now).await?;
    let fields: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let entry = AuditEntry::by_owner(event::PROFILE_CHANGE, user_id, client)
        .with_detail(serde_json::json!({"action": "updated", "fields": fields}));
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(row.into_profile(now.date_naive()))
}

/// Update the caller's extended profile
///
/// Fields left out stay as they are; `null` clears a field; `shipping_address` is
/// replaced as a whole. `age` and `updated_at` are derived and cannot be sent (422).
/// Every failing field is named at once.
#[utoipa::path(put, path = "/me/profile", tag = "users", security(("bearer" = [])), request_body = ProfileUpdate,
    responses(
        (status = 200, description = "The updated profile", body = Profile),
        (status = 422, description = "Validation failed (every failing field named, e.g. shipping_address.country)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_my_profile(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(update): ApiJson<ProfileUpdate>,
) -> ApiResult<Json<Profile>> {
    Ok(Json(
        update_profile(&state, caller.id(), &client, &update).await?,
    ))
}

/// Update the caller's extended profile (same as PUT)
///
/// Fields left out stay as they are; `null` clears a field.
#[utoipa::path(patch, path = "/me/profile", tag = "users", security(("bearer" = [])), request_body = ProfileUpdate,
    responses(
        (status = 200, description = "The updated profile", body = Profile),
        (status = 422, description = "Validation failed (every failing field named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_my_profile(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(update): ApiJson<ProfileUpdate>,
) -> ApiResult<Json<Profile>> {
    Ok(Json(
        update_profile(&state, caller.id(), &client, &update).await?,
    ))
}

/// Clear the caller's extended profile
///
/// Idempotent: 204 also when nothing was set. A `private` profile stays private.
#[utoipa::path(delete, path = "/me/profile", tag = "users", security(("bearer" = [])),
    responses(
        (status = 204, description = "Every profile field is cleared"),
    ))]
pub async fn delete_my_profile(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
) -> ApiResult<NoContent> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let deleted: Option<String> = on_exec!(&mut tx, c => sqlx::query_scalar(
        "DELETE FROM user_profiles WHERE user_id = $1 RETURNING profile_visibility")
        .bind(caller.id())
        .fetch_optional(c)
        .await)?;
    if deleted.as_deref() == Some(PRIVATE) {
        // Clearing the fields does not make the profile visible again.
        let private = [("profile_visibility", Column::Text(Some(PRIVATE.to_owned())))];
        write_profile(&mut tx, caller.id(), &private, now).await?;
    }
    if deleted.is_some() {
        let entry = AuditEntry::by_owner(event::PROFILE_CHANGE, caller.id(), &client)
            .with_detail(serde_json::json!({"action": "cleared"}));
        audit::record(&mut tx, now, entry).await?;
    }
    tx.commit().await?;
    Ok(NoContent)
}
