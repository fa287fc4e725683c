//! The event log: how long events are kept for pull and replay, and how often the
//! sequencer looks for events nobody woke it for.

use super::vars::{ConfigError, Vars};

#[derive(Debug, Clone)]
pub struct EventsConfig {
    /// `EVENT_RETENTION_DAYS` (30): older events are purged by the housekeeping.
    pub retention: chrono::Duration,
    /// `EVENT_POLL_MILLIS` (1000): how often committed events are looked for besides
    /// the wake-up after each request that made some (events of background work and
    /// of other instances).
    pub poll_interval: std::time::Duration,
}

impl EventsConfig {
    pub(super) fn parse(vars: &Vars) -> Result<EventsConfig, ConfigError> {
        let days = vars.number("EVENT_RETENTION_DAYS", 30, 1, 3650)?;
        Ok(EventsConfig {
            retention: chrono::Duration::days(days as i64),
            poll_interval: vars.duration(
                "EVENT_POLL_MILLIS",
                std::time::Duration::from_millis(1),
                1_000,
                10,
                3_600_000,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::config::Config;

    fn config_with(value: Option<&str>) -> Result<Config, crate::config::ConfigError> {
        let mut vars = HashMap::new();
        if let Some(value) = value {
            vars.insert("EVENT_RETENTION_DAYS".to_owned(), value.to_owned());
        }
        Config::from_map(&vars)
    }

    #[test]
    fn retention_defaults_to_thirty_days_and_a_bad_value_names_the_variable() {
        assert_eq!(
            config_with(None).unwrap().events.retention,
            chrono::Duration::days(30)
        );
        assert_eq!(
            config_with(Some("7")).unwrap().events.retention,
            chrono::Duration::days(7)
        );
        for bad in ["0", "-1", "thirty", "100000"] {
            let error = config_with(Some(bad)).unwrap_err();
            assert_eq!(error.variable, "EVENT_RETENTION_DAYS", "{bad}");
        }
    }
}
