//! Discovery (OpenID Connect Discovery 1.0 §3, RFC 8414 §2): the provider's metadata,
//! built once at start-up and served as the same bytes at
//! `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`,
//! and the keys its ID tokens are verified with.
//!
//! Also the OpenAPI description of the two browser endpoints the metadata names,
//! `authorization_endpoint` and `end_session_endpoint`: clients build their URLs, but
//! their handlers (`flow`, `logout`) answer pages and redirects, on the pages' router.

use axum::Extension;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{ContentBuilder, Object, ObjectBuilder, RefOr, Schema, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::scope;
use crate::config::Config;
use crate::tokens::keys::IdTokenAlgorithm;

/// The provider's metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderMetadata {
    /// `PUBLIC_URL`: the `iss` of every token.
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    jwks_uri: String,
    /// RP-initiated logout.
    end_session_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    scopes_supported: Vec<&'static str>,
    response_types_supported: Vec<&'static str>,
    response_modes_supported: Vec<&'static str>,
    grant_types_supported: Vec<&'static str>,
    subject_types_supported: Vec<&'static str>,
    id_token_signing_alg_values_supported: Vec<&'static str>,
    /// Not in the standards (RFC 8414 §2 allows extensions; Gluu/Janssen and InterSystems
    /// publish the same name): the `alg` this deployment signs its JWT access tokens with,
    /// `ACCESS_TOKEN_ALGORITHM` (`EdDSA`, `ES256` or `RS256`), or `HS256` when they use the
    /// shared `JWT_SECRET_KEY`. Their keys are in `jwks_uri` (the asymmetric ones).
    access_token_signing_alg_values_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    code_challenge_methods_supported: Vec<&'static str>,
    prompt_values_supported: Vec<&'static str>,
    claims_supported: Vec<&'static str>,
    claims_parameter_supported: bool,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
    authorization_response_iss_parameter_supported: bool,
    ui_locales_supported: Vec<&'static str>,
}

/// The metadata document of this provider (its keys in alphabetical order).
pub fn document(config: &Config) -> bytes::Bytes {
    let base = &config.http.public_url;
    let endpoint = |path: &str| format!("{base}{path}");
    let client_auth = vec!["client_secret_basic", "client_secret_post", "none"];
    let metadata = ProviderMetadata {
        issuer: config.tokens.issuer.clone(),
        authorization_endpoint: endpoint("/oauth2/authorize"),
        token_endpoint: endpoint("/oauth2/token"),
        userinfo_endpoint: endpoint("/oauth2/userinfo"),
        jwks_uri: endpoint("/oauth2/jwks"),
        end_session_endpoint: endpoint("/oauth2/logout"),
        revocation_endpoint: endpoint("/oauth2/revoke"),
        introspection_endpoint: endpoint("/oauth2/introspect"),
        scopes_supported: scope::STANDARD.to_vec(),
        response_types_supported: vec!["code"],
        response_modes_supported: vec!["query"],
        grant_types_supported: vec!["authorization_code", "refresh_token", "client_credentials"],
        subject_types_supported: vec!["public"],
        id_token_signing_alg_values_supported: vec!["RS256", "EdDSA"],
        access_token_signing_alg_values_supported: vec![match config.tokens.jwt_secret_key {
            Some(_) => "HS256",
            None => config.tokens.access_algorithm.as_str(),
        }],
        token_endpoint_auth_methods_supported: client_auth.clone(),
        revocation_endpoint_auth_methods_supported: client_auth,
        introspection_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
        ],
        code_challenge_methods_supported: vec!["S256"],
        prompt_values_supported: vec!["none", "login", "consent"],
        claims_supported: vec![
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "amr",
            "at_hash",
            "sid",
            "name",
            "preferred_username",
            "picture",
            "updated_at",
            "email",
            "email_verified",
        ],
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        authorization_response_iss_parameter_supported: true,
        ui_locales_supported: crate::i18n::Language::tags(),
    };
    // Through a `Value`, whose map sorts its keys, as the document always has.
    serde_json::to_value(&metadata)
        .and_then(|value| serde_json::to_vec(&value))
        .map(bytes::Bytes::from)
        .unwrap_or_default()
}

