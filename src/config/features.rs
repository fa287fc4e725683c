//! The optional modules a deployment serves (`FEATURES`) and whether users change their
//! own tier (`PREMIUM_SELF_SERVICE`). A module left out has no routes, no OpenAPI entry,
//! no console page and no field in other answers; its stored data is kept.

use super::vars::{ConfigError, Vars, invalid};

/// The optional modules, by their names in `FEATURES`.
pub const MODULES: [&str; 5] = [
    "profiles",
    "preferences",
    "premium",
    "achievements",
    "payment",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Features {
    /// `profiles`: the extended profile (`/me/profile`, a user's `/profile`).
    pub profiles: bool,
    /// `preferences`: `/me/preferences` and a user's `/preferences`.
    pub preferences: bool,
    /// `premium`: tiers, `/me/upgrade` and `/me/downgrade`, the member search.
    pub premium: bool,
    /// `achievements`: badges and goals.
    pub achievements: bool,
    /// `payment`: the payment-token vault (`/me/payment-info`).
    pub payment: bool,
    /// `PREMIUM_SELF_SERVICE` (true): users upgrade and downgrade themselves; when false
    /// only administrators change a tier and `/me/upgrade` is `403`.
    pub premium_self_service: bool,
}

impl Default for Features {
    fn default() -> Features {
        Features {
            profiles: true,
            preferences: true,
            premium: true,
            achievements: true,
            payment: true,
            premium_self_service: true,
        }
    }
}

impl Features {
    pub(super) fn parse(vars: &Vars) -> Result<Features, ConfigError> {
        let premium_self_service = vars.flag("PREMIUM_SELF_SERVICE", true)?;
        let Some(listed) = vars.get("FEATURES") else {
            return Ok(Features {
                premium_self_service,
                ..Features::default()
            });
        };
        let mut features = Features {
            profiles: false,
            preferences: false,
            premium: false,
            achievements: false,
            payment: false,
            premium_self_service,
        };
        // `none`: the core alone (an empty value counts as unset: every module).
        if listed == "none" {
            return Ok(features);
        }
        for name in listed.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let module = match name {
                "profiles" => &mut features.profiles,
                "preferences" => &mut features.preferences,
                "premium" => &mut features.premium,
                "achievements" => &mut features.achievements,
                "payment" => &mut features.payment,
                other => {
                    return Err(invalid(
                        "FEATURES",
                        format!(
                            "{other:?} is not a module; the modules are {}",
                            MODULES.join(", ")
                        ),
                    ));
                }
            };
            *module = true;
        }
        Ok(features)
    }

    /// The names of the modules served, in `MODULES` order.
    pub fn served(&self) -> Vec<&'static str> {
        let on = [
            self.profiles,
            self.preferences,
            self.premium,
            self.achievements,
            self.payment,
        ];
        MODULES
            .iter()
            .zip(on)
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::config::Config;

    fn config_with(vars: &[(&str, &str)]) -> Result<Config, crate::config::ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_map(&vars)
    }

    #[test]
    fn every_module_by_default_and_only_those_listed_otherwise() {
        let all = config_with(&[]).unwrap().features;
        assert_eq!(all.served(), super::MODULES);
        assert!(all.premium_self_service);
        let some = config_with(&[
            ("FEATURES", "profiles, payment"),
            ("PREMIUM_SELF_SERVICE", "false"),
        ])
        .unwrap()
        .features;
        assert_eq!(some.served(), ["profiles", "payment"]);
        assert!(!some.premium_self_service);
        assert!(
            config_with(&[("FEATURES", "none")])
                .unwrap()
                .features
                .served()
                .is_empty()
        );
        for bad in [
            ("FEATURES", "profiles,billing"),
            ("PREMIUM_SELF_SERVICE", "maybe"),
        ] {
            assert_eq!(config_with(&[bad]).unwrap_err().variable, bad.0, "{bad:?}");
        }
    }
}
