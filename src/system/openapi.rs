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

/// Documents the responses every operation can give besides its own: problem bodies for
/// malformed (400), too large (413) or wrongly typed (415) bodies and validation (422) on
/// operations that take one, 401 on authenticated ones, 404 for path ids, 500 and 503
/// under `/api/v1`; and the `X-Request-Id` header on every response. Applied to the
/// finished document, after every route has added its paths.
pub fn document_common_responses(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::Operation;

    for (path, item) in openapi.paths.paths.iter_mut() {
        let api = path.starts_with("/api/");
        let has_path_id = path.contains('{');
        let operations: [&mut Option<Operation>; 5] = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let mut add = |status: &str, description: &str| {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem_response(description).into());
            };
            if operation.request_body.is_some() {
                add(
                    "400",
                    "Malformed request body (not JSON, not an object, or a bad form)",
                );
                add("413", "Request body over 64 KiB");
                add("415", "Unsupported content type");
                add(
                    "422",
                    "Validation failed; `errors` names every failing field",
                );
            }
            if operation.security.is_some() {
                add(
                    "401",
                    "Missing, malformed, expired, wrongly signed or revoked access token (see WWW-Authenticate)",
                );
            }
            if has_path_id {
                add("404", "No such resource (also a malformed id)");
            }
            if api {
                add("500", "Internal error; the body carries the request id");
                add("503", "The database is unavailable; retry later");
            }
            for response in operation.responses.responses.values_mut() {
                if let utoipa::openapi::RefOr::T(response) = response {
                    response
                        .headers
                        .entry("X-Request-Id".to_owned())
                        .or_insert_with(|| {
                            utoipa::openapi::HeaderBuilder::new()
                                .schema(Some(
                                    utoipa::openapi::ObjectBuilder::new()
                                        .schema_type(utoipa::openapi::schema::Type::String),
                                ))
                                .description(Some(
                                    "The request's id: the one the client sent, or a new UUID",
                                ))
                                .build()
                                .into()
                        });
                }
            }
        }
    }
}

fn problem_response(description: &str) -> utoipa::openapi::Response {
    utoipa::openapi::ResponseBuilder::new()
        .description(description)
        .content(
            crate::error::PROBLEM_JSON,
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}
