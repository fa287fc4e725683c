//! `roster clients create|list|delete`: the registry of OpenID clients from the shell,
//! for an operator who sets up an application before any administrator can sign in, or
//! who scripts it. The commands go through the registry's own checks and audited changes,
//! as the admin API does (the audit records say `"via": "cli"`). A confidential client's
//! secret is printed once, at creation; `list` never shows a secret or its hash.

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::error::{ApiError, FieldError};
use crate::oidc::clients::{self, Actor, Client, ClientInput, ClientSecret};
use crate::oidc::clients_api::ClientWithSecret;

use super::context::Context;

/// The exit status when the registry refuses an argument, as clap's for a malformed one.
const REFUSED_ARGUMENTS: u8 = 2;

/// `roster clients ...`: the command line of the client registry.
#[derive(Debug, clap::Subcommand)]
pub enum ClientsCommand {
    /// Register a client; print its client_id and, when confidential, its secret.
    ///
    /// The secret is shown only this once (only its hash is stored). Every refused
    /// argument is named by its flag. Exit status: 0 when registered, 2 when an argument
    /// is refused (nothing is registered), 1 on any other error.
    Create {
        /// Shown to users on the consent page; 1 to 100 characters.
        #[arg(long)]
        name: String,
        /// `confidential` (a server, which keeps a secret) or `public` (a browser or
        /// native app, which proves itself with PKCE).
        #[arg(long = "type", value_name = "TYPE")]
        client_type: String,
        /// Where the authorization endpoint may send the browser back, matched exactly;
        /// repeat for several. At least one with the authorization_code grant. https;
        /// http only on 127.0.0.1, [::1] or localhost; or a private-use scheme with a
        /// dot (com.example.app:/callback).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// Where RP-initiated logout may send the browser back; repeatable, same rules.
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// authorization_code, refresh_token or client_credentials (confidential
        /// clients only); repeatable. Default: authorization_code and refresh_token.
        #[arg(long = "grant-type", value_name = "GRANT")]
        grant_types: Vec<String>,
        /// A scope the client may ask for; repeatable. Default: openid, profile, email,
        /// offline_access. Other names are API scopes.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// A trusted application of your own: its users are not asked for consent.
        #[arg(long)]
        first_party: bool,
        /// Print the client as the admin API answers it (JSON, secret included).
        #[arg(long)]
        json: bool,
    },
    /// List the clients by name. Never shows a secret.
    ///
    /// One tab-separated line per client: client_id, name, type, first party, redirect
    /// URIs (`-` when none).
    List {
        /// Print a JSON array of the clients as the admin API shows them.
        #[arg(long)]
        json: bool,
    },
    /// Delete a client and revoke every session issued to it.
    ///
    /// Its users' access and refresh tokens are refused from now on; its codes and grants
    /// go with it. Exit status 1 when no client has this id.
    Delete {
        /// The client_id, as `roster clients list` shows it (clients registered before ids
        /// were hex may begin with `-`: taken as the id, not as a flag).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
}

/// Runs `roster clients ACTION`.
pub async fn run_clients(context: &Context, action: ClientsCommand) -> anyhow::Result<ExitCode> {
    match action {
        ClientsCommand::Create {
            name,
            client_type,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            first_party,
            json,
        } => {
            let input = ClientInput {
                name: Some(name),
                client_type: Some(client_type),
                redirect_uris: Some(redirect_uris),
                post_logout_redirect_uris: Some(post_logout_redirect_uris),
                grant_types: (!grant_types.is_empty()).then_some(grant_types),
                scopes: (!scopes.is_empty()).then_some(scopes),
                first_party: Some(first_party),
                id_token_signed_response_alg: None,
            };
            create_client(context, &input, json).await
        }
        ClientsCommand::List { json } => list_clients(context, json).await,
        ClientsCommand::Delete { client_id } => delete_client(context, &client_id).await,
    }
}

/// `roster clients create`: registers the client `input` describes and prints its id
/// and, for a confidential client, its secret (the only time it is shown). When the
/// registry refuses arguments, every one is named by its flag on standard error and the
/// exit status is 2; nothing is registered.
pub async fn create_client(
    context: &Context,
    input: &ClientInput,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match clients::register(&context.db, input, Actor::Cli, context.clock.now()).await {
        Ok((client, secret)) => {
            if json {
                if secret.is_some() {
                    eprintln!("{}", shown_once(&client.client_id));
                }
                println!("{}", created_json(client, secret)?);
            } else {
                print!("{}", created_text(&client, secret.as_ref()));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(ApiError::Validation(errors)) => {
            eprintln!("roster: the client was not registered:");
            for refusal in refusals(input, &errors) {
                eprintln!("  {refusal}");
            }
            Ok(ExitCode::from(REFUSED_ARGUMENTS))
        }
        Err(e) => Err(e.into()),
    }
}

/// `roster clients list`: every client, by name, one per line (or a JSON array of the
/// admin API's client objects); never a secret.
pub async fn list_clients(context: &Context, json: bool) -> anyhow::Result<ExitCode> {
    let clients = clients::list_all(&context.db).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&clients)?);
    } else {
        print!("{}", listing(&clients));
    }
    Ok(ExitCode::SUCCESS)
}

