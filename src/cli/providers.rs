//! `roster providers add|list|remove`: the identity providers users may sign in with,
//! from the shell. The commands go through the registry's own checks, discovery and
//! audited changes, as the admin API does (the audit records say `"via": "cli"`). The
//! client secret is read from `ROSTER_PROVIDER_CLIENT_SECRET` or standard input (Apple's
//! key from the file `--private-key-file` names), never from an argument (arguments are
//! visible to every user of the machine), and never printed.

use std::fmt::Write as _;
use std::process::ExitCode;

use uuid::Uuid;

use super::context::Context;
use crate::crypto::Cipher;
use crate::error::{ApiError, FieldError};
use crate::federation::providers::input::{ProviderInput, validate};
use crate::federation::providers::{self, Actor, Provider};
use crate::federation::upstream::Upstream;

/// The exit status when the registry refuses an argument, as clap's for a malformed one.
const REFUSED_ARGUMENTS: u8 = 2;

/// `roster providers ...`: the command line of the identity-provider registry.
#[derive(Debug, clap::Subcommand)]
pub enum ProvidersCommand {
    /// Add an identity provider; users then find its button on the sign-in page.
    ///
    /// The client secret is read from ROSTER_PROVIDER_CLIENT_SECRET, or else from the
    /// first line of standard input; it is sealed at rest and never shown. Exit status:
    /// 0 when added, 2 when an argument is refused (each named by its flag; nothing is
    /// added), 1 on any other error.
    Add {
        /// The name in /login/{slug}: a-z, 0-9 and -.
        #[arg(long)]
        slug: String,
        /// oidc, google, apple, microsoft, github or gitlab.
        #[arg(long)]
        kind: String,
        /// The button's text.
        #[arg(long)]
        display_name: String,
        /// Roster's client id at the provider.
        #[arg(long)]
        client_id: String,
        /// The provider's issuer (required for oidc and microsoft): https, or http on a
        /// loopback host. Its discovery document is read.
        #[arg(long)]
        issuer: Option<String>,
        /// A scope to ask for; repeatable. Default: openid, email, profile.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// never, verified or authoritative (default: authoritative for google,
        /// verified otherwise).
        #[arg(long)]
        trust_email: Option<String>,
        /// Unknown identities may not create accounts.
        #[arg(long)]
        no_signup: bool,
        /// apple: the Team ID of Apple's developer account.
        #[arg(long)]
        team_id: Option<String>,
        /// apple: the Key ID of the Sign in with Apple key.
        #[arg(long)]
        key_id: Option<String>,
        /// apple: the key's .p8 file, read in place of the client secret.
        #[arg(long, value_name = "PATH")]
        private_key_file: Option<std::path::PathBuf>,
    },
    /// List the identity providers by slug (never a secret).
    ///
    /// One tab-separated line per provider: id, slug, kind, issuer, trust, enabled.
    List {
        /// Print a JSON array of the providers as the admin API shows them.
        #[arg(long)]
        json: bool,
    },
    /// Remove an identity provider, named by its slug or id.
    ///
    /// Its identities stay with their accounts; a provider added again with the same
    /// issuer signs them in again. Exit status 1 when there is no such provider.
    Remove {
        /// The slug or id, as `roster providers list` shows it.
        provider: String,
    },
}

/// The environment variable `roster providers add` reads the client secret from.
pub const CLIENT_SECRET_VARIABLE: &str = "ROSTER_PROVIDER_CLIENT_SECRET";

