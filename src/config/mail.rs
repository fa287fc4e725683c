//! Outgoing mail: the SMTP submission endpoint, the sender, and the per-address quota.

use std::time::Duration;

use lettre::{AsyncSmtpTransport, Tokio1Executor};

use super::vars::{ConfigError, Secret, Vars, invalid};

#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `SMTP_URL`; unset (development only), mail is written to the log.
    pub smtp_url: Option<Secret>,
    /// `MAIL_FROM`: the address (and maybe a display name; `MAIL_FROM_NAME`, else
    /// `BRAND_NAME`, names the sender when it has none).
    pub from: String,
    /// At most this many mails of one kind per address and hour
    /// (`MAIL_PER_ADDRESS_PER_HOUR`).
    pub per_address_per_hour: u32,
    /// How often the mail worker looks for due messages besides being woken when this
    /// instance queues one (`MAIL_POLL_MILLIS`).
    pub poll_interval: Duration,
}

impl MailConfig {
    pub(super) fn parse(vars: &Vars) -> Result<MailConfig, ConfigError> {
        let from = vars
            .get("MAIL_FROM")
            .unwrap_or_else(|| "no-reply@localhost".to_owned());
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "MAIL_FROM",
                format!("{from:?} is not an email address"),
            ));
        }
        let smtp_url = vars.get("SMTP_URL");
        if let Some(url) = &smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(invalid("SMTP_URL", "must start with smtp:// or smtps://"));
            }
            // lettre's own parser decides what it can connect to (host, port, `tls=`);
            // its messages never repeat the URL, so no password reaches the error.
            if let Err(e) = AsyncSmtpTransport::<Tokio1Executor>::from_url(url) {
                return Err(invalid("SMTP_URL", format!("cannot be used: {e}")));
            }
        }
        Ok(MailConfig {
            smtp_url: smtp_url.map(Secret::new),
            from,
            per_address_per_hour: vars.number("MAIL_PER_ADDRESS_PER_HOUR", 5, 1, 1000)? as u32,
            poll_interval: vars.duration(
                "MAIL_POLL_MILLIS",
                Duration::from_millis(1),
                5_000,
                10,
                600_000,
            )?,
        })
    }
}
