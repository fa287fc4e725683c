//! The two forms of the profile page and how each becomes the body its JSON endpoint
//! takes: the account's fields (`PUT /me`) and the extended profile (`PUT /me/profile`).

use serde::Deserialize;

use crate::accounts::model::User;
use crate::patch::Patch;
use crate::users::account_update::AccountUpdate;
use crate::users::profile::Profile;
use crate::users::profile_update::{AddressInput, ProfileUpdate};

pub(super) const ACCOUNT_FIELDS: &[&str] = &[
    "username",
    "full_name",
    "email",
    "current_password",
    "locale",
];
pub(super) const PROFILE_FIELDS: &[&str] = &[
    "date_of_birth",
    "occupation",
    "location",
    "phone",
    "current_title",
    "bio",
    "avatar_url",
    "profile_visibility",
    "shipping_address",
    "shipping_address.line1",
    "shipping_address.line2",
    "shipping_address.city",
    "shipping_address.region",
    "shipping_address.postal_code",
    "shipping_address.country",
];

#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub(super) struct AccountForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
    #[serde(default, skip_serializing)]
    current_password: String,
    /// The language of pages and mails: a supported tag, or empty for the browser's.
    #[serde(default)]
    locale: String,
    /// Set by the button that keeps the current address (withdraws a pending change).
    #[serde(default, skip_serializing)]
    pub(super) keep_email: String,
}

impl AccountForm {
    pub(super) fn of(user: &User) -> AccountForm {
        AccountForm {
            username: user.username.clone(),
            full_name: user.full_name.clone().unwrap_or_default(),
            email: user.email.clone(),
            locale: user.locale.clone().unwrap_or_default(),
            ..AccountForm::default()
        }
    }

    /// The update `PUT /me` would get for this form: only what differs from `user` (a
    /// changed email with the current password), or, for the button that keeps the
    /// current address, that address alone (which withdraws a pending change).
    pub(super) fn update_for(&self, user: &User) -> AccountUpdate {
        if self.keep_email.is_empty() {
            let full_name = match (self.full_name.trim().is_empty(), &user.full_name) {
                (true, None) => Patch::Absent,
                (true, Some(_)) => Patch::Null,
                (false, Some(current)) if *current == self.full_name => Patch::Absent,
                (false, _) => Patch::Value(self.full_name.clone()),
            };
            let email_unchanged = self.email == user.email
                || crate::accounts::fields::parse_email(&self.email, "email")
                    .is_ok_and(|email| email == user.email);
            AccountUpdate {
                username: if self.username == user.username {
                    Patch::Absent
                } else {
                    Patch::Value(self.username.clone())
                },
                email: if email_unchanged {
                    Patch::Absent
                } else {
                    Patch::Value(self.email.clone())
                },
                current_password: Some(self.current_password.clone()).filter(|p| !p.is_empty()),
                full_name,
                locale: match (self.locale.as_str(), user.locale.as_deref()) {
                    ("", None) => Patch::Absent,
                    ("", Some(_)) => Patch::Null,
                    (posted, Some(current)) if posted == current => Patch::Absent,
                    (posted, _) => Patch::Value(posted.to_owned()),
                },
            }
        } else {
            AccountUpdate {
                email: Patch::Value(user.email.clone()),
                ..AccountUpdate::default()
            }
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub(super) struct ProfileForm {
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    occupation: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    current_title: String,
    #[serde(default)]
    bio: String,
    #[serde(default)]
    avatar_url: String,
    #[serde(default)]
    profile_visibility: String,
    #[serde(default, rename = "shipping_address.line1")]
    line1: String,
    #[serde(default, rename = "shipping_address.line2")]
    line2: String,
    #[serde(default, rename = "shipping_address.city")]
    city: String,
    #[serde(default, rename = "shipping_address.region")]
    region: String,
    #[serde(default, rename = "shipping_address.postal_code")]
    postal_code: String,
    #[serde(default, rename = "shipping_address.country")]
    country: String,
}

impl ProfileForm {
    pub(super) fn of(profile: &Profile) -> ProfileForm {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        let address = profile.shipping_address.as_ref();
        let part = |get: fn(&crate::users::profile::Address) -> Option<String>| {
            address.and_then(get).unwrap_or_default()
        };
        ProfileForm {
            date_of_birth: profile
                .date_of_birth
                .map(|d| d.to_string())
                .unwrap_or_default(),
            occupation: text(&profile.occupation),
            location: text(&profile.location),
            phone: text(&profile.phone),
            current_title: text(&profile.current_title),
            bio: text(&profile.bio),
            avatar_url: text(&profile.avatar_url),
            profile_visibility: profile.profile_visibility.as_str().to_owned(),
            line1: part(|a| Some(a.line1.clone())),
            line2: part(|a| a.line2.clone()),
            city: part(|a| Some(a.city.clone())),
            region: part(|a| a.region.clone()),
            postal_code: part(|a| a.postal_code.clone()),
            country: part(|a| Some(a.country.clone())),
        }
    }

    /// The update that turns `stored` into this form: fields left as they were are not
    /// sent, emptied ones are cleared, the address is sent whole when any part changed.
    pub(super) fn update_from(&self, stored: &ProfileForm) -> ProfileUpdate {
        let bio = self.bio.replace("\r\n", "\n");
        let text = |now: &str, before: &str| -> Patch<String> {
            if now == before {
                Patch::Absent
            } else if now.trim().is_empty() {
                Patch::Null
            } else {
                Patch::Value(now.to_owned())
            }
        };
        let address_now = [
            &self.line1,
            &self.line2,
            &self.city,
            &self.region,
            &self.postal_code,
            &self.country,
        ];
        let address_before = [
            &stored.line1,
            &stored.line2,
            &stored.city,
            &stored.region,
            &stored.postal_code,
            &stored.country,
        ];
        let shipping_address = if address_now == address_before {
            Patch::Absent
        } else if address_now.iter().all(|part| part.trim().is_empty()) {
            Patch::Null
        } else {
            let part = |value: &String| (!value.trim().is_empty()).then(|| value.clone());
            Patch::Value(AddressInput {
                line1: part(&self.line1),
                line2: part(&self.line2),
                city: part(&self.city),
                region: part(&self.region),
                postal_code: part(&self.postal_code),
                country: part(&self.country),
            })
        };
        ProfileUpdate {
            date_of_birth: text(&self.date_of_birth, &stored.date_of_birth),
            occupation: text(&self.occupation, &stored.occupation),
            location: text(&self.location, &stored.location),
            phone: text(&self.phone, &stored.phone),
            current_title: text(&self.current_title, &stored.current_title),
            bio: text(&bio, &stored.bio),
            avatar_url: text(&self.avatar_url, &stored.avatar_url),
            shipping_address,
            profile_visibility: text(&self.profile_visibility, &stored.profile_visibility),
        }
    }
}