/// The serialized metadata, made once at start-up.
#[derive(Clone)]
pub struct MetadataDocument(pub bytes::Bytes);

/// OpenID Connect discovery
///
/// The provider's metadata (OpenID Connect Discovery 1.0); the same document as
/// `/.well-known/oauth-authorization-server`. Cacheable for five minutes, readable from
/// any origin.
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "oauth",
    responses(
        (status = 200, description = "The provider's metadata", body = ProviderMetadata, headers(
            ("Cache-Control" = String, description = "public, max-age=300"),
            ("Access-Control-Allow-Origin" = String, description = "*"),
        )),
    ))]
pub async fn openid_configuration(Extension(document): Extension<MetadataDocument>) -> Response {
    response(document.0)
}

/// OAuth 2.0 authorization server metadata
///
/// The same document as `/.well-known/openid-configuration`, at the address RFC 8414
/// gives it.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    responses(
        (status = 200, description = "The provider's metadata", body = ProviderMetadata, headers(
            ("Cache-Control" = String, description = "public, max-age=300"),
            ("Access-Control-Allow-Origin" = String, description = "*"),
        )),
    ))]
pub async fn authorization_server_metadata(
    Extension(document): Extension<MetadataDocument>,
) -> Response {
    response(document.0)
}

/// The response for a discovery request.
fn response(document: bytes::Bytes) -> Response {
    let mut response = document.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// A JWK set (RFC 7517 §5).
#[derive(Debug, ToSchema)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// A public key (RFC 7517 §4): `RSA` (`n`, `e`) for `RS256`, `OKP` Ed25519 (`crv`, `x`)
/// for `EdDSA`, `EC` P-256 (`crv`, `x`, `y`) for `ES256` (access tokens only, when
/// `ACCESS_TOKEN_ALGORITHM` is `ES256`).
#[derive(Debug, ToSchema)]
pub struct Jwk {
    /// `RSA`, `OKP` or `EC`.
    pub kty: String,
    /// The key id the tokens it signed name in their `kid` header.
    #[schema(required = false)]
    pub kid: String,
    /// `sig`
    #[schema(required = false, rename = "use")]
    pub key_use: String,
    /// `RS256`, `EdDSA` or `ES256`: the only algorithm the key verifies.
    #[schema(required = false)]
    pub alg: String,
    /// `Ed25519` (OKP keys) or `P-256` (EC keys).
    #[schema(required = false)]
    pub crv: String,
    /// The public key (OKP keys) or its x coordinate (EC keys), base64url.
    #[schema(required = false)]
    pub x: String,
    /// The public key's y coordinate, base64url (EC keys).
    #[schema(required = false)]
    pub y: String,
    /// The modulus, base64url (RSA keys).
    #[schema(required = false)]
    pub n: String,
    /// The exponent, base64url (RSA keys).
    #[schema(required = false)]
    pub e: String,
}

/// The keys that verify ID tokens
///
/// The metadata's `jwks_uri`: every key that signed an ID token or an access token still
/// valid (RSA and Ed25519, and P-256 under `ACCESS_TOKEN_ALGORITHM=ES256`), chosen by the
/// token's `kid`. Never empty, also when access tokens are signed
/// with an HS256 secret (`/.well-known/jwks.json` is empty then). Cacheable for a minute.
/// In the first moments on a fresh database, while the first RSA key is being made, the
/// answer waits for it (at most 10 s), so no cached set lacks the key of an ID token.
#[utoipa::path(get, path = "/oauth2/jwks", tag = "oauth", operation_id = "oauth2_jwks",
    responses(
        (status = 200, description = "The JWK set", body = JwkSet, headers(
            ("Cache-Control" = String, description = "public, max-age=60"),
        )),
    ))]
pub async fn jwks(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
) -> Response {
    let keys = match state
        .tokens
        .key_set_for_id_tokens(IdTokenAlgorithm::Rs256, super::id_token::KEY_WAIT)
        .await
    {
        Some(keys) => keys,
        None => state.tokens.key_set(),
    };
    crate::http::jwk_set(keys.id_jwks.clone())
}

