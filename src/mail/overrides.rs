//! The mail templates of `TEMPLATES_DIR/mail/` that replace built-in ones, and their
//! start-up check: every message is composed for a sample account in every language, so
//! that a replaced template that does not render stops start-up, naming its file.

use chrono::Utc;

use super::templates::{Composer, PasswordChange, TEMPLATES, ValidFor};
use crate::accounts::model::{Role, Tier, User};
use crate::config::{Config, TemplateArea, TemplateFile};
use crate::i18n::Language;

impl Composer {
    /// The composer of this deployment: its brand, and the templates of
    /// `TEMPLATES_DIR/mail/` in place of the built-in ones, each checked by composing
    /// every message in every language (one that fails stops start-up, naming the file).
    pub fn for_deployment(config: &Config) -> anyhow::Result<Composer> {
        let mut composer = Composer::new(&config.http.public_url)?;
        composer.use_brand(&config.brand.name);
        replace_templates(&mut composer, &config.brand.templates)?;
        Ok(composer)
    }
}

/// Puts the files of `TEMPLATES_DIR/mail/` in place of the built-in templates of the same
/// name, then composes every message with each; the first failure names its file.
fn replace_templates(composer: &mut Composer, files: &[TemplateFile]) -> anyhow::Result<()> {
    let mails: Vec<&TemplateFile> = files
        .iter()
        .filter(|f| f.area == TemplateArea::Mail)
        .collect();
    for file in &mails {
        if !TEMPLATES.iter().any(|(name, _)| *name == file.name) {
            anyhow::bail!(
                "TEMPLATES_DIR: {} replaces no built-in mail template (there is no mail/{})",
                file.path.display(),
                file.name
            );
        }
        composer
            .env
            .add_template_owned(file.name.clone(), file.source.clone())
            .map_err(|e| {
                anyhow::anyhow!(
                    "TEMPLATES_DIR: {} does not compile: {e}",
                    file.path.display()
                )
            })?;
    }
    for file in &mails {
        let stem = file.name.trim_end_matches(".html").trim_end_matches(".txt");
        for language in Language::ALL {
            compose_sample(composer, stem, language).map_err(|e| {
                anyhow::anyhow!(
                    "TEMPLATES_DIR: {} does not render ({}): {e:#}",
                    file.path.display(),
                    language.tag()
                )
            })?;
        }
    }
    Ok(())
}

/// An account of `language` to compose sample messages for.
pub(super) fn sample_user(language: Language) -> User {
    let now = Utc::now();
    User {
        id: uuid::Uuid::nil(),
        username: "sample".to_owned(),
        email: "sample@example.com".to_owned(),
        full_name: Some("Sample User".to_owned()),
        role: Role::User,
        tier: Tier::Basic,
        is_active: true,
        email_verified: true,
        pending_email: None,
        locale: Some(language.tag().to_owned()),
        created_at: now,
        updated_at: now,
        last_login_at: None,
    }
}

/// Composes message `name` (a template's name without `.txt`/`.html`) with sample values.
pub(super) fn compose_sample(
    composer: &Composer,
    name: &str,
    language: Language,
) -> anyhow::Result<()> {
    let user = sample_user(language);
    let now = Utc::now();
    let (token, valid_for) = ("sample-token", ValidFor::Minutes(30));
    let new_email = "new@example.com";
    match name {
        "password_reset" => composer.password_reset(&user, token, valid_for).map(drop),
        "email_verification" => composer
            .email_verification(&user, token, valid_for)
            .map(drop),
        "password_changed" => {
            composer.password_changed(&user, PasswordChange::Changed, now)?;
            composer
                .password_changed(&user, PasswordChange::Reset, now)
                .map(drop)
        }
        "email_change_confirm" => composer
            .email_change_confirm(&user, new_email, token, valid_for)
            .map(drop),
        "email_change_notice" => composer
            .email_change_notice(&user, new_email, token, valid_for, now)
            .map(drop),
        "email_changed_by_admin" => composer
            .email_changed_by_admin(&user, new_email, now)
            .map(drop),
        "identity_change" => {
            composer.identity_change(&user, true, "GitHub", Some(new_email), now)?;
            composer
                .identity_change(&user, false, "GitHub", None, now)
                .map(drop)
        }
        "webhook_disabled" => composer
            .webhook_disabled(
                &user.username,
                user.locale.as_deref(),
                uuid::Uuid::nil(),
                "https://hooks.example/roster",
                true,
                now,
            )
            .map(drop),
        "invitation" => composer.invitation(&user, token, valid_for).map(drop),
        other => anyhow::bail!("no sample for the mail template {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_mail_composes_in_every_language() {
        let composer = Composer::new("https://accounts.example").unwrap();
        for (name, _) in TEMPLATES {
            let stem = name.trim_end_matches(".html").trim_end_matches(".txt");
            for language in Language::ALL {
                compose_sample(&composer, stem, language)
                    .unwrap_or_else(|e| panic!("{name} ({language:?}): {e:#}"));
            }
        }
    }
}
