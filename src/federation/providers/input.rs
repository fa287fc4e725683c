//! What an administrator may register as an identity provider: [`ProviderInput`] (the
//! admin API's `POST` body and the CLI's arguments) and [`ProviderChange`] (`PATCH`),
//! checked into [`ProviderSettings`] naming every failing field at once, with what the
//! kind's preset ([`super::kinds`]) fills in.

use serde::Deserialize;
use utoipa::ToSchema;

use super::apple_key::AppleKey;
use super::kinds::preset;
pub use super::kinds::{Endpoints, ProviderKind, TrustEmail};
use crate::error::{FieldError, Why};
use crate::i18n::message_key;
use crate::text::{Lines, refusal};

const MAX_SLUG: usize = 40;
const MAX_DISPLAY_NAME: usize = 100;
const MAX_CLIENT_ID: usize = 255;
const MAX_CLIENT_SECRET: usize = 2048;
const MAX_SCOPES: usize = 20;
const MAX_SCOPE_LEN: usize = 100;
const MAX_URL_LEN: usize = 2000;
/// Slugs that name Roster's own pages under `/login/`.
const RESERVED_SLUGS: [&str; 2] = ["link", "passkey-options"];

/// A new identity provider, unchecked: every field optional here so that validation can
/// name every missing or failing one at once.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    /// The name in `/login/{slug}`: 1 to 40 of `a-z`, `0-9` and `-`, starting with a
    /// letter or digit. Required, unique (409 when taken).
    pub slug: Option<String>,
    /// `oidc`, or a preset: `google`, `apple`, `microsoft`, `github`, `gitlab`. Required.
    #[schema(value_type = Option<ProviderKind>)]
    pub kind: Option<String>,
    /// The button's text, 1 to 100 characters. Required.
    pub display_name: Option<String>,
    /// Roster's client id at the provider. Required.
    pub client_id: Option<String>,
    /// Roster's client secret at the provider. Required; sealed at rest, never shown.
    /// For `apple`: the text of the `.p8` key file from Apple's developer console (line
    /// breaks optional); Roster signs a short-lived client secret with it per exchange.
    pub client_secret: Option<String>,
    /// `apple` only, and required there: the Team ID (10 characters).
    pub team_id: Option<String>,
    /// `apple` only, and required there: the Key ID of the `.p8` key (10 characters).
    pub key_id: Option<String>,
    /// The provider's issuer: `https`, or `http` on a loopback host. Required for kind
    /// `oidc` (its discovery document is read from it) and `microsoft` (the tenant's
    /// issuer); for `google` and `gitlab` the public issuer unless given (a self-hosted
    /// GitLab); for `github`, `https://github.com` unless given: a GitHub Enterprise
    /// Server's base URL, whose endpoints are `/login/oauth/authorize`,
    /// `/login/oauth/access_token` and `/api/v3/user` under it.
    pub issuer: Option<String>,
    /// Scopes to ask for; must include `openid` (except for `github`, which speaks
    /// OAuth 2). Default `["openid", "email", "profile"]`, for `github`
    /// `["read:user", "user:email"]`.
    pub scopes: Option<Vec<String>>,
    /// `never`, `verified` or `authoritative`. Default `authoritative` for `google`,
    /// `verified` for every other kind.
    #[schema(value_type = Option<TrustEmail>)]
    pub trust_email: Option<String>,
    /// Whether an unknown identity may create an account. Default true.
    pub allow_signup: Option<bool>,
}

/// A change to a provider (`PATCH`): the fields given replace the stored ones. The slug,
/// kind and issuer are fixed (identities are keyed by the issuer): remove the provider
/// and add it again to change them.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderChange {
    pub display_name: Option<String>,
    pub client_id: Option<String>,
    /// A new secret (sealed at rest, never shown). For `apple`, a new key: give
    /// `team_id` and `key_id` with it.
    pub client_secret: Option<String>,
    /// `apple`: the Team ID, with a new key.
    pub team_id: Option<String>,
    /// `apple`: the new key's Key ID.
    pub key_id: Option<String>,
    pub scopes: Option<Vec<String>>,
    #[schema(value_type = Option<TrustEmail>)]
    pub trust_email: Option<String>,
    pub allow_signup: Option<bool>,
    /// `false` hides the provider's button and refuses sign-ins through it.
    pub enabled: Option<bool>,
}

