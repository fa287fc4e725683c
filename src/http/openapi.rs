//! The answers the HTTP layer gives by itself (rate limits, outages and deadlines, the
//! body extractors' 400/413/415/422, the bearer check's 401, malformed path ids' 404,
//! internal errors' 500) and the `X-Request-Id` header of every response, added to the
//! OpenAPI document for every operation they can happen to (under `/api/`, and the
//! subset that applies to the OAuth endpoints under `/oauth2/`), so the document stays
//! true for endpoints added later without each annotation repeating them.

use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{Content, Object, OpenApi, Ref, RefOr, Response, Schema, Type};

use super::ratelimit::{RATE_LIMITED_FORM_POSTS, RATE_LIMITED_ROUTES};
use crate::error::PROBLEM_JSON;

/// Documents every answer the middleware stack may give. Run on the finished document.
pub fn document_layer_responses(openapi: &mut OpenApi) {
    document_rate_limits(openapi);
    for (path, item) in openapi.paths.paths.iter_mut() {
        if path.starts_with("/oauth2/") {
            operations_mut(item).for_each(document_oauth_layer_responses);
            continue;
        }
        if !path.starts_with("/api/") {
            operations_mut(item).for_each(document_request_id);
            continue;
        }
        let has_path_id = path.contains('{');
        for operation in operations_mut(item) {
            if let Some(body) = &operation.request_body {
                let json = match body {
                    RefOr::T(body) => body
                        .content
                        .keys()
                        .any(|kind| kind == "application/json" || kind.ends_with("+json")),
                    RefOr::Ref(_) => true,
                };
                add_problem_response(
                    operation,
                    413,
                    "The request body is larger than 64 KiB",
                    None,
                );
                add_problem_response(
                    operation,
                    415,
                    "The request body is not of the documented content type",
                    None,
                );
                if json && !operation.responses.responses.contains_key("400") {
                    add_problem_response(
                        operation,
                        400,
                        "The body is not valid JSON, or an object in it repeats a key",
                        None,
                    );
                }
                if json {
                    add_problem_response(
                        operation,
                        422,
                        "Validation failed; `errors` names every failing field",
                        None,
                    );
                }
            }
            if operation.security.is_some() {
                add_problem_response(
                    operation,
                    401,
                    "Missing, malformed, expired, wrongly signed or revoked access token (see WWW-Authenticate)",
                    None,
                );
            }
            if has_path_id {
                add_problem_response(
                    operation,
                    404,
                    "No such resource (also a malformed id)",
                    None,
                );
            }
            add_problem_response(
                operation,
                500,
                "Internal error; the body carries the request id to quote",
                None,
            );
            add_problem_response(
                operation,
                503,
                "The database is unavailable, or the request could not be completed in time (REQUEST_TIMEOUT_SECONDS); retry later",
                Some((
                    "Retry-After",
                    Object::with_type(Type::Integer).into(),
                    "Seconds to wait before retrying",
                )),
            );
            document_request_id(operation);
        }
    }
}

/// The OAuth endpoints read their form bodies themselves and answer their own refusals
/// (RFC 6749 §5.2 JSON, RFC 6750 challenges, HTML pages), so only these answers of the
/// layer apply to them: the body limit, and internal errors and outages (the database,
/// the request deadline) as problem+json.
fn document_oauth_layer_responses(operation: &mut Operation) {
    if operation.request_body.is_some() {
        add_problem_response(
            operation,
            413,
            "The request body is larger than 64 KiB",
            None,
        );
    }
    add_problem_response(
        operation,
        500,
        "Internal error; the problem's body carries the request id to quote",
        None,
    );
    add_problem_response(
        operation,
        503,
        "The database is unavailable, or the request could not be completed in time (REQUEST_TIMEOUT_SECONDS); retry later",
        Some((
            "Retry-After",
            Object::with_type(Type::Integer).into(),
            "Seconds to wait before retrying",
        )),
    );
    document_request_id(operation);
}

/// Adds the 429 answer (problem+json with `Retry-After`) to every rate-limited
/// operation of the OpenAPI document, whoever wrote its annotations: every method of
/// the rate-limited routes, and the posts of the rate-limited forms.
fn document_rate_limits(openapi: &mut OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let limited: Vec<&mut Operation> = if RATE_LIMITED_ROUTES.contains(&path.as_str()) {
            operations_mut(item).collect()
        } else if RATE_LIMITED_FORM_POSTS.contains(&path.as_str()) {
            item.post.iter_mut().collect()
        } else {
            continue;
        };
        for operation in limited {
            add_problem_response(
                operation,
                429,
                "Too many requests from this client address (RATE_LIMIT_AUTH_PER_MINUTE); see Retry-After",
                Some((
                    "Retry-After",
                    Object::with_type(Type::Integer).into(),
                    "Seconds until a request is allowed again",
                )),
            );
        }
    }
}

/// Documents the `X-Request-Id` header on every response of `operation`.
fn document_request_id(operation: &mut Operation) {
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            response
                .headers
                .entry("X-Request-Id".to_owned())
                .or_insert_with(|| {
                    let mut header = Header::new(Object::with_type(Type::String));
                    header.description =
                        Some("The request's id: the one the client sent, or a new UUID".to_owned());
                    RefOr::T(header)
                });
        }
    }
}

/// Every operation of a path.
pub fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}

/// Adds a problem+json answer with `status` (and optionally a header) to `operation`;
/// an answer already documented for that status gains the problem+json body if it lacks it.
pub fn add_problem_response(
    operation: &mut Operation,
    status: u16,
    description: &str,
    header: Option<(&str, RefOr<Schema>, &str)>,
) {
    let entry = operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::T(Response::new(description)));
    let RefOr::T(response) = entry else {
        return;
    };
    response
        .content
        .entry(PROBLEM_JSON.to_owned())
        .or_insert_with(|| RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))));
    if let Some((name, schema, text)) = header {
        response.headers.entry(name.to_owned()).or_insert_with(|| {
            let mut header = Header::new(schema);
            header.description = Some(text.to_owned());
            RefOr::T(header)
        });
    }
}
