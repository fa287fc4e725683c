//! Users: the account model shared by every feature, and the `/api/v1/users` endpoints:
//! the account (`account`), the extended profile (`profile`), preferences validated by a
//! JSON Schema (`preferences`), tier and statistics (`premium`), the admin listing and
//! premium search (`search`), and the payment vault (`payment`).

pub mod access;
pub mod account;
pub mod account_update;
pub mod email_change;
pub mod payment;
pub mod preferences;
pub mod premium;
pub mod profile;
pub mod profile_update;
pub mod search;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Features;
use crate::state::AppState;

/// The email-change links' endpoints, which take a token rather than a bearer token and
/// live beside the other such endpoints under `/api/v1/auth`.
pub fn email_change_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(email_change::confirm_email_change))
        .routes(routes!(email_change::cancel_email_change))
}

/// Routes under `/api/v1/users`.
/// The `/api/v1/users` routes of the modules `features` serves: a module left out has
/// no route (404) and no OpenAPI entry.
pub fn router(features: &Features) -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new()
        .routes(routes!(search::list_users))
        .routes(routes!(
            account::get_me,
            account_update::put_me,
            account_update::patch_me,
            account::delete_me
        ))
        .routes(routes!(premium::stats))
        .routes(routes!(
            account::get_user,
            account_update::put_user,
            account::delete_user
        ));
    if features.profiles {
        router = router
            .routes(routes!(
                profile::get_my_profile,
                profile_update::put_my_profile,
                profile_update::patch_my_profile,
                profile_update::delete_my_profile
            ))
            .routes(routes!(profile::get_user_profile));
    }
    if features.preferences {
        router = router
            .routes(routes!(
                preferences::get_my_preferences,
                preferences::put_my_preferences,
                preferences::patch_my_preferences,
                preferences::delete_my_preferences
            ))
            .routes(routes!(
                preferences::get_user_preferences,
                preferences::put_user_preferences,
                preferences::patch_user_preferences,
                preferences::delete_user_preferences
            ));
    }
    if features.premium {
        router = router
            .routes(routes!(premium::upgrade))
            .routes(routes!(premium::downgrade))
            .routes(routes!(search::search_users));
    }
    if features.payment {
        router = router.routes(routes!(
            payment::get_payment_info,
            payment::post_payment_info,
            payment::put_payment_info,
            payment::delete_payment_info
        ));
    }
    router
}