/// A checked provider, before its endpoints are known.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub slug: String,
    pub kind: ProviderKind,
    pub display_name: String,
    pub client_id: String,
    pub client_secret: String,
    pub issuer: String,
    /// Known from the preset; None: read from the issuer's discovery document.
    pub endpoints: Option<Endpoints>,
    pub scopes: Vec<String>,
    pub trust_email: TrustEmail,
    pub allow_signup: bool,
}

/// Checks `input`, naming every failing field.
pub fn validate(input: &ProviderInput) -> Result<ProviderSettings, Vec<FieldError>> {
    let mut errors = Vec::new();
    let slug = required(&mut errors, "slug", input.slug.as_deref()).and_then(|slug| {
        check_slug(slug)
            .map_err(|why| errors.push(why.at("slug")))
            .ok()
    });
    let kind = required(&mut errors, "kind", input.kind.as_deref()).and_then(|kind| {
        match ProviderKind::parse(kind) {
            Some(kind) => Some(kind),
            None => {
                errors.push(
                    Why::new(
                        "must be one of oidc, google, apple, microsoft, github, gitlab",
                        message_key("field-provider-kind"),
                    )
                    .at("kind"),
                );
                None
            }
        }
    });
    let preset = kind.and_then(|kind| match preset(kind) {
        Ok(preset) => Some(preset),
        Err(why) => {
            errors.push(FieldError::new("kind", why));
            None
        }
    });
    let display_name = required(&mut errors, "display_name", input.display_name.as_deref())
        .and_then(|name| check_display_name(&mut errors, name));
    let client_id = required(&mut errors, "client_id", input.client_id.as_deref())
        .and_then(|id| check_client_id(&mut errors, id));
    let client_secret = required(&mut errors, "client_secret", input.client_secret.as_deref())
        .and_then(|secret| {
            let ids = (input.team_id.as_deref(), input.key_id.as_deref());
            check_credentials(&mut errors, kind, secret, ids)
        });
    let issuer = match (&preset, input.issuer.as_deref()) {
        (Some(_), Some(given)) => check_url(given)
            .map_err(|why| errors.push(why.at("issuer")))
            .ok(),
        (Some(preset), None) => match preset.issuer {
            Some(issuer) => Some(issuer.to_owned()),
            None => {
                let key = match kind {
                    Some(ProviderKind::Microsoft) => message_key("field-provider-issuer-microsoft"),
                    _ => message_key("field-provider-issuer-oidc"),
                };
                errors.push(Why::new(preset.issuer_needed, key).at("issuer"));
                None
            }
        },
        (None, Some(given)) => {
            if let Err(why) = check_url(given) {
                errors.push(why.at("issuer"));
            }
            None
        }
        (None, None) => None,
    };
    let scopes = match (input.scopes.as_deref(), &preset) {
        (Some(given), _) => {
            check_scopes(&mut errors, given, kind.is_none_or(|k| k.speaks_openid()))
        }
        (None, Some(preset)) => Some(
            preset
                .default_scopes
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        ),
        (None, None) => None,
    };
    let trust_email = match input.trust_email.as_deref() {
        Some(text) => check_trust(&mut errors, text),
        None => preset.as_ref().map(|preset| preset.trust),
    };
    match (
        slug,
        kind,
        preset,
        display_name,
        client_id,
        client_secret,
        issuer,
        scopes,
        trust_email,
    ) {
        (
            Some(slug),
            Some(kind),
            Some(preset),
            Some(display_name),
            Some(client_id),
            Some(client_secret),
            Some(issuer),
            Some(scopes),
            Some(trust_email),
        ) if errors.is_empty() => {
            let endpoints = (preset.endpoints)(&issuer);
            Ok(ProviderSettings {
                slug: slug.to_owned(),
                kind,
                display_name,
                client_id,
                client_secret,
                issuer,
                endpoints,
                scopes,
                trust_email,
                allow_signup: input.allow_signup.unwrap_or(true),
            })
        }
        _ => Err(errors),
    }
}

