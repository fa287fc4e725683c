//! Who may see what of another account. Ids are public, so a caller who may not act
//! gets 403 rather than 404; deactivated accounts are hidden (404) from everyone but
//! themselves and administrators.

use uuid::Uuid;

use crate::accounts::model::{Tier, User, find_user_or_404};
use crate::error::{ApiError, ApiResult};
use crate::http::AuthUser;
use crate::i18n::message_key;
use crate::state::AppState;

/// True when `caller` may read other members' profiles and preferences and search:
/// premium members and administrators.
pub fn is_premium_or_admin(caller: &AuthUser) -> bool {
    may_see_others(&caller.user)
}

/// [`is_premium_or_admin`] for an account however it was authenticated (the console's
/// browser session as well as a bearer token).
pub fn may_see_others(user: &User) -> bool {
    user.is_admin() || user.tier == Tier::Premium
}

/// 403 unless the caller is `user_id`, an administrator or a premium member.
pub fn require_reader_of_others(caller: &AuthUser, user_id: Uuid) -> ApiResult<()> {
    if caller.id() == user_id || is_premium_or_admin(caller) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "reading other members' profiles and preferences is a premium feature",
        ))
    }
}

/// The account `user_id` as `caller` may see it: 404 when it does not exist, or when it
/// is deactivated and the caller is neither that account nor an administrator.
pub async fn visible_user_or_404(
    state: &AppState,
    caller: &AuthUser,
    user_id: Uuid,
) -> ApiResult<User> {
    let user = find_user_or_404(&state.db, user_id).await?;
    if !user.is_active && !caller.may_act_for(user_id) {
        return Err(ApiError::not_found("user", message_key("not-found-user")));
    }
    Ok(user)
}
