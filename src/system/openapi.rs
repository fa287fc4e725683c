//! The OpenAPI 3.1 document's frame: information, security schemes, tags and the shared
//! error schema. Paths and their schemas come from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::config::TokenConfig;
use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roster",
        description = "User management and authentication: accounts, sessions, short-lived JWT access tokens \
            (signed with the keys published at `/.well-known/jwks.json`, of the kind `ACCESS_TOKEN_ALGORITHM` \
            names: EdDSA, ES256 or RS256) with rotating refresh tokens, profiles, \
            preferences, premium tiers, badges and goals; and an OpenID Connect provider and OAuth 2.0 \
            authorization server for other applications (discovery at `/.well-known/openid-configuration`).\n\n\
            Errors are RFC 9457 problem details (`application/problem+json`) whose `type` is \
            `urn:roster:problem:<kind>`; validation failures (422) list every failing field in `errors`. \
            The OAuth endpoints answer RFC 6749 §5.2 errors (`{\"error\", \"error_description\"}`) instead, \
            as their clients expect. Lists are keyset-paginated with `limit` and `cursor`. Every response \
            carries `X-Request-Id`.",
        license(name = "MIT"),
    ),
    modifiers(&SecuritySchemes),
    components(schemas(Problem, FieldError)),
    tags(
        (name = "auth", description = "Registration, login, tokens, sessions and passwords"),
        (name = "mfa", description = "Second factors (TOTP, recovery codes, passkeys), passkey login and re-authentication"),
        (name = "users", description = "Accounts, profiles, preferences, premium, search"),
        (name = "achievements", description = "Badges and learning goals"),
        (name = "admin", description = "Administration and audit"),
        (name = "events", description = "The event log other services learn from (CloudEvents 1.0): pull and replay"),
        (name = "oauth", description = "The OpenID Connect provider (Core 1.0, authorization code flow with PKCE) \
            and OAuth 2.0 authorization server: discovery, the authorization and logout endpoints browsers are \
            sent to, and the back channel (token, userinfo, revocation, introspection, keys)"),
        (name = "system", description = "Service information, health, metrics, keys and documentation"),
    )
)]
pub struct ApiDoc;

/// The schemes callers authenticate with: users' bearer tokens, and the OAuth clients'
/// `client_secret_basic` (RFC 6749 §2.3.1) at the token, revocation and introspection
/// endpoints.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from /api/v1/auth/login, /token or /refresh; at \
                         /oauth2/userinfo, one that /oauth2/token issued; at /api/v1/events also a \
                         `client_credentials` token with the scope `events:read`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client_secret_basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "An OAuth client's credentials (RFC 6749 §2.3.1): `client_id` and \
                         `client_secret`, each form-urlencoded, as the user name and password. \
                         The alternative, `client_secret_post`, sends them as the form fields \
                         `client_id` and `client_secret`; public clients send only `client_id`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// How this deployment signs its access tokens, in words: the JOSE `alg` and the kind of
/// key that verifies it.
pub fn access_token_signing(tokens: &TokenConfig) -> String {
    use crate::config::AccessTokenAlgorithm as Kind;
    if tokens.jwt_secret_key.is_some() {
        return "`HS256` with a secret shared with the services that verify them \
            (`JWT_SECRET_KEY`); `/.well-known/jwks.json` is empty"
            .to_owned();
    }
    let key = match tokens.access_algorithm {
        Kind::EdDsa => "Ed25519 (`OKP`)",
        Kind::Es256 => "ECDSA P-256 (`EC`)",
        Kind::Rs256 => "RSA 2048 (`RSA`)",
    };
    format!(
        "`{}` with {key} keys published at `/.well-known/jwks.json`, chosen by the token's `kid`",
        tokens.access_algorithm.as_str()
    )
}

/// States in the document how this deployment signs access tokens (the description of
/// the document and of the bearer scheme): the algorithm is configuration, not code.
pub fn describe_token_signing(openapi: &mut utoipa::openapi::OpenApi, tokens: &TokenConfig) {
    let signing = access_token_signing(tokens);
    let info = &mut openapi.info;
    let mut description = info.description.take().unwrap_or_default();
    description.push_str(&format!(
        "\n\nThis deployment signs access tokens {signing}; their `iss` is `{}` and their `aud` \
         `{}` (an application's token: its client id).",
        tokens.issuer, tokens.audience
    ));
    info.description = Some(description);
    if let Some(utoipa::openapi::RefOr::T(SecurityScheme::Http(bearer))) = openapi
        .components
        .as_mut()
        .and_then(|components| components.security_schemes.get_mut("bearer"))
    {
        let described = bearer.description.take().unwrap_or_default();
        bearer.description = Some(format!("{described}. Signed {signing}."));
    }
}
