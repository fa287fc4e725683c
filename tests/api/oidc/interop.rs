//! A standard OpenID client (the `openidconnect` crate) against Roster over a socket.
//!
//! The crate discovers the provider, builds the authorization request (PKCE, nonce,
//! state), redeems the code, verifies the ID token against the published keys, refreshes,
//! reads userinfo, introspects and revokes: every back-channel call goes through the
//! socket with the crate's own HTTP client. The browser part (login and consent pages)
//! runs through the router with the cookie jar of [`super::Browser`].

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreSubjectIdentifierType,
};
use openidconnect::{
    AccessTokenHash, AdditionalProviderMetadata, AsyncHttpClient, AuthorizationCode, ClientId,
    ClientSecret, CsrfToken, EmptyAdditionalClaims, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    HttpRequest, IntrospectionUrl, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, ProviderMetadata, RedirectUrl, RequestTokenError, RevocationUrl, Scope,
    TokenIntrospectionResponse, TokenResponse, UserInfoClaims, reqwest,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Browser, REDIRECT_URI, confidential_client, location_query, register_client};
use crate::helpers::{Backend, Session, TestApp};
use crate::on_both_engines;

on_both_engines!(
    a_standard_client_signs_in_refreshes_introspects_and_revokes,
    a_public_client_completes_the_code_flow_with_pkce,
);

/// The RFC 7009 and RFC 7662 endpoints of the discovery document, which the crate's core
/// metadata does not read.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct BackChannelEndpoints {
    revocation_endpoint: RevocationUrl,
    introspection_endpoint: IntrospectionUrl,
}

impl AdditionalProviderMetadata for BackChannelEndpoints {}

type RosterMetadata = ProviderMetadata<
    BackChannelEndpoints,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// A client with every endpoint Roster's discovery document names.
type RelyingParty = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointSet,
    EndpointSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The crate's HTTP client; redirects are not followed (the crate's advice against SSRF).
fn http_client() -> reqwest::Client {
    reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// RFC 7009 §2: "Clients MUST verify that the URL is an HTTPS URL", and the crate refuses
/// any other revocation endpoint. The test server speaks plain HTTP on loopback, so the
/// client is given the `https://` form of the discovered endpoint and this transport
/// (a TLS terminator in front of Roster, as in production) sends it as plain HTTP.
struct LoopbackTls(reqwest::Client);

impl<'c> AsyncHttpClient<'c> for LoopbackTls {
    type Error = <reqwest::Client as AsyncHttpClient<'c>>::Error;
    type Future = <reqwest::Client as AsyncHttpClient<'c>>::Future;

    fn call(&'c self, mut request: HttpRequest) -> Self::Future {
        let uri = request.uri().to_string();
        assert!(uri.starts_with("https://127.0.0.1:"), "{uri}");
        *request.uri_mut() = uri.replacen("https://", "http://", 1).parse().unwrap();
        self.0.call(request)
    }
}

/// Discovers the provider at `issuer` and configures a client from what it publishes.
async fn relying_party(
    http: &reqwest::Client,
    issuer: &str,
    client_id: &str,
    client_secret: Option<&str>,
) -> RelyingParty {
    let metadata = RosterMetadata::discover_async(IssuerUrl::new(issuer.to_owned()).unwrap(), http)
        .await
        .expect("discovery succeeds and its issuer is the one asked for");
    assert_eq!(metadata.issuer().as_str(), issuer);
    assert_eq!(
        metadata.token_endpoint().map(|url| url.as_str().to_owned()),
        Some(format!("{issuer}/oauth2/token"))
    );
    assert!(
        !metadata.jwks().keys().is_empty(),
        "discovery fetched the keys behind jwks_uri"
    );
    let back_channel = metadata.additional_metadata().clone();
    assert_eq!(
        back_channel.revocation_endpoint.as_str(),
        format!("{issuer}/oauth2/revoke")
    );
    assert_eq!(
        back_channel.introspection_endpoint.as_str(),
        format!("{issuer}/oauth2/introspect")
    );
    let revocation = back_channel
        .revocation_endpoint
        .as_str()
        .replacen("http://", "https://", 1);
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.to_owned()),
        client_secret.map(|secret| ClientSecret::new(secret.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).unwrap())
    .set_revocation_url(RevocationUrl::new(revocation).unwrap())
    .set_introspection_url(back_channel.introspection_endpoint)
}

