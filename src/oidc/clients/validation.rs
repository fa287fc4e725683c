//! What an administrator may register: [`ClientInput`] as the admin API and the CLI
//! receive it, checked by [`validate`] into [`ClientSettings`], naming every failing
//! field at once (`redirect_uris[1]`, `type`, ...).

use serde::Deserialize;
use utoipa::ToSchema;

use super::model::{Client, ClientType, GrantType};
use crate::error::{FieldError, Why};
use crate::i18n::message_key;
use crate::text::{Lines, refusal};

const MAX_NAME: usize = 100;
const MAX_URIS: usize = 20;
const MAX_URI_LEN: usize = 2000;
const MAX_SCOPES: usize = 50;
const MAX_SCOPE_LEN: usize = 100;
/// What a client may ask for when registered without `scopes`.
pub const DEFAULT_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
/// What a client may use when registered without `grant_types`.
pub const DEFAULT_GRANT_TYPES: [GrantType; 2] =
    [GrantType::AuthorizationCode, GrantType::RefreshToken];
/// ID token signing algorithms a client may ask for; the first is the default.
pub const ID_TOKEN_ALGORITHMS: [&str; 2] = ["RS256", "EdDSA"];

/// What an administrator registers, unchecked: the admin API's body and the CLI's
/// arguments. Every field is optional here so that [`validate`] can name every missing
/// or failing one at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    /// 1 to 100 characters. Required.
    pub name: Option<String>,
    /// `public` or `confidential`. Required.
    #[serde(rename = "type")]
    #[schema(value_type = Option<ClientType>)]
    pub client_type: Option<String>,
    /// Required (at least one) with `authorization_code`; at most 20. Each absolute,
    /// without fragment: `https`, `http` only on 127.0.0.1, [::1] or localhost, or a
    /// private-use scheme with a dot (`com.example.app:/callback`, RFC 8252).
    pub redirect_uris: Option<Vec<String>>,
    /// Same rules; default none.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Of `authorization_code`, `refresh_token`, `client_credentials` (confidential
    /// clients only); default `["authorization_code", "refresh_token"]`.
    #[schema(value_type = Option<Vec<GrantType>>)]
    pub grant_types: Option<Vec<String>>,
    /// RFC 6749 scope tokens, at most 50 of at most 100 characters; default
    /// `["openid", "profile", "email", "offline_access"]`. Other names are API scopes.
    pub scopes: Option<Vec<String>>,
    /// Default false.
    pub first_party: Option<bool>,
    /// `RS256` (default) or `EdDSA`.
    pub id_token_signed_response_alg: Option<String>,
}

impl ClientInput {
    /// This change over `current` (a stored client's settings): the fields given here
    /// replace those of `current`, the others stay. What `PATCH` means.
    pub fn over(self, current: ClientInput) -> ClientInput {
        ClientInput {
            name: self.name.or(current.name),
            client_type: self.client_type.or(current.client_type),
            redirect_uris: self.redirect_uris.or(current.redirect_uris),
            post_logout_redirect_uris: self
                .post_logout_redirect_uris
                .or(current.post_logout_redirect_uris),
            grant_types: self.grant_types.or(current.grant_types),
            scopes: self.scopes.or(current.scopes),
            first_party: self.first_party.or(current.first_party),
            id_token_signed_response_alg: self
                .id_token_signed_response_alg
                .or(current.id_token_signed_response_alg),
        }
    }
}

/// A checked [`ClientInput`]: what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    pub name: String,
    pub client_type: ClientType,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub first_party: bool,
    pub id_token_signed_response_alg: String,
}

impl ClientSettings {
    /// The settings of a stored client, as input (the base a change is merged onto).
    pub fn input_of(client: &Client) -> ClientInput {
        ClientInput {
            name: Some(client.name.clone()),
            client_type: Some(client.client_type.as_str().to_owned()),
            redirect_uris: Some(client.redirect_uris.clone()),
            post_logout_redirect_uris: Some(client.post_logout_redirect_uris.clone()),
            grant_types: Some(
                client
                    .grant_types
                    .iter()
                    .map(|g| g.as_str().to_owned())
                    .collect(),
            ),
            scopes: Some(client.scopes.clone()),
            first_party: Some(client.first_party),
            id_token_signed_response_alg: Some(client.id_token_signed_response_alg.clone()),
        }
    }
}

