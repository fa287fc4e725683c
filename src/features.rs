//! Which optional modules the deployment answering this request serves (`FEATURES`),
//! for the fields of answers that belong to a module: the account's `tier` (premium),
//! a public profile's `avatar_url` and `bio` (profiles), the badge and goal figures of
//! `/me/stats` (achievements). The application runs every request inside [`scope`], so
//! a field's `skip_serializing_if` asks [`served`] without the handler passing the
//! settings down. Outside a request (the command line, background work) every module
//! counts as served.

use std::future::Future;

use crate::config::Features;

tokio::task_local! {
    static SERVED: Features;
}

/// The modules served to the current request (every module outside one).
pub fn served() -> Features {
    SERVED.try_with(|features| *features).unwrap_or_default()
}

/// Runs `work` (a request) with `features` as the modules served.
pub async fn scope<F: Future>(features: Features, work: F) -> F::Output {
    SERVED.scope(features, work).await
}

/// For `skip_serializing_if`: true when the premium module is not served.
pub fn without_premium<T>(_: &T) -> bool {
    !served().premium
}

/// For `skip_serializing_if`: true when the profiles module is not served.
pub fn without_profiles<T>(_: &T) -> bool {
    !served().profiles
}

/// For `skip_serializing_if`: true when the achievements module is not served.
pub fn without_achievements<T>(_: &T) -> bool {
    !served().achievements
}
