//! The extended profile (`/me/profile`, `/{user_id}/profile`): date of birth (with the
//! derived age), occupation, location, phone, current title, bio, avatar and shipping
//! address, and who may see it (`profile_visibility`). Every field is optional. This file
//! reads it; `profile_update` changes it.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json as SqlJson;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::fields::age_on;
use crate::db::Exec;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiPath, AuthUser};
use crate::on_exec;
use crate::state::AppState;
use crate::users::access::{require_reader_of_others, visible_user_or_404};

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
    pub fn parse(raw: &str) -> Option<ProfileVisibility> {
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

pub const PROFILE_COLUMNS: &str = "date_of_birth, occupation, location, phone, current_title, bio, avatar_url, shipping_address, profile_visibility, updated_at";

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

pub async fn profile_of(state: &AppState, user_id: Uuid) -> ApiResult<Profile> {
    let today = state.clock.now().date_naive();
    Ok(find_profile(&state.db, user_id)
        .await?
        .map(|row| row.into_profile(today))
        .unwrap_or_default())
}

/// The caller's extended profile
///
/// Every field is null until set (`updated_at` too).
#[utoipa::path(get, path = "/me/profile", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The extended profile", body = Profile),
    ))]
pub async fn get_my_profile(
    State(state): State<AppState>,
    caller: AuthUser,
) -> ApiResult<Json<Profile>> {
    Ok(Json(profile_of(&state, caller.id()).await?))
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