/// Checks every field of `input`, naming each failure (`redirect_uris[1]`, `type`, ...).
pub fn validate(input: &ClientInput) -> Result<ClientSettings, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = match input.name.as_deref().map(str::trim) {
        None => fail(&mut errors, "name", Why::required()),
        Some(name) => match refusal(name, Lines::One) {
            Some(why) => fail(&mut errors, "name", why),
            None if name.is_empty() || name.chars().count() > MAX_NAME => fail(
                &mut errors,
                "name",
                Why::new(
                    format!("must be 1 to {MAX_NAME} characters"),
                    message_key("field-length-between"),
                )
                .with("min", 1)
                .with("max", MAX_NAME),
            ),
            None => Some(name.to_owned()),
        },
    };
    let client_type = match input.client_type.as_deref() {
        None => fail(&mut errors, "type", Why::required()),
        Some(text) => ClientType::parse(text).or_else(|| {
            let why = Why::new(
                "must be `public` or `confidential`",
                message_key("field-client-type"),
            );
            fail(&mut errors, "type", why)
        }),
    };
    let grant_types = grant_types(input.grant_types.as_deref(), client_type, &mut errors);
    let redirect_uris = uris(input.redirect_uris.as_deref(), "redirect_uris", &mut errors);
    if grant_types
        .as_ref()
        .is_some_and(|g| g.contains(&GrantType::AuthorizationCode))
        && redirect_uris.as_ref().is_some_and(Vec::is_empty)
    {
        errors.push(
            Why::new(
                "at least one is required with the authorization_code grant",
                message_key("field-redirect-uris-needed"),
            )
            .at("redirect_uris"),
        );
    }
    let post_logout_redirect_uris = uris(
        input.post_logout_redirect_uris.as_deref(),
        "post_logout_redirect_uris",
        &mut errors,
    );
    let scopes = scopes(input.scopes.as_deref(), &mut errors);
    let alg = match input.id_token_signed_response_alg.as_deref() {
        None => Some(ID_TOKEN_ALGORITHMS[0].to_owned()),
        Some(alg) if ID_TOKEN_ALGORITHMS.contains(&alg) => Some(alg.to_owned()),
        Some(_) => fail(
            &mut errors,
            "id_token_signed_response_alg",
            Why::new(
                "must be `RS256` or `EdDSA`",
                message_key("field-id-token-algorithm"),
            ),
        ),
    };
    match (
        name,
        client_type,
        redirect_uris,
        post_logout_redirect_uris,
        grant_types,
        scopes,
        alg,
    ) {
        (
            Some(name),
            Some(client_type),
            Some(redirect),
            Some(logout),
            Some(grants),
            Some(scopes),
            Some(alg),
        ) if errors.is_empty() => Ok(ClientSettings {
            name,
            client_type,
            redirect_uris: redirect,
            post_logout_redirect_uris: logout,
            grant_types: grants,
            scopes,
            first_party: input.first_party.unwrap_or(false),
            id_token_signed_response_alg: alg,
        }),
        _ => Err(errors),
    }
}

fn fail<T>(errors: &mut Vec<FieldError>, field: &str, why: Why) -> Option<T> {
    errors.push(why.at(field));
    None
}

