//! The extended profile (`/me/profile`, `/{user_id}/profile`): date of birth (with the
//! derived age), occupation, location, phone, current title, bio, avatar and shipping
//! address. Every field is optional; an update names only the fields it changes.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json as SqlJson;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::audit::{self, AuditEntry, event};
use crate::db::Exec;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::http::{ApiJson, ApiPath, AuthUser, ClientInfo, NoContent};
use crate::on_exec;
use crate::users::access::{require_reader_of_others, visible_user_or_404};
use crate::users::fields::{
    MAX_ADDRESS_LINE, MAX_BIO, MAX_POSTAL_CODE, MAX_PROFILE_TEXT, Patch, age_on, collect,
    parse_country, parse_date_of_birth, parse_http_url, parse_line, parse_phone, parse_text,
};

/// A postal address for deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Address {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    #[schema(example = "US")]
    pub country: String,
}

/// `profile_visibility` as stored.
pub const PRIVATE: &str = "private";
pub const PREMIUM: &str = "premium";

/// Who besides the member and administrators sees the professional fields of a profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProfileVisibility {
    /// Premium members see `occupation`, `location`, `current_title`, `bio` and
    /// `avatar_url` (never the date of birth, age, phone or address).
    #[default]
    Premium,
    /// Nobody else: premium members get 403, search matches only the username and full
    /// name, and the public view leaves out the avatar and bio.
    Private,
}

impl ProfileVisibility {
    fn parse(raw: &str) -> Option<ProfileVisibility> {
        match raw {
            PREMIUM => Some(ProfileVisibility::Premium),
            PRIVATE => Some(ProfileVisibility::Private),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProfileVisibility::Premium => PREMIUM,
            ProfileVisibility::Private => PRIVATE,
        }
    }
}

/// The extended profile; every field may be null.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Profile {
    #[schema(value_type = Option<String>, format = Date, example = "1990-05-17")]
    pub date_of_birth: Option<NaiveDate>,
    /// Whole years since `date_of_birth` (UTC today); null when it is not set.
    pub age: Option<i32>,
    pub occupation: Option<String>,
    pub location: Option<String>,
    /// E.164.
    #[schema(example = "+12125551234")]
    pub phone: Option<String>,
    pub current_title: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub shipping_address: Option<Address>,
    /// Who besides the member and administrators sees the professional fields
    /// (`premium`, the default, or `private`).
    pub profile_visibility: ProfileVisibility,
    /// When the profile last changed; null when it was never set.
    pub updated_at: Option<DateTime<Utc>>,
}

/// What a premium member sees of another member's profile: the professional fields only
/// (and no other: `additionalProperties: false` tells it apart from a whole [`Profile`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfessionalProfile {
    pub occupation: Option<String>,
    pub location: Option<String>,
    pub current_title: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<Profile> for ProfessionalProfile {
    fn from(profile: Profile) -> ProfessionalProfile {
        ProfessionalProfile {
            occupation: profile.occupation,
            location: profile.location,
            current_title: profile.current_title,
            bio: profile.bio,
            avatar_url: profile.avatar_url,
            updated_at: profile.updated_at,
        }
    }
}

/// A profile as the caller may see it: whole for the member and administrators, the
/// professional fields for premium members.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ProfileView {
    Full(Profile),
    Professional(ProfessionalProfile),
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProfileRow {
    pub date_of_birth: Option<NaiveDate>,
    pub occupation: Option<String>,
    pub location: Option<String>,
    pub phone: Option<String>,
    pub current_title: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub shipping_address: Option<SqlJson<Address>>,
    pub profile_visibility: String,
    pub updated_at: DateTime<Utc>,
}

const PROFILE_COLUMNS: &str = "date_of_birth, occupation, location, phone, current_title, bio, avatar_url, shipping_address, profile_visibility, updated_at";

impl ProfileRow {
    pub fn into_profile(self, today: NaiveDate) -> Profile {
        Profile {
            age: self.date_of_birth.map(|dob| age_on(dob, today)),
            date_of_birth: self.date_of_birth,
            occupation: self.occupation,
            location: self.location,
            phone: self.phone,
            current_title: self.current_title,
            bio: self.bio,
            avatar_url: self.avatar_url,
            shipping_address: self.shipping_address.map(|a| a.0),
            profile_visibility: ProfileVisibility::parse(&self.profile_visibility)
                .unwrap_or(ProfileVisibility::Private),
            updated_at: Some(self.updated_at),
        }
    }

    /// How many of the profile's eight fields are set.
    pub fn filled_fields(&self) -> usize {
        [
            self.date_of_birth.is_some(),
            self.occupation.is_some(),
            self.location.is_some(),
            self.phone.is_some(),
            self.current_title.is_some(),
            self.bio.is_some(),
            self.avatar_url.is_some(),
            self.shipping_address.is_some(),
        ]
        .into_iter()
        .filter(|set| *set)
        .count()
    }
}

