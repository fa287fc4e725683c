//! The OpenAPI 3.1 document's frame: information, security scheme, tags and the shared
//! error schema. Paths and their schemas come from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roster",
        description = "User management and authentication: accounts, sessions, short-lived JWT access tokens \
            (EdDSA, verifiable through `/.well-known/jwks.json`) with rotating refresh tokens, profiles, \
            preferences, premium tiers, badges and goals.\n\n\
            Errors are RFC 9457 problem details (`application/problem+json`) whose `type` is \
            `urn:roster:problem:<kind>`; validation failures (422) list every failing field in `errors`. \
            Lists are keyset-paginated with `limit` and `cursor`. Every response carries `X-Request-Id`.",
        license(name = "MIT"),
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, FieldError)),
    tags(
        (name = "auth", description = "Registration, login, tokens, sessions and passwords"),
        (name = "mfa", description = "Second factors (TOTP, recovery codes, passkeys), passkey login and re-authentication"),
        (name = "users", description = "Accounts, profiles, preferences, premium, search"),
        (name = "achievements", description = "Badges and learning goals"),
        (name = "admin", description = "Administration and audit"),
        (name = "system", description = "Service information, health, metrics, keys and documentation"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from /api/v1/auth/login, /token or /refresh",
                    ))
                    .build(),
            ),
        );
    }
}
