//! Unique violations as the API's errors: which unique index a write hit, and
//! [`ResultExt::on_unique_violation`] turning it into a 409 or 422 naming the field.

use super::ApiError;

/// Which unique index a violation hit, as text ("users.username_key", "users_email_key"):
/// PostgreSQL names the constraint, SQLite names the columns in its message.
pub fn unique_violation_target(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => Some(
            db.constraint()
                .map(str::to_owned)
                .unwrap_or_else(|| db.message().to_owned()),
        ),
        _ => None,
    }
}

pub trait ResultExt<T> {
    /// Turns a unique violation into the error `conflict` builds from the violated target;
    /// other errors convert as usual.
    fn on_unique_violation(self, conflict: impl FnOnce(&str) -> ApiError) -> Result<T, ApiError>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn on_unique_violation(self, conflict: impl FnOnce(&str) -> ApiError) -> Result<T, ApiError> {
        self.map_err(|error| match unique_violation_target(&error) {
            Some(target) => conflict(&target),
            None => ApiError::from(error),
        })
    }
}