/// `roster clients delete`: deletes the client and revokes every session issued to it,
/// so its users' access and refresh tokens are refused from now on. An unknown id is an
/// error (exit status 1).
pub async fn delete_client(context: &Context, client_id: &str) -> anyhow::Result<ExitCode> {
    let unknown =
        || anyhow::anyhow!("no client has the id {client_id:?} (see `roster clients list`)");
    let client = clients::find(&context.db, client_id)
        .await?
        .ok_or_else(unknown)?;
    let revoked = clients::delete(&context.db, client_id, Actor::Cli, context.clock.now())
        .await?
        .ok_or_else(unknown)?;
    println!(
        "deleted client {} ({:?}); revoked its {revoked} live session(s): their tokens are refused from now on",
        client.client_id, client.name
    );
    Ok(ExitCode::SUCCESS)
}

fn shown_once(client_id: &str) -> String {
    format!(
        "The client secret is shown only this once: only its hash is stored. Keep it now; if it is lost, rotate it (POST /api/v1/admin/clients/{client_id}/secret)."
    )
}

fn created_text(client: &Client, secret: Option<&ClientSecret>) -> String {
    let mut text = format!(
        "registered {} client {:?}\nclient_id: {}\n",
        client.client_type.as_str(),
        client.name,
        client.client_id
    );
    match secret {
        Some(secret) => {
            let _ = writeln!(
                text,
                "client_secret: {}\n{}",
                secret.expose(),
                shown_once(&client.client_id)
            );
        }
        None => text.push_str("(a public client has no secret: it proves itself with PKCE)\n"),
    }
    text
}

fn created_json(client: Client, secret: Option<ClientSecret>) -> serde_json::Result<String> {
    serde_json::to_string_pretty(&ClientWithSecret {
        client,
        client_secret: secret.map(|s| s.expose().to_owned()),
    })
}

/// A tab-separated table with a header: id, name, type, first party, redirect URIs
/// (space-separated; names cannot hold tabs or line breaks, URIs no spaces).
fn listing(clients: &[Client]) -> String {
    if clients.is_empty() {
        return "no clients are registered\n".to_owned();
    }
    let mut text = "client_id\tname\ttype\tfirst_party\tredirect_uris\n".to_owned();
    for client in clients {
        let redirect_uris = if client.redirect_uris.is_empty() {
            "-".to_owned()
        } else {
            client.redirect_uris.join(" ")
        };
        let _ = writeln!(
            text,
            "{}\t{}\t{}\t{}\t{redirect_uris}",
            client.client_id,
            client.name,
            client.client_type.as_str(),
            if client.first_party { "yes" } else { "no" },
        );
    }
    text
}

