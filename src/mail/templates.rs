//! The messages Roster sends, rendered from the templates in `templates/mail/` (plain
//! text and HTML, embedded in the binary, or their replacements in `TEMPLATES_DIR/mail/`)
//! with minijinja. HTML templates escape every value. Links are built from `PUBLIC_URL`
//! alone, never from anything a request sent. A mail speaks its account's language
//! (`locale`), else English: its templates' `t("key")` and its subject are the messages
//! of `locales/*/mail.ftl`, which name the brand (`BRAND_NAME`) as `{ $brand }`.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};
use serde::{Deserialize, Serialize};

use crate::accounts::model::User;
use crate::i18n::{self, Arg, Language, Words};

/// The templates, by name; `.html` ones are escaped as HTML.
pub(super) const TEMPLATES: [(&str, &str); 18] = [
    (
        "password_reset.txt",
        include_str!("../../templates/mail/password_reset.txt"),
    ),
    (
        "password_reset.html",
        include_str!("../../templates/mail/password_reset.html"),
    ),
    (
        "email_verification.txt",
        include_str!("../../templates/mail/email_verification.txt"),
    ),
    (
        "email_verification.html",
        include_str!("../../templates/mail/email_verification.html"),
    ),
    (
        "password_changed.txt",
        include_str!("../../templates/mail/password_changed.txt"),
    ),
    (
        "password_changed.html",
        include_str!("../../templates/mail/password_changed.html"),
    ),
    (
        "email_change_confirm.txt",
        include_str!("../../templates/mail/email_change_confirm.txt"),
    ),
    (
        "email_change_confirm.html",
        include_str!("../../templates/mail/email_change_confirm.html"),
    ),
    (
        "email_change_notice.txt",
        include_str!("../../templates/mail/email_change_notice.txt"),
    ),
    (
        "email_change_notice.html",
        include_str!("../../templates/mail/email_change_notice.html"),
    ),
    (
        "email_changed_by_admin.txt",
        include_str!("../../templates/mail/email_changed_by_admin.txt"),
    ),
    (
        "email_changed_by_admin.html",
        include_str!("../../templates/mail/email_changed_by_admin.html"),
    ),
    (
        "identity_change.txt",
        include_str!("../../templates/mail/identity_change.txt"),
    ),
    (
        "identity_change.html",
        include_str!("../../templates/mail/identity_change.html"),
    ),
    (
        "webhook_disabled.txt",
        include_str!("../../templates/mail/webhook_disabled.txt"),
    ),
    (
        "webhook_disabled.html",
        include_str!("../../templates/mail/webhook_disabled.html"),
    ),
    (
        "invitation.txt",
        include_str!("../../templates/mail/invitation.txt"),
    ),
    (
        "invitation.html",
        include_str!("../../templates/mail/invitation.html"),
    ),
];

/// A rendered message: what the outbox stores (sealed) and the worker sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// How long a mailed link works, as the mail says it (in the mail's language).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidFor {
    Minutes(u32),
    Hours(u32),
    Days(u32),
}

/// Why the password-changed notice is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// `POST /change-password`.
    Changed,
    /// `POST /password-reset-confirm`.
    Reset,
}

/// Renders messages; built once at start-up.
#[derive(Debug)]
pub struct Composer {
    pub(super) env: Environment<'static>,
    public_url: String,
    words: Arc<Words>,
}

/// The language of mails to `user`: its `locale`, else English.
fn language_of(locale: Option<&str>) -> Language {
    Language::of_locale(locale).unwrap_or(Language::FALLBACK)
}

impl Composer {
    /// Words of the brand `name` for every message (see `overrides` for the deployment's
    /// composer).
    pub(super) fn use_brand(&mut self, name: &str) {
        self.words = Arc::new(Words::new(name));
        i18n::functions::add_to(&mut self.env, self.words.clone());
    }

