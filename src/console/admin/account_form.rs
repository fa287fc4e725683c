//! The form of `/admin/users/{user_id}`'s account settings (role, tier, status, email
//! verification): what it shows for an account, and the change it asks for.

use serde::{Deserialize, Serialize};

use super::{refused, ticked};
use crate::accounts::model::{Role, Tier, User};
use crate::admin::accounts::AdminAccountUpdate;
use crate::error::FieldError;
use crate::i18n::message_key;

/// The account form's values: the account's own, or what was posted.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(super) struct AccountForm {
    #[serde(default)]
    pub(super) role: String,
    #[serde(default)]
    pub(super) tier: String,
    #[serde(default)]
    pub(super) is_active: String,
    #[serde(default)]
    pub(super) email_verified: String,
    /// "I am sure", needed to deactivate.
    #[serde(default, skip_serializing)]
    pub(super) confirm: Option<String>,
}

impl AccountForm {
    pub(super) fn of(user: &User) -> AccountForm {
        AccountForm {
            role: user.role.as_str().to_owned(),
            tier: user.tier.as_str().to_owned(),
            is_active: user.is_active.to_string(),
            email_verified: user.email_verified.to_string(),
            confirm: None,
        }
    }

    /// The form as posted, its fields left out filled with `user`'s values (to show again).
    pub(super) fn filled_from(&self, user: &User) -> AccountForm {
        let current = AccountForm::of(user);
        let or = |posted: &String, current: String| {
            if posted.is_empty() {
                current
            } else {
                posted.clone()
            }
        };
        AccountForm {
            role: or(&self.role, current.role),
            tier: or(&self.tier, current.tier),
            is_active: or(&self.is_active, current.is_active),
            email_verified: or(&self.email_verified, current.email_verified),
            confirm: None,
        }
    }

    /// The change to `user` this form asks for (the fields given that differ), or the
    /// fields whose value is not one the API takes.
    pub(super) fn update_of(&self, user: &User) -> Result<AdminAccountUpdate, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut flag = |field: &str, text: &str| match text {
            "" => None,
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                errors.push(refused(field, message_key("admin-field-yes-or-no")));
                None
            }
        };
        let is_active = flag("is_active", &self.is_active);
        let email_verified = flag("email_verified", &self.email_verified);
        let role = (!self.role.is_empty())
            .then(|| {
                Role::try_from(self.role.clone())
                    .map_err(|_| errors.push(refused("role", message_key("admin-field-role"))))
                    .ok()
            })
            .flatten();
        // No tier posted (the premium module is not served, or another form): it stays.
        let tier = (!self.tier.is_empty())
            .then(|| {
                Tier::try_from(self.tier.clone())
                    .map_err(|_| errors.push(refused("tier", message_key("admin-field-tier"))))
                    .ok()
            })
            .flatten();
        if is_active == Some(false) && user.is_active && !ticked(&self.confirm) {
            errors.push(refused(
                "confirm",
                message_key("admin-user-confirm-deactivate"),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AdminAccountUpdate {
            role: role.filter(|r| *r != user.role),
            tier: tier.filter(|t| *t != user.tier),
            is_active: is_active.filter(|a| *a != user.is_active),
            email_verified: email_verified.filter(|v| *v != user.email_verified),
        })
    }
}