/// The client secret: `ROSTER_PROVIDER_CLIENT_SECRET`, or the first line of standard
/// input.
fn read_client_secret() -> anyhow::Result<String> {
    if let Ok(secret) = std::env::var(CLIENT_SECRET_VARIABLE) {
        return Ok(secret);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Runs `roster providers ACTION`.
pub async fn run_providers(
    context: &Context,
    action: ProvidersCommand,
) -> anyhow::Result<ExitCode> {
    match action {
        ProvidersCommand::Add {
            slug,
            kind,
            display_name,
            client_id,
            issuer,
            scopes,
            trust_email,
            no_signup,
            team_id,
            key_id,
            private_key_file,
        } => {
            let client_secret = match private_key_file {
                Some(path) => std::fs::read_to_string(&path)
                    .map_err(|e| anyhow::anyhow!("--private-key-file {}: {e}", path.display()))?,
                None => read_client_secret()?,
            };
            let input = ProviderInput {
                slug: Some(slug),
                kind: Some(kind),
                display_name: Some(display_name),
                client_id: Some(client_id),
                client_secret: Some(client_secret),
                team_id,
                key_id,
                issuer,
                scopes: (!scopes.is_empty()).then_some(scopes),
                trust_email,
                allow_signup: Some(!no_signup),
            };
            let key =
                crate::secrets::verified_key(&context.config, &context.db, context.clock.now())
                    .await?;
            add_provider(context, &Cipher::new(&key), &input).await
        }
        ProvidersCommand::List { json } => {
            let all = providers::list_all(&context.db).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                print!("{}", listing(&all));
            }
            Ok(ExitCode::SUCCESS)
        }
        ProvidersCommand::Remove { provider } => remove_provider(context, &provider).await,
    }
}

/// `roster providers add`.
pub async fn add_provider(
    context: &Context,
    cipher: &Cipher,
    input: &ProviderInput,
) -> anyhow::Result<ExitCode> {
    let refused = |errors: &[FieldError]| {
        eprintln!("roster: the provider was not added:");
        for error in errors {
            eprintln!("  {}: {}", flag_of(&error.field), error.message);
        }
        Ok(ExitCode::from(REFUSED_ARGUMENTS))
    };
    let settings = match validate(input) {
        Ok(settings) => settings,
        Err(errors) => return refused(&errors),
    };
    let endpoints = match &settings.endpoints {
        Some(endpoints) => endpoints.clone(),
        None => match Upstream::new()?.discover(&settings.issuer).await {
            Ok(endpoints) => endpoints,
            Err(why) => return refused(&[FieldError::new("issuer", why)]),
        },
    };
    let now = context.clock.now();
    match providers::add(&context.db, cipher, &settings, &endpoints, Actor::Cli, now).await {
        Ok(provider) => {
            println!(
                "added {} provider {:?} at /login/{}\nid: {}\nissuer: {}",
                provider.kind.as_str(),
                provider.display_name,
                provider.slug,
                provider.id,
                provider.issuer
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(ApiError::Conflict { why, field }) => {
            refused(&[why.at(field.unwrap_or_else(|| "slug".to_owned()))])
        }
        Err(e) => Err(e.into()),
    }
}

/// `roster providers remove`.
async fn remove_provider(context: &Context, named: &str) -> anyhow::Result<ExitCode> {
    let found = match Uuid::parse_str(named) {
        Ok(id) => providers::find(&context.db, id).await?,
        Err(_) => providers::find_by_slug(&context.db, named).await?,
    };
    let unknown =
        || anyhow::anyhow!("no provider is named {named:?} (see `roster providers list`)");
    let stored = found.ok_or_else(unknown)?;
    let removed = providers::remove(
        &context.db,
        stored.provider.id,
        Actor::Cli,
        context.clock.now(),
    )
    .await?
    .ok_or_else(unknown)?;
    println!(
        "removed provider {} ({:?}); the identities linked through it stay with their accounts",
        removed.slug, removed.display_name
    );
    Ok(ExitCode::SUCCESS)
}

/// The flag of `roster providers add` that gives an input field.
fn flag_of(field: &str) -> &str {
    match field {
        "slug" => "--slug",
        "kind" => "--kind",
        "display_name" => "--display-name",
        "client_id" => "--client-id",
        "client_secret" => "ROSTER_PROVIDER_CLIENT_SECRET (or --private-key-file)",
        "team_id" => "--team-id",
        "key_id" => "--key-id",
        "issuer" => "--issuer",
        "trust_email" => "--trust-email",
        field if field.starts_with("scopes") => "--scope",
        other => other,
    }
}

/// A tab-separated table with a header.
fn listing(all: &[Provider]) -> String {
    if all.is_empty() {
        return "no identity providers are set up\n".to_owned();
    }
    let mut text = "id\tslug\tkind\tissuer\ttrust_email\tenabled\n".to_owned();
    for provider in all {
        let _ = writeln!(
            text,
            "{}\t{}\t{}\t{}\t{}\t{}",
            provider.id,
            provider.slug,
            provider.kind.as_str(),
            provider.issuer,
            provider.trust_email.as_str(),
            if provider.enabled { "yes" } else { "no" },
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_fields_are_named_by_their_flags() {
        let input = ProviderInput {
            slug: Some("Bad Slug".into()),
            kind: Some("saml".into()),
            display_name: Some("Acme".into()),
            client_id: Some("roster".into()),
            client_secret: Some(String::new()),
            scopes: Some(vec!["email".into()]),
            ..ProviderInput::default()
        };
        let errors = validate(&input).unwrap_err();
        let mut flags: Vec<&str> = errors.iter().map(|e| flag_of(&e.field)).collect();
        flags.sort_unstable();
        flags.dedup();
        assert_eq!(
            flags,
            [
                "--kind",
                "--scope",
                "--slug",
                "ROSTER_PROVIDER_CLIENT_SECRET (or --private-key-file)"
            ]
        );
    }
}