/// The parameters of an authorization request (RFC 6749 §4.1.1, OpenID Connect Core
/// §3.1.2.1), in the query of `GET /oauth2/authorize` or the form of `POST`.
#[derive(Debug, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizationParameters {
    /// `code`, the only response type.
    #[param(schema_with = response_type_code)]
    #[schema(schema_with = response_type_code)]
    pub response_type: String,
    /// The client's id, as registered.
    pub client_id: String,
    /// One of the client's registered redirect URIs, character for character.
    pub redirect_uri: String,
    /// Space-separated; each one the client is registered for. `openid` for OpenID
    /// Connect (an ID token), `profile` and `email` for claims, `offline_access` for a
    /// refresh token, and the API scopes an administrator defined.
    pub scope: String,
    /// Sent back unchanged with the code or the error (at most 1024 characters).
    #[schema(nullable = false)]
    pub state: Option<String>,
    /// Put into the ID token (at most 512 characters).
    #[schema(nullable = false)]
    pub nonce: Option<String>,
    /// PKCE (RFC 7636): the base64url SHA-256 of the verifier, 43 characters. Required
    /// for public clients, accepted from all.
    #[schema(nullable = false)]
    pub code_challenge: Option<String>,
    /// `S256`, with `code_challenge`.
    #[schema(nullable = false)]
    pub code_challenge_method: Option<String>,
    /// Space-separated: `none` (answer `login_required` or `consent_required` rather
    /// than show a page), `login` (sign in again), `consent` (ask again);
    /// `select_account` is accepted and changes nothing (a browser has one account here),
    /// so discovery does not list it.
    #[schema(nullable = false)]
    pub prompt: Option<String>,
    /// Seconds since the last sign-in after which the user signs in again.
    #[param(minimum = 0)]
    #[schema(minimum = 0, nullable = false)]
    pub max_age: Option<i64>,
    /// A username or email address to fill in on the sign-in page.
    #[schema(nullable = false)]
    pub login_hint: Option<String>,
    /// An ID token this provider issued, naming the user the application expects. With
    /// `prompt=none`, a hint that is not such a token (signature, issuer), or that names
    /// another user than the one signed in, is answered `login_required`, never a code.
    #[schema(nullable = false)]
    pub id_token_hint: Option<String>,
    /// `query`, the only response mode.
    #[schema(nullable = false)]
    pub response_mode: Option<String>,
}

fn response_type_code() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["code"]))
        .description(Some("`code`, the only response type."))
        .build()
}

/// The parameters of RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2), in
/// the query of `GET /oauth2/logout` or the form of `POST`.
#[derive(Debug, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogoutParameters {
    /// An ID token this provider issued to the client; with it the signed-in user is
    /// signed out without being asked.
    #[schema(nullable = false)]
    pub id_token_hint: Option<String>,
    /// The client, when there is no `id_token_hint` (or its audience).
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// Where to send the browser afterwards: one of the client's registered
    /// `post_logout_redirect_uris`, character for character.
    #[schema(nullable = false)]
    pub post_logout_redirect_uri: Option<String>,
    /// Sent back unchanged with the redirect.
    #[schema(nullable = false)]
    pub state: Option<String>,
}