    /// Parses the embedded templates; a broken template stops start-up. The mails are
    /// Roster's (see [`Self::for_deployment`]).
    pub fn new(public_url: &str) -> anyhow::Result<Composer> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // HTML escaping of `& < > " '` as HTML5 needs it; minijinja's default also
        // escapes `/`, which turns every link into `https:&#x2f;&#x2f;...`.
        env.set_formatter(|out, state, value| match value.as_str() {
            Some(text) if *state.auto_escape() == AutoEscape::Html && !value.is_safe() => {
                Ok(out.write_str(&i18n::functions::escape_html(text))?)
            }
            _ => minijinja::escape_formatter(out, state, value),
        });
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| anyhow::anyhow!("mail template {name}: {e}"))?;
        }
        let words = Arc::new(Words::new("Roster"));
        i18n::functions::add_to(&mut env, words.clone());
        Ok(Composer {
            env,
            public_url: public_url.trim_end_matches('/').to_owned(),
            words,
        })
    }

    /// `valid_for` in the language of `locale` ("30 minutes", "30 Minuten").
    fn valid_for(&self, locale: Option<&str>, valid_for: ValidFor) -> String {
        let (key, count) = match valid_for {
            ValidFor::Minutes(n) => ("mail-valid-minutes", n),
            ValidFor::Hours(n) => ("mail-valid-hours", n),
            ValidFor::Days(n) => ("mail-valid-days", n),
        };
        self.words.text(
            language_of(locale),
            key,
            &[("count", Arg::from(u64::from(count)))],
        )
    }

    /// `{PUBLIC_URL}/reset-password?token=<token>`.
    pub fn reset_link(&self, token: &str) -> String {
        format!("{}/reset-password?token={token}", self.public_url)
    }

    /// `{PUBLIC_URL}/accept-invitation?token=<token>`.
    pub fn invitation_link(&self, token: &str) -> String {
        format!("{}/accept-invitation?token={token}", self.public_url)
    }

    /// `{PUBLIC_URL}/verify-email?token=<token>`.
    pub fn verification_link(&self, token: &str) -> String {
        format!("{}/verify-email?token={token}", self.public_url)
    }

    /// `{PUBLIC_URL}/confirm-email-change?token=<token>`.
    pub fn email_change_confirm_link(&self, token: &str) -> String {
        format!("{}/confirm-email-change?token={token}", self.public_url)
    }

    /// `{PUBLIC_URL}/cancel-email-change?token=<token>`.
    pub fn email_change_cancel_link(&self, token: &str) -> String {
        format!("{}/cancel-email-change?token={token}", self.public_url)
    }

    /// To the new address: confirm it.
    pub fn email_change_confirm(
        &self,
        user: &User,
        new_email: &str,
        token: &str,
        valid_for: ValidFor,
    ) -> anyhow::Result<Composed> {
        let ctx = context! {
            username => user.username.clone(),
            new_email => new_email.to_owned(),
            link => self.email_change_confirm_link(token),
            valid_for => self.valid_for(user.locale.as_deref(), valid_for),
        };
        self.render("email_change_confirm", user.locale.as_deref(), ctx)
    }

    /// To the old address: a change was asked for, and how to cancel (or undo) it.
    pub fn email_change_notice(
        &self,
        user: &User,
        new_email: &str,
        token: &str,
        valid_for: ValidFor,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Composed> {
        let ctx = context! {
            username => user.username.clone(),
            new_email => new_email.to_owned(),
            link => self.email_change_cancel_link(token),
            valid_for => self.valid_for(user.locale.as_deref(), valid_for),
            requested_at => at.to_rfc3339_opts(SecondsFormat::Secs, true),
        };
        self.render("email_change_notice", user.locale.as_deref(), ctx)
    }

    /// To the old address: an administrator changed it.
    pub fn email_changed_by_admin(
        &self,
        user: &User,
        new_email: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Composed> {
        let ctx = context! {
            username => user.username.clone(),
            new_email => new_email.to_owned(),
            changed_at => at.to_rfc3339_opts(SecondsFormat::Secs, true),
            public_url => self.public_url.clone(),
        };
        self.render("email_changed_by_admin", user.locale.as_deref(), ctx)
    }

    pub fn password_reset(
        &self,
        user: &User,
        token: &str,
        valid_for: ValidFor,
    ) -> anyhow::Result<Composed> {
        self.link_mail("password_reset", user, self.reset_link(token), valid_for)
    }

    /// To an account an administrator made: the link that sets its first password.
    pub fn invitation(
        &self,
        user: &User,
        token: &str,
        valid_for: ValidFor,
    ) -> anyhow::Result<Composed> {
        self.link_mail("invitation", user, self.invitation_link(token), valid_for)
    }

    pub fn email_verification(
        &self,
        user: &User,
        token: &str,
        valid_for: ValidFor,
    ) -> anyhow::Result<Composed> {
        let ctx = context! {
            username => user.username.clone(),
            email => user.email.clone(),
            link => self.verification_link(token),
            valid_for => self.valid_for(user.locale.as_deref(), valid_for),
        };
        self.render("email_verification", user.locale.as_deref(), ctx)
    }

    pub fn password_changed(
        &self,
        user: &User,
        how: PasswordChange,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Composed> {
        let ctx = context! {
            username => user.username.clone(),
            how => match how {
                PasswordChange::Changed => "changed",
                PasswordChange::Reset => "reset",
            },
            changed_at => at.to_rfc3339_opts(SecondsFormat::Secs, true),
            public_url => self.public_url.clone(),
        };
        self.render("password_changed", user.locale.as_deref(), ctx)
    }

    /// To the account: an identity at another provider was linked to it (`linked`) or
    /// removed from it.
    pub fn identity_change(
        &self,
        user: &User,
        linked: bool,
        provider: &str,
        email: Option<&str>,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Composed> {
        let ctx = context! {
            username => user.username.clone(),
            linked,
            provider => provider.to_owned(),
            email => email.map(str::to_owned),
            changed_at => at.to_rfc3339_opts(SecondsFormat::Secs, true),
            public_url => self.public_url.clone(),
        };
        let direction = if linked { "linked" } else { "removed" };
        self.render_with(
            "identity_change",
            user.locale.as_deref(),
            &[("change", Arg::from(direction))],
            ctx,
        )
    }

    /// To an administrator (whose account has `locale`): webhook endpoint `url` was
    /// disabled at `at` because it answered `410 Gone` (`gone`) or kept failing.
    #[allow(clippy::too_many_arguments)]
    pub fn webhook_disabled(
        &self,
        username: &str,
        locale: Option<&str>,
        webhook_id: uuid::Uuid,
        url: &str,
        gone: bool,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Composed> {
        let ctx = context! {
            username => username.to_owned(),
            webhook_id => webhook_id.to_string(),
            url => url.to_owned(),
            gone,
            disabled_at => at.to_rfc3339_opts(SecondsFormat::Secs, true),
            public_url => self.public_url.clone(),
        };
        self.render("webhook_disabled", locale, ctx)
    }

    /// A message whose template needs only the username, a link and how long it works.
    fn render(
        &self,
        name: &str,
        locale: Option<&str>,
        ctx: minijinja::Value,
    ) -> anyhow::Result<Composed> {
        self.render_with(name, locale, &[], ctx)
    }

    fn link_mail(
        &self,
        name: &str,
        user: &User,
        link: String,
        valid_for: ValidFor,
    ) -> anyhow::Result<Composed> {
        let ctx = context! {
            username => user.username.clone(),
            link,
            valid_for => self.valid_for(user.locale.as_deref(), valid_for),
        };
        self.render(name, user.locale.as_deref(), ctx)
    }

    /// Renders `name.txt` and `name.html` in the language of `locale`; the subject is
    /// the message `mail-NAME-subject` of `mail.ftl` (`_` in the name become `-`), with
    /// `subject_args`.
    fn render_with(
        &self,
        name: &str,
        locale: Option<&str>,
        subject_args: &[(&str, Arg)],
        ctx: minijinja::Value,
    ) -> anyhow::Result<Composed> {
        let language = language_of(locale);
        let key = format!("mail-{}-subject", name.replace('_', "-"));
        let subject = self
            .words
            .lookup(language, &key, subject_args)
            .ok_or_else(|| anyhow::anyhow!("no message {key} in locales/"))?;
        let ctx = context! {
            lang => language.tag(),
            brand => self.words.brand(),
            subject => &subject,
            ..ctx
        };
        let render = |file: String| {
            self.env
                .get_template(&file)
                .and_then(|template| template.render(&ctx))
                .map_err(|e| anyhow::anyhow!("rendering the mail template {file}: {e}"))
        };
        let text = render(format!("{name}.txt"))?;
        let html = render(format!("{name}.html"))?;
        Ok(Composed {
            subject,
            text,
            html,
        })
    }
}

#[cfg(test)]
mod tests;