/// The checked fields of a change (each None when not given), or every failing field.
pub struct CheckedChange {
    pub display_name: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub trust_email: Option<TrustEmail>,
    pub allow_signup: Option<bool>,
    pub enabled: Option<bool>,
}

/// Checks a change of a provider of `kind`.
pub fn validate_change(
    change: &ProviderChange,
    kind: ProviderKind,
) -> Result<CheckedChange, Vec<FieldError>> {
    let mut errors = Vec::new();
    let ids = (change.team_id.as_deref(), change.key_id.as_deref());
    if change.client_secret.is_none() && ids != (None, None) {
        errors.push(
            Why::new(
                "is required with team_id and key_id (the key they name)",
                message_key("field-provider-secret-with-ids"),
            )
            .at("client_secret"),
        );
    }
    let checked = CheckedChange {
        display_name: change
            .display_name
            .as_deref()
            .and_then(|name| check_display_name(&mut errors, name)),
        client_id: change
            .client_id
            .as_deref()
            .and_then(|id| check_client_id(&mut errors, id)),
        client_secret: change
            .client_secret
            .as_deref()
            .and_then(|secret| check_credentials(&mut errors, Some(kind), secret, ids)),
        scopes: match &change.scopes {
            Some(scopes) => check_scopes(&mut errors, scopes, kind.speaks_openid()),
            None => None,
        },
        trust_email: change
            .trust_email
            .as_deref()
            .and_then(|text| check_trust(&mut errors, text)),
        allow_signup: change.allow_signup,
        enabled: change.enabled,
    };
    if errors.is_empty() {
        Ok(checked)
    } else {
        Err(errors)
    }
}

fn required<'a>(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<&'a str>,
) -> Option<&'a str> {
    if value.is_none() {
        errors.push(Why::required().at(field));
    }
    value
}

fn check_slug(slug: &str) -> Result<&str, Why> {
    let shaped = (1..=MAX_SLUG).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if !shaped {
        return Err(Why::new(
            "must be 1 to 40 of a-z, 0-9 and -, starting with a letter or digit",
            message_key("field-provider-slug"),
        )
        .with("max", MAX_SLUG));
    }
    if RESERVED_SLUGS.contains(&slug) {
        return Err(Why::new(
            "names one of Roster's own pages; choose another",
            message_key("field-provider-slug-reserved"),
        ));
    }
    Ok(slug)
}

fn check_display_name(errors: &mut Vec<FieldError>, name: &str) -> Option<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_DISPLAY_NAME {
        errors.push(
            Why::new(
                format!("must be 1 to {MAX_DISPLAY_NAME} characters"),
                message_key("field-length-between"),
            )
            .with("min", 1)
            .with("max", MAX_DISPLAY_NAME)
            .at("display_name"),
        );
        return None;
    }
    if let Some(why) = refusal(name, Lines::One) {
        errors.push(why.at("display_name"));
        return None;
    }
    Some(name.to_owned())
}

fn check_client_id(errors: &mut Vec<FieldError>, id: &str) -> Option<String> {
    if id.is_empty() || id.len() > MAX_CLIENT_ID || id.chars().any(char::is_control) {
        errors.push(
            Why::new(
                format!("must be 1 to {MAX_CLIENT_ID} bytes without control characters"),
                message_key("field-provider-credential"),
            )
            .with("max", MAX_CLIENT_ID)
            .at("client_id"),
        );
        return None;
    }
    Some(id.to_owned())
}