/// The OpenAPI path items of `/oauth2/authorize` and `/oauth2/logout`, `GET` and `POST`.
pub fn browser_endpoints() -> Vec<(&'static str, HttpMethod, Operation)> {
    let authorize_answers = |operation: OperationBuilder| {
        operation
            .tag("oauth")
            .response(
                "303",
                redirect(
                    "To the client's `redirect_uri` with `code`, `state` and `iss` (RFC 9207), \
                     or with `error` (`invalid_request`, `unauthorized_client`, `access_denied`, \
                     `unsupported_response_type`, `invalid_scope`, `login_required`, \
                     `consent_required`, `request_not_supported`, `request_uri_not_supported`), \
                     `error_description`, `state` and `iss`; or, when the browser must sign in \
                     or consent first, to `/login` or `/consent`, which come back here",
                ),
            )
            .response(
                "400",
                page(
                    "An error page, never a redirect: unknown `client_id`, a `redirect_uri` \
                     that is not registered for it, or either of them missing or repeated",
                ),
            )
    };
    let get_authorize = authorize_answers(
        OperationBuilder::new()
            .operation_id(Some("oauth2_authorize_get"))
            .summary(Some("Authorization endpoint (browser)"))
            .description(Some(
                "Where a client sends the user's browser to sign in (authorization code flow, \
                 RFC 6749 §4.1, OpenID Connect Core §3.1). Answers redirects and HTML pages, \
                 not JSON.",
            ))
            .parameters(Some(AuthorizationParameters::into_params(|| {
                Some(ParameterIn::Query)
            }))),
    )
    .build();
    let post_authorize = authorize_answers(
        OperationBuilder::new()
            .operation_id(Some("oauth2_authorize_post"))
            .summary(Some(
                "Authorization endpoint, parameters in a form (browser)",
            ))
            .description(Some(
                "As `GET /oauth2/authorize`, the parameters in the form body \
                 (OpenID Connect Core §3.1.2.1).",
            ))
            .request_body(Some(form::<AuthorizationParameters>(true))),
    )
    .build();
    let logout_answers = |operation: OperationBuilder| {
        operation
            .tag("oauth")
            .response(
                "200",
                page(
                    "`Signed out`; or, without an `id_token_hint` for the signed-in user, a \
                     page asking to confirm (its form posts back here with a CSRF token)",
                ),
            )
            .response(
                "303",
                redirect(
                    "Signed out (or was not signed in): to `post_logout_redirect_uri`, with \
                     `state`",
                ),
            )
            .response(
                "400",
                page(
                    "An error page, never a redirect: an `id_token_hint` this provider did not \
                     issue, an unknown client, or a `post_logout_redirect_uri` not registered \
                     for it (the user stays signed in)",
                ),
            )
    };
    let get_logout = logout_answers(
        OperationBuilder::new()
            .operation_id(Some("oauth2_logout_get"))
            .summary(Some("RP-initiated logout (browser)"))
            .description(Some(
                "Where a client sends the user's browser to sign out of Roster (OpenID \
                 Connect RP-Initiated Logout 1.0): ends the browser session and the sessions \
                 of the applications signed in through it. Answers pages and redirects.",
            ))
            .parameters(Some(LogoutParameters::into_params(|| {
                Some(ParameterIn::Query)
            }))),
    )
    .build();
    let post_logout = logout_answers(
        OperationBuilder::new()
            .operation_id(Some("oauth2_logout_post"))
            .summary(Some("RP-initiated logout, parameters in a form (browser)"))
            .description(Some(
                "As `GET /oauth2/logout`, the parameters in the form body; the confirmation \
                 page posts here with its `csrf_token` too.",
            ))
            .request_body(Some(form::<LogoutParameters>(false))),
    )
    .build();
    vec![
        ("/oauth2/authorize", HttpMethod::Get, get_authorize),
        ("/oauth2/authorize", HttpMethod::Post, post_authorize),
        ("/oauth2/logout", HttpMethod::Get, get_logout),
        ("/oauth2/logout", HttpMethod::Post, post_logout),
    ]
}

/// A form body of `T`'s fields (inlined: the parameters are documented once, as `T`).
fn form<T: ToSchema>(required: bool) -> utoipa::openapi::request_body::RequestBody {
    let schema: RefOr<Schema> = T::schema();
    RequestBodyBuilder::new()
        .content(
            "application/x-www-form-urlencoded",
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .required(Some(if required {
            utoipa::openapi::Required::True
        } else {
            utoipa::openapi::Required::False
        }))
        .build()
}

fn page(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "text/html",
            ContentBuilder::new().schema(Some(String::schema())).build(),
        )
        .build()
}

fn redirect(description: &str) -> utoipa::openapi::Response {
    let location = utoipa::openapi::header::HeaderBuilder::new()
        .schema(Some(String::schema()))
        .description(Some("Where the browser goes next"))
        .build();
    ResponseBuilder::new()
        .description(description)
        .header("Location", location)
        .build()
}
