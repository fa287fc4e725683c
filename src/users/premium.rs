//! Membership tier (`/me/upgrade`, `/me/downgrade`) and the caller's statistics
//! (`/me/stats`). The tier is stored on the account; access tokens issued after a change
//! carry the new tier, and permission checks read the stored tier, so a change applies
//! to the very next request.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::model::{Tier, User};
use crate::audit::{self, AuditEntry, event};
use crate::db::Tx;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{AuthUser, ClientInfo};
use crate::state::AppState;
use crate::users::profile::find_profile;
use crate::{on_exec, user_columns};

/// Sets the tier of `user_id`, auditing a change with `via` ("self" or "admin").
pub async fn set_tier(
    tx: &mut Tx,
    user: &User,
    tier: Tier,
    actor_id: Uuid,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> ApiResult<User> {
    if user.tier == tier {
        return Ok(user.clone());
    }
    let updated = on_exec!(&mut *tx, c => sqlx::query_as::<_, User>(concat!(
        "UPDATE users SET tier = $2, updated_at = $3 WHERE id = $1 RETURNING ", user_columns!()))
        .bind(user.id)
        .bind(tier.as_str())
        .bind(now)
        .fetch_one(c)
        .await)?;
    let via = if actor_id == user.id { "self" } else { "admin" };
    let entry = AuditEntry {
        event: event::TIER_CHANGE,
        actor_id: Some(actor_id),
        user_id: Some(user.id),
        client: Some(client),
        detail: serde_json::json!({"from": user.tier.as_str(), "to": tier.as_str(), "via": via}),
    };
    audit::record(&mut *tx, now, entry).await?;
    Ok(updated)
}

/// Moves account `user_id` to `tier` by its own choice (`/me/upgrade`, `/me/downgrade`
/// and the console's profile page); idempotent. 403 where users do not change their
/// own tier (`PREMIUM_SELF_SERVICE=false`).
pub async fn change_own_tier(
    state: &AppState,
    user_id: Uuid,
    client: &ClientInfo,
    tier: Tier,
) -> ApiResult<User> {
    if !state.config.features.premium_self_service {
        return Err(ApiError::forbidden(
            "members do not change their own tier here; an administrator does",
        ));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let user = crate::accounts::model::find_user_or_404(&mut tx, user_id).await?;
    let updated = set_tier(&mut tx, &user, tier, user_id, client, now).await?;
    tx.commit().await?;
    Ok(updated)
}

/// Upgrade the caller to premium
///
/// Idempotent: a premium member gets 200 with the account unchanged. Access tokens
/// issued from now on (login, refresh) carry `tier: premium`; premium features apply
/// from the next request. 403 where `PREMIUM_SELF_SERVICE=false` (only administrators
/// change tiers there).
#[utoipa::path(post, path = "/me/upgrade", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The account, tier premium", body = User),
        (status = 403, description = "Members do not change their own tier in this deployment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn upgrade(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
) -> ApiResult<Json<User>> {
    Ok(Json(
        change_own_tier(&state, caller.id(), &client, Tier::Premium).await?,
    ))
}

/// Downgrade the caller to basic
///
/// Idempotent: a basic member gets 200 with the account unchanged. 403 where
/// `PREMIUM_SELF_SERVICE=false`.
#[utoipa::path(post, path = "/me/downgrade", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The account, tier basic", body = User),
        (status = 403, description = "Members do not change their own tier in this deployment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn downgrade(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
) -> ApiResult<Json<User>> {
    Ok(Json(
        change_own_tier(&state, caller.id(), &client, Tier::Basic).await?,
    ))
}

/// The caller's figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserStats {
    /// Sessions neither revoked nor expired.
    pub active_sessions: i64,
    /// Successful logins since the account was created.
    pub total_logins: i64,
    pub last_login_at: Option<DateTime<Utc>>,
    /// When the account was created.
    pub member_since: DateTime<Utc>,
    /// Share (0 to 100) of the nine profile fields that are set: full name, date of
    /// birth, occupation, location, phone, current title, bio, avatar and shipping address.
    /// Absent without the profiles module (`FEATURES`).
    #[serde(skip_serializing_if = "crate::features::without_profiles")]
    pub profile_completeness: u8,
    /// Badges earned. This and the goal figures are absent without the achievements
    /// module (`FEATURES`).
    #[serde(skip_serializing_if = "crate::features::without_achievements")]
    pub badges: i64,
    #[serde(skip_serializing_if = "crate::features::without_achievements")]
    pub goals_total: i64,
    #[serde(skip_serializing_if = "crate::features::without_achievements")]
    pub goals_completed: i64,
    /// The longest check-in streak among the user's goals.
    #[serde(skip_serializing_if = "crate::features::without_achievements")]
    pub longest_streak: i64,
}

/// Share (0 to 100, rounded) of the nine profile fields set.
pub fn profile_completeness(full_name_set: bool, profile_fields_set: usize) -> u8 {
    const FIELDS: usize = 9;
    let set = (profile_fields_set + usize::from(full_name_set)).min(FIELDS);
    ((set * 100 + FIELDS / 2) / FIELDS) as u8
}

/// The caller's statistics
///
/// Badge and goal figures come from the achievements feature (0 while there are none).
#[utoipa::path(get, path = "/me/stats", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's figures", body = UserStats),
    ))]
pub async fn stats(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Json<UserStats>> {
    Ok(Json(stats_of(&state, &caller.user).await?))
}

/// The figures of account `user` (`GET /me/stats` and the console's overview).
pub async fn stats_of(state: &AppState, user: &User) -> ApiResult<UserStats> {
    let now = state.clock.now();
    let id = user.id;
    let active_sessions: i64 = on_exec!(&state.db, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2")
        .bind(id)
        .bind(now)
        .fetch_one(c)
        .await)?;
    let total_logins: i64 = on_exec!(&state.db, c => sqlx::query_scalar(
        "SELECT login_count FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(c)
        .await)?;
    let profile_fields = find_profile(&state.db, id)
        .await?
        .map(|p| p.filled_fields())
        .unwrap_or(0);
    let figures = crate::achievements::figures(&state.db, id).await?;
    Ok(UserStats {
        active_sessions,
        total_logins,
        last_login_at: user.last_login_at,
        member_since: user.created_at,
        profile_completeness: profile_completeness(user.full_name.is_some(), profile_fields),
        badges: figures.badges,
        goals_total: figures.goals_total,
        goals_completed: figures.goals_completed,
        longest_streak: figures.longest_streak,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completeness_is_a_rounded_share_of_nine_fields() {
        assert_eq!(profile_completeness(false, 0), 0);
        assert_eq!(profile_completeness(true, 0), 11);
        assert_eq!(profile_completeness(true, 4), 56);
        assert_eq!(profile_completeness(true, 8), 100);
    }
}
