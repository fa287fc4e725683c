//! Talking to an identity provider over the back channel: its discovery document when
//! a provider is added, and on the way back from it the code exchange and the ID
//! token's validation (signature by a key of the provider's JWKS, also a single key
//! without `kid`; `iss`, `aud`, `exp`, `nonce`), all through the `openidconnect` crate.
//! Every request has a timeout and follows no redirect.

use std::time::Duration;

use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreClient, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, IssuerUrl, JsonWebKeySetUrl,
    Nonce, PkceCodeVerifier, RedirectUrl, TokenResponse, TokenUrl,
};

use super::providers::StoredProvider;
use super::providers::input::{Endpoints, check_url};
use super::providers::kinds::ProviderKind;

/// How long connecting to a provider may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request to a provider may take in all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The signature algorithms accepted on ID tokens: public-key ones only (never `none`,
/// never an HMAC keyed with the client secret).
const ALLOWED_ALGORITHMS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// The HTTP client for providers, built once at start-up.
#[derive(Clone)]
pub struct Upstream {
    http: reqwest::Client,
}

/// Who the provider says signed in, from a validated ID token.
#[derive(Debug, Clone)]
pub struct UpstreamIdentity {
    pub issuer: String,
    pub subject: String,
    /// In canonical form; None when the provider sent none (or none that is an address).
    pub email: Option<String>,
    /// The provider's `email_verified`, when it sent one.
    pub email_verified: Option<bool>,
    pub preferred_username: Option<String>,
    pub name: Option<String>,
}

/// Why a return from a provider was refused: said to the log (never a secret), while the
/// browser gets a page.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    #[error("the code exchange failed: {0}")]
    Exchange(String),
    #[error("the token response carried no ID token")]
    NoIdToken,
    #[error("the ID token was refused: {0}")]
    IdToken(String),
}

/// The data a return from the provider is checked against.
pub struct Expected<'a> {
    pub redirect_uri: &'a str,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    pub now: DateTime<Utc>,
}

impl Upstream {
    pub fn new() -> anyhow::Result<Upstream> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("roster/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Upstream { http })
    }

    /// The endpoints of `issuer`'s discovery document, each held to the issuer's rule
    /// (https, or http on loopback); why not, in words for the admin.
    pub async fn discover(&self, issuer: &str) -> Result<Endpoints, String> {
        let issuer_url =
            IssuerUrl::new(issuer.to_owned()).map_err(|_| "is not a URL".to_owned())?;
        let metadata = CoreProviderMetadata::discover_async(issuer_url, &self.http)
            .await
            .map_err(|e| format!("its discovery document could not be used: {e}"))?;
        let token = metadata
            .token_endpoint()
            .ok_or("its discovery document names no token_endpoint")?;
        let endpoints = Endpoints {
            authorization: metadata.authorization_endpoint().to_string(),
            token: token.to_string(),
            jwks: Some(metadata.jwks_uri().to_string()),
            userinfo: None,
        };
        for (name, url) in [
            ("authorization_endpoint", &endpoints.authorization),
            ("token_endpoint", &endpoints.token),
            ("jwks_uri", &metadata.jwks_uri().to_string()),
        ] {
            check_url(url).map_err(|why| format!("its {name} {}", why.message))?;
        }
        Ok(endpoints)
    }

    /// The HTTP client (timeouts, no redirects) for a provider that speaks plain OAuth 2
    /// (`super::github`).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Exchanges `code` at an OpenID provider's token endpoint (with the PKCE verifier and
    /// the client secret) and validates the ID token it answers.
    pub async fn redeem(
        &self,
        stored: &StoredProvider,
        client_secret: String,
        code: &str,
        expected: &Expected<'_>,
    ) -> Result<UpstreamIdentity, Refusal> {
        let provider = &stored.provider;
        let unusable = |what: &str| Refusal::Unreachable(format!("its {what} is not a URL"));
        let issuer = IssuerUrl::new(provider.issuer.clone()).map_err(|_| unusable("issuer"))?;
        let jwks_url = JsonWebKeySetUrl::new(provider.jwks_uri.clone().unwrap_or_default())
            .map_err(|_| unusable("jwks_uri"))?;
        let client = CoreClient::new(
            ClientId::new(provider.client_id.clone()),
            issuer.clone(),
            CoreJsonWebKeySet::new(Vec::new()),
        )
        .set_client_secret(ClientSecret::new(client_secret))
        .set_auth_type(if provider.kind == ProviderKind::Apple {
            // Apple reads the client secret from the form only.
            AuthType::RequestBody
        } else {
            AuthType::BasicAuth
        })
        .set_auth_uri(
            AuthUrl::new(provider.authorization_endpoint.clone())
                .map_err(|_| unusable("authorization_endpoint"))?,
        )
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
            .request_async(&self.http)
            .await
            .map_err(|e| Refusal::Exchange(exchange_failure(&e)))?;
        let id_token = response.id_token().ok_or(Refusal::NoIdToken)?;
        // Keys fetched after the exchange: a key the provider rotated in is known.
        let keys = CoreJsonWebKeySet::fetch_async(&jwks_url, &self.http)
            .await
            .map_err(|e| Refusal::Unreachable(format!("its keys could not be read: {e}")))?;
        let now = expected.now;
        let verifier = CoreIdTokenVerifier::new_public_client(
            ClientId::new(provider.client_id.clone()),
            issuer,
            keys,
        )
        .set_allowed_algs(ALLOWED_ALGORITHMS)
        .set_time_fn(move || now);
        let claims = id_token
            .claims(&verifier, &Nonce::new(expected.nonce.to_owned()))
            .map_err(|e| Refusal::IdToken(e.to_string()))?;
        Ok(UpstreamIdentity {
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
            email: claims
                .email()
                .and_then(|email| crate::accounts::email::canonical_email(email)),
            email_verified: claims.email_verified(),
            preferred_username: claims.preferred_username().map(|name| name.to_string()),
            name: claims
                .name()
                .and_then(|name| name.get(None))
                .map(|name| name.to_string()),
        })
    }
}

/// What went wrong in a code exchange, without the response body (it may hold tokens).
pub(super) fn exchange_failure<RE, T>(error: &openidconnect::RequestTokenError<RE, T>) -> String
where
    RE: std::error::Error + 'static,
    T: openidconnect::ErrorResponse + 'static,
{
    match error {
        openidconnect::RequestTokenError::ServerResponse(response) => {
            format!("the provider answered an error: {response}")
        }
        openidconnect::RequestTokenError::Request(e) => format!("request failed: {e}"),
        openidconnect::RequestTokenError::Parse(e, _) => {
            format!("the provider's answer could not be read: {}", e.path())
        }
        openidconnect::RequestTokenError::Other(text) => text.clone(),
    }
}