fn check_client_secret(errors: &mut Vec<FieldError>, secret: &str) -> Option<String> {
    if secret.is_empty() || secret.len() > MAX_CLIENT_SECRET || secret.chars().any(char::is_control)
    {
        errors.push(
            Why::new(
                format!("must be 1 to {MAX_CLIENT_SECRET} bytes without control characters"),
                message_key("field-provider-credential"),
            )
            .with("max", MAX_CLIENT_SECRET)
            .at("client_secret"),
        );
        return None;
    }
    Some(secret.to_owned())
}

/// What is sealed as the provider's secret: the client secret as given, or for `apple`
/// its key with the team and key ids (`ids`), which other kinds refuse.
fn check_credentials(
    errors: &mut Vec<FieldError>,
    kind: Option<ProviderKind>,
    secret: &str,
    (team_id, key_id): (Option<&str>, Option<&str>),
) -> Option<String> {
    if kind == Some(ProviderKind::Apple) {
        return AppleKey::check(errors, team_id, key_id, secret).map(|key| key.sealed_text());
    }
    for (field, value) in [("team_id", team_id), ("key_id", key_id)] {
        if value.is_some() {
            errors.push(
                Why::new(
                    "is only for kind apple",
                    message_key("field-provider-apple-only"),
                )
                .at(field),
            );
        }
    }
    check_client_secret(errors, secret)
}

fn check_trust(errors: &mut Vec<FieldError>, text: &str) -> Option<TrustEmail> {
    let trust = TrustEmail::parse(text);
    if trust.is_none() {
        errors.push(
            Why::new(
                "must be one of never, verified, authoritative",
                message_key("field-provider-trust-email"),
            )
            .at("trust_email"),
        );
    }
    trust
}

fn check_scopes(
    errors: &mut Vec<FieldError>,
    scopes: &[String],
    needs_openid: bool,
) -> Option<Vec<String>> {
    let before = errors.len();
    if scopes.len() > MAX_SCOPES {
        errors.push(
            Why::new(
                format!("at most {MAX_SCOPES} scopes"),
                message_key("field-provider-scopes-count"),
            )
            .with("max", MAX_SCOPES)
            .at("scopes"),
        );
    }
    for (index, scope) in scopes.iter().enumerate() {
        // RFC 6749 §3.3: %x21 / %x23-5B / %x5D-7E.
        let token = !scope.is_empty()
            && scope.len() <= MAX_SCOPE_LEN
            && scope
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        if !token {
            errors.push(
                Why::new(
                    format!("must be a scope token of 1 to {MAX_SCOPE_LEN} characters"),
                    message_key("field-provider-scope"),
                )
                .with("max", MAX_SCOPE_LEN)
                .at(format!("scopes[{index}]")),
            );
        }
    }
    if needs_openid && !scopes.iter().any(|scope| scope == "openid") {
        errors.push(
            Why::new(
                "must include openid",
                message_key("field-provider-scopes-openid"),
            )
            .at("scopes"),
        );
    }
    (errors.len() == before).then(|| scopes.to_vec())
}

/// An issuer or endpoint: absolute `https`, or `http` on a loopback host (development
/// and tests); no query, fragment or credentials.
pub fn check_url(text: &str) -> Result<String, Why> {
    if text.len() > MAX_URL_LEN {
        let why = Why::new(
            "must be at most 2000 characters",
            message_key("field-too-long"),
        );
        return Err(why.with("max", MAX_URL_LEN));
    }
    let url = url::Url::parse(text)
        .map_err(|_| Why::new("must be an absolute URL", message_key("field-url-absolute")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(Why::new(
                "must be https (http only on a loopback host)",
                message_key("field-provider-url-https"),
            ));
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Why::new(
            "must have no query or fragment",
            message_key("field-provider-url-query"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Why::new(
            "must not contain credentials",
            message_key("field-url-credentials"),
        ));
    }
    // The issuer exactly as given: ID tokens must name it character for character.
    Ok(text.to_owned())
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;
