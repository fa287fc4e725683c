//! Reading variables: empty values count as unset, and every failure names its variable.

use std::fmt;

/// A configuration value that cannot be used; start-up stops with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error in {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

pub(super) fn invalid(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

/// A secret that never shows up in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Reads variables by name, treating empty values as unset.
pub(super) struct Vars<'a>(pub &'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn parse<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: T,
    ) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|e| invalid(name, format!("{raw:?} is not valid: {e}"))),
        }
    }

    /// A whole number from `min` to `max`.
    pub fn number(
        &self,
        name: &'static str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<u64, ConfigError> {
        let value: u64 = self.parse(name, default)?;
        if value < min || value > max {
            return Err(invalid(
                name,
                format!("must be between {min} and {max}, got {value}"),
            ));
        }
        Ok(value)
    }

    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
            Some(v) => Err(invalid(
                name,
                format!("{v:?} is not a boolean (true/false)"),
            )),
        }
    }

    /// One of `choices` (the first is the default).
    pub fn choice<T: Copy>(
        &self,
        name: &'static str,
        choices: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(choices[0].1),
            Some(raw) => choices
                .iter()
                .find(|(text, _)| *text == raw)
                .map(|(_, value)| *value)
                .ok_or_else(|| {
                    let names: Vec<&str> = choices.iter().map(|(text, _)| *text).collect();
                    invalid(name, format!("{raw:?} is not one of {}", names.join(", ")))
                }),
        }
    }

    /// A duration in whole `unit`s from `min` to `max`.
    pub fn duration(
        &self,
        name: &'static str,
        unit: std::time::Duration,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<std::time::Duration, ConfigError> {
        let value = self.number(name, default, min, max)?;
        Ok(unit * value as u32)
    }
}
