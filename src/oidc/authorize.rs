//! The authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1): its
//! parameters read and checked in the order the standards prescribe. An unknown client
//! or a `redirect_uri` that is not one of the client's registered ones, character for
//! character, is shown on an error page and never redirected to (§4.1.2.1): the address
//! could be anyone's. Every later mistake is sent back to that registered address with
//! `error`, `error_description` and `state`.

use std::collections::HashMap;

use super::clients::{self, Client, GrantType};
use super::scope::Scopes;
use crate::db::Db;

const MAX_STATE: usize = 1024;
const MAX_NONCE: usize = 512;
const MAX_LOGIN_HINT: usize = 254;

/// What `prompt` asked for. `select_account` is accepted and means nothing here (a browser
/// has one account), so discovery does not list it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A checked authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client: Client,
    pub redirect_uri: String,
    pub scopes: Scopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The PKCE `S256` challenge (RFC 7636), when sent.
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// An ID token naming the user the client expects (checked by `flow` for `prompt=none`).
    pub id_token_hint: Option<String>,
    /// The parameters as received, to carry through the login and consent pages.
    pub params: Vec<(String, String)>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Told on an error page, never redirected.
    Page(String),
    /// Sent back to the client's registered `redirect_uri`.
    Redirect(ErrorRedirect),
}

/// An RFC 6749 §4.1.2.1 error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub error: &'static str,
    pub description: String,
    pub state: Option<String>,
}

impl AuthorizationRequest {
    /// The error answer to send back to this request's client.
    pub fn error(&self, error: &'static str, description: &str) -> ErrorRedirect {
        ErrorRedirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: self.state.clone(),
        }
    }

    /// The query string of this request with `value` taken out of `prompt`: where the
    /// sign-in and consent pages send the browser back to once they have done what that
    /// value asked for.
    pub fn query_without_prompt_value(&self, value: &str) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, text) in &self.params {
            if name == "prompt" {
                let rest: Vec<&str> = text
                    .split(' ')
                    .filter(|v| !v.is_empty() && *v != value)
                    .collect();
                if !rest.is_empty() {
                    query.append_pair(name, &rest.join(" "));
                }
            } else {
                query.append_pair(name, text);
            }
        }
        query.finish()
    }
}

