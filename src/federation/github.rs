//! GitHub (github.com or a GitHub Enterprise Server): OAuth 2 without ID tokens, through
//! the `oauth2` crate. The browser leaves with `state` and a PKCE `S256` challenge; on
//! its return the code is exchanged (client credentials in the body, as GitHub asks) and
//! the API says who signed in: `/user` for the account's numeric `id` (the identity's
//! subject: logins can be renamed and reused, ids cannot) and `/user/emails` for the
//! primary address and whether GitHub verified it. Every request has the
//! [`Upstream`](super::upstream::Upstream) client's timeouts and follows no redirect;
//! answers are read up to [`MAX_ANSWER`] bytes.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use reqwest::header;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::providers::Provider;
use super::upstream::{Expected, Refusal, UpstreamIdentity, exchange_failure};

/// The most of an API answer that is read.
const MAX_ANSWER: usize = 256 * 1024;
/// The REST API version the answers are read in.
const API_VERSION: &str = "2022-11-28";

/// The URL of GitHub's authorization page for a sign-in with `state` and `challenge`.
pub fn authorize_url(
    provider: &Provider,
    redirect_uri: &str,
    state: String,
    challenge: PkceCodeChallenge,
) -> anyhow::Result<url::Url> {
    let client = BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_auth_uri(AuthUrl::new(provider.authorization_endpoint.clone())?)
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned())?);
    let (url, _) = client
        .authorize_url(move || CsrfToken::new(state))
        .add_scopes(provider.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .url();
    Ok(url)
}

#[derive(Deserialize)]
struct Account {
    id: u64,
    login: String,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Address {
    email: String,
    primary: bool,
    verified: bool,
}

/// Exchanges `code` and asks the API who signed in.
pub async fn redeem(
    http: &reqwest::Client,
    provider: &Provider,
    client_secret: String,
    code: &str,
    expected: &Expected<'_>,
) -> Result<UpstreamIdentity, Refusal> {
    let unusable = |what: &str| Refusal::Unreachable(format!("its {what} is not a URL"));
    let userinfo = provider
        .userinfo_endpoint
        .as_deref()
        .ok_or_else(|| unusable("userinfo endpoint"))?;
    let client = BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_client_secret(ClientSecret::new(client_secret))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(
            TokenUrl::new(provider.token_endpoint.clone())
                .map_err(|_| unusable("token_endpoint"))?,
        )
        .set_redirect_uri(
            RedirectUrl::new(expected.redirect_uri.to_owned())
                .map_err(|_| unusable("redirect URI"))?,
        );
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(expected.pkce_verifier.to_owned()))
        .request_async(http)
        .await
        .map_err(|e| Refusal::Exchange(exchange_failure(&e)))?;
    let token = response.access_token().secret();
    let account: Account = ask(http, userinfo, token)
        .await?
        .ok_or_else(|| Refusal::Unreachable("its API did not say who signed in".into()))?;
    // Without the `user:email` scope the addresses are not GitHub's to tell: no address.
    let addresses: Vec<Address> = ask(http, &format!("{userinfo}/emails"), token)
        .await?
        .unwrap_or_default();
    let primary = addresses.into_iter().find(|address| address.primary);
    Ok(UpstreamIdentity {
        issuer: provider.issuer.clone(),
        subject: account.id.to_string(),
        email: primary
            .as_ref()
            .and_then(|address| crate::accounts::email::canonical_email(&address.email)),
        email_verified: primary.map(|address| address.verified),
        preferred_username: Some(account.login),
        name: account.name,
    })
}

/// GETs `url` with the access token and reads its JSON; None when the API answers 403
/// or 404 (a scope not granted).
async fn ask<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<Option<T>, Refusal> {
    let unreachable = |e: reqwest::Error| Refusal::Unreachable(format!("its API: {e}"));
    let mut response = http
        .get(url)
        .bearer_auth(token)
        .header(header::ACCEPT, "application/vnd.github+json")
        .header("X-GitHub-Api-Version", API_VERSION)
        .send()
        .await
        .map_err(|e| unreachable(e.without_url()))?;
    let status = response.status();
    if status == reqwest::StatusCode::FORBIDDEN || status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(Refusal::Unreachable(format!("its API answered {status}")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unreachable(e.without_url()))?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(Refusal::Unreachable(format!(
                "its API answered more than {MAX_ANSWER} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| Refusal::Unreachable(format!("its API's answer could not be read: {e}")))
}