/// The flag of `roster clients create` that gives an input field.
fn flag_of(field: &str) -> &str {
    match field {
        "name" => "--name",
        "type" => "--type",
        "redirect_uris" => "--redirect-uri",
        "post_logout_redirect_uris" => "--post-logout-redirect-uri",
        "grant_types" => "--grant-type",
        "scopes" => "--scope",
        "first_party" => "--first-party",
        other => other,
    }
}

/// What was given for `field` (the `index`th value of a repeated flag).
fn given<'a>(input: &'a ClientInput, field: &str, index: Option<usize>) -> Option<&'a str> {
    let values = match field {
        "name" => return input.name.as_deref(),
        "type" => return input.client_type.as_deref(),
        "redirect_uris" => input.redirect_uris.as_ref(),
        "post_logout_redirect_uris" => input.post_logout_redirect_uris.as_ref(),
        "grant_types" => input.grant_types.as_ref(),
        "scopes" => input.scopes.as_ref(),
        _ => None,
    };
    values?.get(index?).map(String::as_str)
}

/// Each refused field as its flag, the value given when it names one, and why:
/// `--redirect-uri "http://app.example/cb": must use https (...)`.
fn refusals(input: &ClientInput, errors: &[FieldError]) -> Vec<String> {
    errors
        .iter()
        .map(|error| {
            let (field, index) = match error.field.split_once('[') {
                Some((field, rest)) => (field, rest.trim_end_matches(']').parse().ok()),
                None => (error.field.as_str(), None),
            };
            match given(input, field, index) {
                Some(value) => format!("{} {value:?}: {}", flag_of(field), error.message),
                None => format!("{}: {}", flag_of(field), error.message),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_flag_and_the_value_given() {
        let input = ClientInput {
            name: Some(" ".into()),
            client_type: Some("public".into()),
            redirect_uris: Some(vec![
                "https://app.example/cb".into(),
                "http://app.example/cb".into(),
            ]),
            grant_types: Some(vec!["client_credentials".into()]),
            scopes: Some(vec!["bad scope".into()]),
            ..ClientInput::default()
        };
        let errors = clients::validate(&input).unwrap_err();
        let lines = refusals(&input, &errors);
        for expected in [
            "--name \" \": must be 1 to 100 characters",
            "--redirect-uri \"http://app.example/cb\": must use https",
            "--grant-type: client_credentials is only for confidential clients",
            "--scope \"bad scope\": must be",
        ] {
            assert!(
                lines.iter().any(|line| line.starts_with(expected)),
                "{expected} in {lines:#?}"
            );
        }
        assert_eq!(lines.len(), errors.len());
    }

    #[test]
    fn the_listing_shows_no_secret_and_marks_missing_uris() {
        let input = ClientInput {
            name: Some("Billing".into()),
            client_type: Some("confidential".into()),
            grant_types: Some(vec!["client_credentials".into()]),
            ..ClientInput::default()
        };
        let settings = clients::validate(&input).unwrap();
        let now = chrono::Utc::now();
        let client = Client {
            client_id: "abc".into(),
            name: settings.name,
            client_type: settings.client_type,
            redirect_uris: settings.redirect_uris,
            post_logout_redirect_uris: settings.post_logout_redirect_uris,
            grant_types: settings.grant_types,
            scopes: settings.scopes,
            first_party: settings.first_party,
            id_token_signed_response_alg: settings.id_token_signed_response_alg,
            created_at: now,
            updated_at: now,
        };
        assert_eq!(
            listing(&[client]),
            "client_id\tname\ttype\tfirst_party\tredirect_uris\nabc\tBilling\tconfidential\tno\t-\n"
        );
        assert_eq!(listing(&[]), "no clients are registered\n");
    }
}