fn grant_types(
    given: Option<&[String]>,
    client_type: Option<ClientType>,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<GrantType>> {
    let Some(given) = given else {
        return Some(DEFAULT_GRANT_TYPES.to_vec());
    };
    let before = errors.len();
    let mut grants = Vec::new();
    for (i, text) in given.iter().enumerate() {
        match GrantType::parse(text) {
            Some(grant) if !grants.contains(&grant) => grants.push(grant),
            Some(_) => {}
            None => errors.push(
                Why::new(
                    "must be `authorization_code`, `refresh_token` or `client_credentials`",
                    message_key("field-grant-type"),
                )
                .at(format!("grant_types[{i}]")),
            ),
        }
    }
    if given.is_empty() {
        errors.push(
            Why::new(
                "must name at least one grant",
                message_key("field-grant-types-empty"),
            )
            .at("grant_types"),
        );
    }
    if client_type == Some(ClientType::Public) && grants.contains(&GrantType::ClientCredentials) {
        errors.push(
            Why::new(
                "client_credentials is only for confidential clients",
                message_key("field-grant-client-credentials-public"),
            )
            .at("grant_types"),
        );
    }
    (errors.len() == before).then_some(grants)
}

fn uris(
    given: Option<&[String]>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<String>> {
    let Some(given) = given else {
        return Some(Vec::new());
    };
    let before = errors.len();
    if given.len() > MAX_URIS {
        errors.push(at_most(MAX_URIS).at(field));
    }
    let mut uris: Vec<String> = Vec::new();
    for (i, uri) in given.iter().enumerate() {
        match redirect_uri_refusal(uri) {
            Some(why) => errors.push(why.at(format!("{field}[{i}]"))),
            None if !uris.contains(uri) => uris.push(uri.clone()),
            None => {}
        }
    }
    (errors.len() == before).then_some(uris)
}

/// Why `uri` may not be registered as a (post-logout) redirect URI, or `None`.
fn redirect_uri_refusal(uri: &str) -> Option<Why> {
    if uri.len() > MAX_URI_LEN {
        let why = Why::new(
            "must be at most 2000 characters",
            message_key("field-too-long"),
        );
        return Some(why.with("max", MAX_URI_LEN));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(Why::new(
            "must not contain spaces or control characters",
            message_key("field-spaces-or-control-characters"),
        ));
    }
    let Ok(parsed) = url::Url::parse(uri) else {
        return Some(Why::new(
            "must be an absolute URL",
            message_key("field-url-absolute"),
        ));
    };
    if parsed.fragment().is_some() {
        return Some(Why::new(
            "must not have a fragment",
            message_key("field-url-fragment"),
        ));
    }
    match parsed.scheme() {
        "https" if parsed.host().is_none() => {
            Some(Why::new("must name a host", message_key("field-url-host")))
        }
        "https" | "http" if !parsed.username().is_empty() || parsed.password().is_some() => {
            Some(Why::new(
                "must not carry a user name or password",
                message_key("field-url-credentials"),
            ))
        }
        "https" => None,
        "http" => match parsed.host() {
            Some(url::Host::Domain("localhost")) => None,
            Some(url::Host::Ipv4(ip)) if ip == std::net::Ipv4Addr::LOCALHOST => None,
            Some(url::Host::Ipv6(ip)) if ip == std::net::Ipv6Addr::LOCALHOST => None,
            _ => Some(Why::new(
                "must use https (http only on 127.0.0.1, [::1] or localhost)",
                message_key("field-redirect-uri-http"),
            )),
        },
        scheme if scheme.contains('.') => None,
        _ => Some(Why::new(
            "must use https, http on a loopback host, or a private-use scheme with a dot (com.example.app:/callback)",
            message_key("field-redirect-uri-scheme"),
        )),
    }
}

/// `at most {max}`: a list too long.
fn at_most(max: usize) -> Why {
    Why::new(format!("at most {max}"), message_key("field-at-most")).with("max", max)
}

fn scopes(given: Option<&[String]>, errors: &mut Vec<FieldError>) -> Option<Vec<String>> {
    let Some(given) = given else {
        return Some(DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect());
    };
    let before = errors.len();
    if given.len() > MAX_SCOPES {
        errors.push(at_most(MAX_SCOPES).at("scopes"));
    }
    let mut scopes: Vec<String> = Vec::new();
    for (i, scope) in given.iter().enumerate() {
        if !is_scope_token(scope) {
            errors.push(
                Why::new(
                    format!(
                        "must be 1 to {MAX_SCOPE_LEN} printable ASCII characters other than space, `\"` and `\\` (RFC 6749 §3.3)"
                    ),
                    message_key("field-client-scope"),
                )
                .with("max", MAX_SCOPE_LEN)
                .at(format!("scopes[{i}]")),
            );
        } else if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    (errors.len() == before).then_some(scopes)
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, here at most 100.
fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= MAX_SCOPE_LEN
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ClientInput {
        ClientInput {
            name: Some("App".into()),
            client_type: Some("confidential".into()),
            redirect_uris: Some(vec!["https://app.example/cb".into()]),
            ..ClientInput::default()
        }
    }

    #[test]
    fn redirect_uris_follow_the_native_and_web_rules() {
        for ok in [
            "https://app.example/cb?x=1",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "http://localhost/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(redirect_uri_refusal(ok), None, "{ok}");
        }
        for bad in [
            "http://app.example/cb",
            "https://app.example/cb#frag",
            "/relative",
            "javascript:alert(1)",
            "https://user:pw@app.example/",
            " https://app.example/cb",
            "myapp:/cb",
        ] {
            assert!(redirect_uri_refusal(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn validation_names_every_failing_field_and_applies_defaults() {
        let settings = validate(&input()).unwrap();
        assert_eq!(settings.grant_types, DEFAULT_GRANT_TYPES);
        assert_eq!(settings.scopes, DEFAULT_SCOPES);
        assert_eq!(settings.id_token_signed_response_alg, "RS256");
        assert!(!settings.first_party);
        let bad = ClientInput {
            name: Some(" ".into()),
            client_type: Some("public".into()),
            redirect_uris: Some(vec!["http://evil.example/".into()]),
            grant_types: Some(vec!["client_credentials".into(), "password".into()]),
            scopes: Some(vec!["ok".into(), "bad scope".into()]),
            id_token_signed_response_alg: Some("HS256".into()),
            ..ClientInput::default()
        };
        let mut fields: Vec<String> = validate(&bad)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        fields.sort();
        fields.dedup();
        assert_eq!(
            fields,
            [
                "grant_types",
                "grant_types[1]",
                "id_token_signed_response_alg",
                "name",
                "redirect_uris[0]",
                "scopes[1]"
            ]
        );
        let service = ClientInput {
            redirect_uris: None,
            grant_types: Some(vec!["client_credentials".into()]),
            ..input()
        };
        assert!(validate(&service).is_ok());
        let missing = validate(&ClientInput {
            redirect_uris: None,
            ..input()
        })
        .unwrap_err();
        assert_eq!(missing[0].field, "redirect_uris");
    }

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        assert!(is_scope_token("read:users"));
        assert!(is_scope_token("!#[]~"));
        for bad in ["", "a b", "quote\"", "back\\slash", "é", &"x".repeat(101)] {
            assert!(!is_scope_token(bad), "{bad}");
        }
    }
}