pub async fn find_profile(
    ex: impl Into<Exec<'_>>,
    user_id: Uuid,
) -> Result<Option<ProfileRow>, sqlx::Error> {
    let sql = format!("SELECT {PROFILE_COLUMNS} FROM user_profiles WHERE user_id = $1");
    on_exec!(ex, c => sqlx::query_as::<_, ProfileRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(user_id)
        .fetch_optional(c)
        .await)
}

async fn profile_of(state: &AppState, user_id: Uuid) -> ApiResult<Profile> {
    let today = state.clock.now().date_naive();
    Ok(find_profile(&state.db, user_id)
        .await?
        .map(|row| row.into_profile(today))
        .unwrap_or_default())
}

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
                errors.push(FieldError::new(field, "is required"));
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
        errors.push(FieldError::new(
            "shipping_address.postal_code",
            "may contain only letters, digits, spaces and '-'",
        ));
    }
    let country = match input.country.as_deref() {
        None => {
            errors.push(FieldError::new("shipping_address.country", "is required"));
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
            None => errors.push(FieldError::new(
                "profile_visibility",
                "must be premium or private",
            )),
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

async fn update_profile(
    state: &AppState,
    caller: &AuthUser,
    client: &ClientInfo,
    update: &ProfileUpdate,
) -> ApiResult<Profile> {
    let now = state.clock.now();
    let columns = check_update(update, now.date_naive())?;
    if columns.is_empty() {
        return profile_of(state, caller.id()).await;
    }
    let mut tx = state.db.begin().await?;
    let row = write_profile(&mut tx, caller.id(), &columns, now).await?;
    let fields: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let entry = AuditEntry::by_owner(event::PROFILE_CHANGE, caller.id(), client)
        .with_detail(serde_json::json!({"action": "updated", "fields": fields}));
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(row.into_profile(now.date_naive()))
}

/// The caller's extended profile
///
/// Every field is null until set (`updated_at` too).
#[utoipa::path(get, path = "/me/profile", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The extended profile", body = Profile),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_my_profile(
    State(state): State<AppState>,
    caller: AuthUser,
) -> ApiResult<Json<Profile>> {
    Ok(Json(profile_of(&state, caller.id()).await?))
}

/// Update the caller's extended profile
///
/// Fields left out stay as they are; `null` clears a field; `shipping_address` is
/// replaced as a whole. `age` and `updated_at` are derived and cannot be sent (422).
/// Every failing field is named at once.
#[utoipa::path(put, path = "/me/profile", tag = "users", security(("bearer" = [])), request_body = ProfileUpdate,
    responses(
        (status = 200, description = "The updated profile", body = Profile),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (every failing field named, e.g. shipping_address.country)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_my_profile(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(update): ApiJson<ProfileUpdate>,
) -> ApiResult<Json<Profile>> {
    Ok(Json(
        update_profile(&state, &caller, &client, &update).await?,
    ))
}

/// Update the caller's extended profile (same as PUT)
///
/// Fields left out stay as they are; `null` clears a field.
#[utoipa::path(patch, path = "/me/profile", tag = "users", security(("bearer" = [])), request_body = ProfileUpdate,
    responses(
        (status = 200, description = "The updated profile", body = Profile),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (every failing field named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_my_profile(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ApiJson(update): ApiJson<ProfileUpdate>,
) -> ApiResult<Json<Profile>> {
    Ok(Json(
        update_profile(&state, &caller, &client, &update).await?,
    ))
}

/// Clear the caller's extended profile
///
/// Idempotent: 204 also when nothing was set. A `private` profile stays private.
#[utoipa::path(delete, path = "/me/profile", tag = "users", security(("bearer" = [])),
    responses(
        (status = 204, description = "Every profile field is cleared"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
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

/// A user's extended profile (that user, an admin, or a premium member)
///
/// The member and administrators get the whole profile. Premium members get only the
/// professional fields (`occupation`, `location`, `current_title`, `bio`,
/// `avatar_url`), never the date of birth, age, phone or shipping address, and 403 when
/// the member made the profile private. Basic members may read only their own (403
/// otherwise). Deactivated accounts are 404 except to admins.
#[utoipa::path(get, path = "/{user_id}/profile", tag = "users", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "Profile for the member and admins, ProfessionalProfile for premium members", body = ProfileView),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A basic member reading someone else's profile, or a private profile", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_user_profile(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(user_id): ApiPath<Uuid>,
) -> ApiResult<Json<ProfileView>> {
    require_reader_of_others(&caller, user_id)?;
    visible_user_or_404(&state, &caller, user_id).await?;
    let profile = profile_of(&state, user_id).await?;
    if caller.may_act_for(user_id) {
        return Ok(Json(ProfileView::Full(profile)));
    }
    if profile.profile_visibility == ProfileVisibility::Private {
        return Err(ApiError::forbidden(
            "this member keeps their profile private",
        ));
    }
    Ok(Json(ProfileView::Professional(profile.into())))
}