/// Reads and checks the parameters of an authorization request.
pub async fn parse(
    db: &Db,
    pairs: Vec<(String, String)>,
) -> Result<AuthorizationRequest, Rejection> {
    let mut params: HashMap<&str, &str> = HashMap::new();
    let mut repeated: Option<&str> = None;
    for (name, value) in &pairs {
        if params.insert(name.as_str(), value.as_str()).is_some() {
            repeated.get_or_insert(name.as_str());
        }
    }
    let client = find_client(db, &params, repeated).await?;
    let redirect_uri = match (params.get("redirect_uri"), repeated) {
        (_, Some("redirect_uri")) => return Err(page("redirect_uri is given more than once")),
        (None, _) => return Err(page("redirect_uri is required")),
        (Some(uri), _) if !client.has_redirect_uri(uri) => {
            return Err(page(
                "redirect_uri is not one of the addresses registered for this application",
            ));
        }
        (Some(uri), _) => (*uri).to_owned(),
    };
    let state = params.get("state").map(|s| (*s).to_owned());
    let fail = |error: &'static str, description: &str| {
        Rejection::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: state.clone().filter(|s| s.len() <= MAX_STATE),
        })
    };
    if let Some(name) = repeated {
        return Err(fail(
            "invalid_request",
            &format!("{name} is given more than once"),
        ));
    }
    if let Some((name, _)) = pairs
        .iter()
        .find(|(_, value)| value.chars().any(char::is_control))
    {
        return Err(fail(
            "invalid_request",
            &format!("{name} holds a control character"),
        ));
    }
    if state.as_ref().is_some_and(|s| s.len() > MAX_STATE) {
        return Err(fail(
            "invalid_request",
            "state is longer than 1024 characters",
        ));
    }
    if params.contains_key("request") {
        return Err(fail(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if params.contains_key("request_uri") {
        return Err(fail(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    match params.get("response_type") {
        None => return Err(fail("invalid_request", "response_type is required")),
        Some(&"code") => {}
        Some(_) => {
            return Err(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
    }
    if params.get("response_mode").is_some_and(|m| *m != "query") {
        return Err(fail(
            "invalid_request",
            "only response_mode=query is supported",
        ));
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(fail(
            "unauthorized_client",
            "this application may not use the authorization code flow",
        ));
    }
    let scopes =
        read_scopes(&client, params.get("scope").copied()).map_err(|d| fail("invalid_scope", d))?;
    let code_challenge = read_pkce(&client, &params).map_err(|d| fail("invalid_request", d))?;
    let prompt =
        read_prompt(params.get("prompt").copied()).map_err(|d| fail("invalid_request", d))?;
    let max_age = match params.get("max_age") {
        None => None,
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|age| *age >= 0)
                .ok_or_else(|| fail("invalid_request", "max_age must be a number of seconds"))?,
        ),
    };
    let nonce = params.get("nonce").map(|n| (*n).to_owned());
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE) {
        return Err(fail(
            "invalid_request",
            "nonce is longer than 512 characters",
        ));
    }
    let login_hint = params
        .get("login_hint")
        .map(|h| (*h).to_owned())
        .filter(|h| h.chars().count() <= MAX_LOGIN_HINT && !h.chars().any(char::is_control));
    let id_token_hint = params
        .get("id_token_hint")
        .filter(|h| !h.is_empty())
        .map(|h| (*h).to_owned());
    Ok(AuthorizationRequest {
        client,
        redirect_uri,
        scopes,
        state,
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint,
        id_token_hint,
        params: pairs,
    })
}

fn page(text: &str) -> Rejection {
    Rejection::Page(text.to_owned())
}

async fn find_client(
    db: &Db,
    params: &HashMap<&str, &str>,
    repeated: Option<&str>,
) -> Result<Client, Rejection> {
    if repeated == Some("client_id") {
        return Err(page("client_id is given more than once"));
    }
    let Some(client_id) = params
        .get("client_id")
        .filter(|id| !id.is_empty() && id.len() <= 128)
    else {
        return Err(page("client_id is required"));
    };
    match clients::find(db, client_id).await {
        Ok(Some(client)) => Ok(client),
        Ok(None) => Err(page("there is no application with this client_id")),
        Err(e) => {
            tracing::error!(error = %e, "reading an OpenID client");
            Err(page(
                "the application could not be looked up just now; try again",
            ))
        }
    }
}

fn read_scopes(client: &Client, text: Option<&str>) -> Result<Scopes, &'static str> {
    let scopes =
        Scopes::parse(text.unwrap_or("")).ok_or("scope has a character scopes may not contain")?;
    if scopes.is_empty() {
        return Err("scope is required (openid for OpenID Connect)");
    }
    // OpenID Connect Core §3.1.2.1: scope values the server does not understand are
    // ignored (relying parties ask for `phone` or `address` by default); the token
    // response names the scope granted. Only a request left with nothing is refused.
    let offered: Scopes = scopes.iter().filter(|s| client.allows_scope(s)).collect();
    if offered.is_empty() {
        return Err("scope asks only for what this application is not registered for");
    }
    Ok(offered)
}

fn read_pkce(
    client: &Client,
    params: &HashMap<&str, &str>,
) -> Result<Option<String>, &'static str> {
    let method = params.get("code_challenge_method").copied();
    let Some(challenge) = params.get("code_challenge") else {
        if method.is_some() {
            return Err("code_challenge_method without code_challenge");
        }
        if client.is_public() {
            return Err("code_challenge (PKCE, S256) is required for public clients");
        }
        return Ok(None);
    };
    if method != Some("S256") {
        return Err("code_challenge_method must be S256");
    }
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err("code_challenge must be the 43-character base64url SHA-256 of the verifier");
    }
    Ok(Some((*challenge).to_owned()))
}

fn read_prompt(text: Option<&str>) -> Result<Prompt, &'static str> {
    let mut prompt = Prompt::default();
    for value in text.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            _ => return Err("prompt may be none, login, consent or select_account"),
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err("prompt=none cannot be combined with other values");
    }
    Ok(prompt)
}