/// What the client keeps between the authorization request and the code redemption.
struct Authorized {
    code: AuthorizationCode,
    verifier: PkceCodeVerifier,
    nonce: Nonce,
}

/// Builds the authorization request with the crate, runs it in `browser` as `user` and
/// checks the redirect back (state, iss); the code and what redeeming it needs.
async fn authorize(
    browser: &mut Browser<'_>,
    client: &RelyingParty,
    issuer: &str,
    user: &Session,
) -> Authorized {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".to_owned()))
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("offline_access".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    assert_eq!(
        url.as_str().split('?').next(),
        Some(format!("{issuer}/oauth2/authorize").as_str())
    );
    let path = format!("{}?{}", url.path(), url.query().expect("a query"));
    let back = browser.authorize(&path, user).await;
    assert_eq!(back.status, 303, "{}", back.text);
    let location = back.header("location").unwrap();
    assert!(
        location.starts_with(&format!("{REDIRECT_URI}?")),
        "{location}"
    );
    let query = location_query(&back);
    assert_eq!(&query["state"], state.secret(), "the CSRF state comes back");
    assert_eq!(query["iss"], issuer, "RFC 9207");
    Authorized {
        code: AuthorizationCode::new(query["code"].clone()),
        verifier,
        nonce,
    }
}

async fn a_standard_client_signs_in_refreshes_introspects_and_revokes(backend: Backend) {
    let (app, issuer) = TestApp::builder(backend).start_served().await;
    let admin = app.admin().await;
    let registered = confidential_client(&app, &admin, false).await;
    let client_id = registered["client_id"].as_str().unwrap();
    let user = app.user().await;
    let http = http_client();
    let client = relying_party(
        &http,
        &issuer,
        client_id,
        registered["client_secret"].as_str(),
    )
    .await;

    let mut browser = Browser::new(&app);
    let authorized = authorize(&mut browser, &client, &issuer, &user).await;
    let tokens = client
        .exchange_code(authorized.code)
        .unwrap()
        .set_pkce_verifier(authorized.verifier)
        .request_async(&http)
        .await
        .expect("the code is redeemed with client_secret_basic and PKCE");

    // The ID token: RS256 over a key from jwks_uri, iss, aud, exp, iat and the nonce.
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let id = id_token
        .claims(&verifier, &authorized.nonce)
        .expect("the crate accepts the ID token");
    assert_eq!(
        id_token.signing_alg().unwrap(),
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256
    );
    assert_eq!(id.issuer().as_str(), issuer);
    assert_eq!(id.subject().as_str(), user.user_id);
    assert_eq!(
        id.audiences(),
        &[openidconnect::Audience::new(client_id.to_owned())]
    );
    assert_eq!(
        id.preferred_username().map(|name| name.as_str()),
        Some(user.username.as_str())
    );
    assert_eq!(
        id.email().map(|email| email.as_str().to_owned()),
        Some(format!("{}@example.com", user.username))
    );
    assert!(id.auth_time().is_some());
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(
        id.access_token_hash(),
        Some(&at_hash),
        "at_hash binds the access token"
    );
    assert!(
        id_token
            .claims(&verifier, &Nonce::new("someone else's".to_owned()))
            .is_err(),
        "a different nonce is refused"
    );
    let mut scopes: Vec<String> = tokens
        .scopes()
        .expect("the granted scopes")
        .iter()
        .map(|scope| scope.to_string())
        .collect();
    scopes.sort();
    assert_eq!(scopes, ["email", "offline_access", "openid", "profile"]);

    // Refresh rotates the refresh token.
    let first_refresh = tokens
        .refresh_token()
        .expect("offline_access gives a refresh token");
    let refreshed = client
        .exchange_refresh_token(first_refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("the refresh token is accepted");
    let second_refresh = refreshed.refresh_token().expect("a rotated refresh token");
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );

    // Userinfo for the refreshed access token, bound to the ID token's subject.
    let info: UserInfoClaims<EmptyAdditionalClaims, CoreGenderClaim> = client
        .user_info(refreshed.access_token().clone(), Some(id.subject().clone()))
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo answers for the token's subject");
    assert_eq!(info.subject().as_str(), user.user_id);
    assert_eq!(
        info.email().map(|email| email.as_str().to_owned()),
        Some(format!("{}@example.com", user.username))
    );
    assert_eq!(
        info.preferred_username().map(|name| name.as_str()),
        Some(user.username.as_str())
    );

    // Introspection (RFC 7662) before and after revocation (RFC 7009).
    let revocation_transport = LoopbackTls(http.clone());
    let access = refreshed.access_token();
    let active = client
        .introspect(access)
        .set_token_type_hint("access_token")
        .request_async(&http)
        .await
        .expect("introspection as the confidential client");
    assert!(active.active());
    assert_eq!(active.client_id().map(|id| id.as_str()), Some(client_id));
    assert_eq!(active.sub(), Some(user.user_id.as_str()));
    client
        .revoke_token(CoreRevocableToken::from(access.clone()))
        .unwrap()
        .request_async(&revocation_transport)
        .await
        .expect("the access token is revoked");
    let revoked = client
        .introspect(access)
        .request_async(&http)
        .await
        .expect("introspection of a revoked token still answers 200");
    assert!(!revoked.active(), "{revoked:?}");

    // A revoked refresh token is no longer redeemable.
    client
        .revoke_token(CoreRevocableToken::from(second_refresh.clone()))
        .unwrap()
        .request_async(&revocation_transport)
        .await
        .expect("the refresh token is revoked");
    let refused = client
        .exchange_refresh_token(second_refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect_err("a revoked refresh token is refused");
    match refused {
        RequestTokenError::ServerResponse(error) => {
            assert_eq!(error.error(), &CoreErrorResponseType::InvalidGrant)
        }
        other => panic!("an OAuth error response, not {other:?}"),
    }
}

async fn a_public_client_completes_the_code_flow_with_pkce(backend: Backend) {
    let (app, issuer) = TestApp::builder(backend).start_served().await;
    let admin = app.admin().await;
    let registered = register_client(
        &app,
        &admin,
        json!({"name": "Phone", "type": "public", "redirect_uris": [REDIRECT_URI]}),
    )
    .await;
    assert!(registered.get("client_secret").is_none_or(|s| s.is_null()));
    let client_id = registered["client_id"].as_str().unwrap();
    let user = app.user().await;
    let http = http_client();
    let client = relying_party(&http, &issuer, client_id, None).await;

    // With another verifier the code is refused: PKCE is what binds a public client's code.
    let mut browser = Browser::new(&app);
    let unverified = authorize(&mut browser, &client, &issuer, &user).await;
    let refused = client
        .exchange_code(unverified.code)
        .unwrap()
        .set_pkce_verifier(PkceCodeVerifier::new(
            PkceCodeChallenge::new_random_sha256().1.secret().clone(),
        ))
        .request_async(&http)
        .await
        .expect_err("a code with another verifier is refused");
    match refused {
        RequestTokenError::ServerResponse(error) => {
            assert_eq!(error.error(), &CoreErrorResponseType::InvalidGrant)
        }
        other => panic!("an OAuth error response, not {other:?}"),
    }

    // The same browser again: signed in and consented, straight back with a code.
    let authorized = authorize(&mut browser, &client, &issuer, &user).await;
    let tokens = client
        .exchange_code(authorized.code)
        .unwrap()
        .set_pkce_verifier(authorized.verifier)
        .request_async(&http)
        .await
        .expect("a public client redeems its code with the verifier alone");
    let id = tokens
        .id_token()
        .expect("an ID token")
        .claims(&client.id_token_verifier(), &authorized.nonce)
        .expect("the crate accepts the ID token");
    assert_eq!(id.subject().as_str(), user.user_id);
    assert_eq!(
        id.audiences(),
        &[openidconnect::Audience::new(client_id.to_owned())]
    );

    let info: UserInfoClaims<EmptyAdditionalClaims, CoreGenderClaim> = client
        .user_info(tokens.access_token().clone(), Some(id.subject().clone()))
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo answers");
    assert_eq!(info.subject().as_str(), user.user_id);

    let refresh = tokens
        .refresh_token()
        .expect("offline_access gives a public client a refresh token too");
    let refreshed = client
        .exchange_refresh_token(refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("a public client refreshes without a secret");
    let rotated = refreshed.refresh_token().expect("a rotated refresh token");
    assert_ne!(rotated.secret(), refresh.secret());
}
