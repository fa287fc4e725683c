//! Request extractors: JSON bodies (`application/json` only, unknown fields rejected)
//! and query strings, both turning serde's first error into a problem naming the field
//! and never echoing the offending value (it may be a password).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// A JSON request body of type `T`.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json(req.headers())?;
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::Malformed("the request body could not be read".into())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// 415 unless the body is declared as JSON (`application/json`, or `+json`, any parameters).
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(
            "send the body as application/json".into(),
        ))
    }
}

/// Parses a JSON object into `T`: invalid JSON is 400, a wrong shape is 422 naming fields.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::Malformed(format!(
            "the body is not valid JSON ({})",
            e.classify_position()
        ))
    })?;
    if !value.is_object() {
        return Err(ApiError::Malformed("the body must be a JSON object".into()));
    }
    let mut nul_fields = Vec::new();
    find_nul_characters(&value, "", &mut nul_fields);
    if !nul_fields.is_empty() {
        return Err(ApiError::Validation(nul_fields));
    }
    let keys: Vec<String> = value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| shape_error(e, &keys))
}

/// Text may not contain NUL characters: PostgreSQL cannot store them, and no field of
/// Roster's means anything with one. Reported for every string (or key) holding one.
fn find_nul_characters(value: &serde_json::Value, path: &str, errors: &mut Vec<FieldError>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        serde_json::Value::String(text) if text.contains('\0') => {
            errors.push(FieldError::new(
                if path.is_empty() { "body" } else { path },
                "must not contain NUL characters",
            ));
        }
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                find_nul_characters(item, &join(&index.to_string()), errors);
            }
        }
        serde_json::Value::Object(fields) => {
            for (key, item) in fields {
                if key.contains('\0') {
                    errors.push(FieldError::new(
                        join(&key.replace('\0', "")),
                        "must not contain NUL characters",
                    ));
                } else {
                    find_nul_characters(item, &join(key), errors);
                }
            }
        }
        _ => {}
    }
}

trait ClassifyPosition {
    fn classify_position(&self) -> String;
}

impl ClassifyPosition for serde_json::Error {
    fn classify_position(&self) -> String {
        format!(
            "{:?} error at line {} column {}",
            self.classify(),
            self.line(),
            self.column()
        )
    }
}

/// Turns a serde error at a path into field errors. An unknown field names every
/// unknown key of that object at once (serde reports the expected ones).
fn shape_error(
    error: serde_path_to_error::Error<serde_json::Error>,
    top_level_keys: &[String],
) -> ApiError {
    let path = error.path().to_string();
    let path = if path == "." { String::new() } else { path };
    let message = error.inner().to_string();
    if let Some(unknown) = between_backticks(&message, "unknown field `") {
        // The path ends with the unknown key itself; the object holding it is its parent.
        let path = path
            .strip_suffix(unknown)
            .map(|p| p.trim_end_matches('.').to_owned())
            .unwrap_or(path);
        // Only the top-level object's keys are known here; nested unknown fields are named alone.
        let expected = expected_fields(&message);
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}.")
        };
        let mut errors: Vec<FieldError> = if path.is_empty() && !expected.is_empty() {
            top_level_keys
                .iter()
                .filter(|k| !expected.contains(&k.as_str()))
                .map(|k| FieldError::new(k.clone(), "is not a recognised field"))
                .collect()
        } else {
            Vec::new()
        };
        if errors.is_empty() {
            errors.push(FieldError::new(
                format!("{prefix}{unknown}"),
                "is not a recognised field",
            ));
        }
        return ApiError::Validation(errors);
    }
    if let Some(missing) = between_backticks(&message, "missing field `") {
        let field = if path.is_empty() {
            missing.to_owned()
        } else {
            format!("{path}.{missing}")
        };
        return ApiError::Validation(vec![FieldError::new(field, "is required")]);
    }
    let field = if path.is_empty() {
        "body".to_owned()
    } else {
        path
    };
    ApiError::Validation(vec![FieldError::new(field, describe_mismatch(&message))])
}

fn between_backticks<'a>(message: &'a str, marker: &str) -> Option<&'a str> {
    let start = message.find(marker)? + marker.len();
    let end = message[start..].find('`')?;
    Some(&message[start..start + end])
}

/// The field names serde lists after "expected": "one of `a`, `b`", "`a` or `b`", "`a`".
fn expected_fields(message: &str) -> Vec<&str> {
    match message.find("expected ") {
        Some(start) => message[start..].split('`').skip(1).step_by(2).collect(),
        None => Vec::new(),
    }
}

/// "invalid type: integer `5`, expected a string" -> "must be a string" (no value echoed).
fn describe_mismatch(message: &str) -> String {
    let core = message.split(" at line ").next().unwrap_or(message);
    match core.rfind("expected ") {
        Some(i) => format!("must be {}", &core[i + "expected ".len()..]),
        None if core.contains("unknown variant") => "is not one of the allowed values".to_owned(),
        None => "is invalid".to_owned(),
    }
}

/// Query-string parameters of type `T`; a bad value is 422 naming the parameter.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        if let Some((name, _)) = form_urlencoded::parse(query.as_bytes())
            .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        {
            return Err(ApiError::Validation(vec![FieldError::new(
                name.replace('\0', ""),
                "must not contain NUL characters",
            )]));
        }
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|e| {
                let message = e.inner().to_string();
                let field = between_backticks(&message, "unknown field `")
                    .or_else(|| between_backticks(&message, "missing field `"))
                    .map(str::to_owned)
                    .unwrap_or_else(|| e.path().to_string());
                let text = if message.starts_with("unknown field") {
                    "is not a recognised parameter".to_owned()
                } else if message.starts_with("missing field") {
                    "is required".to_owned()
                } else {
                    describe_mismatch(&message)
                };
                ApiError::Validation(vec![FieldError::new(field, text)])
            })
    }
}

/// Path parameters of type `T`; a value that does not parse (say, an id that is not a
/// UUID) cannot name an existing resource, so it is 404.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|_| ApiError::not_found("resource"))
    }
}

/// `201 Created` with a JSON body.
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, axum::Json(self.0)).into_response()
    }
}

/// `204 No Content`.
pub struct NoContent;

impl IntoResponse for NoContent {
    fn into_response(self) -> Response {
        StatusCode::NO_CONTENT.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Login {
        login: String,
        password: String,
        device_name: Option<String>,
    }

    fn fields(err: ApiError) -> Vec<(String, String)> {
        match err {
            ApiError::Validation(errors) => {
                errors.into_iter().map(|e| (e.field, e.message)).collect()
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn every_unknown_field_is_named() {
        let err =
            parse_json::<Login>(br#"{"login":"a","password":"b","role":"admin","tier":"premium"}"#)
                .unwrap_err();
        let names: Vec<String> = fields(err).into_iter().map(|(f, _)| f).collect();
        assert_eq!(names, ["role", "tier"]);
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Pair {
        first: String,
        second: String,
    }

    #[test]
    fn only_unknown_fields_are_named_whatever_serde_lists() {
        // serde words the expected fields differently for one, two and more fields.
        let err = parse_json::<Pair>(br#"{"first":"a","second":"b","third":"c"}"#).unwrap_err();
        assert_eq!(
            fields(err).into_iter().map(|(f, _)| f).collect::<Vec<_>>(),
            ["third"]
        );
        let err = parse_json::<Login>(br#"{"login":"a","password":"b","extra":1}"#).unwrap_err();
        assert_eq!(
            fields(err).into_iter().map(|(f, _)| f).collect::<Vec<_>>(),
            ["extra"]
        );
    }

    #[test]
    fn missing_and_mistyped_fields_are_named_without_echoing_values() {
        assert_eq!(
            fields(parse_json::<Login>(br#"{"login":"a"}"#).unwrap_err()),
            [("password".into(), "is required".into())]
        );
        let mistyped =
            fields(parse_json::<Login>(br#"{"login":"a","password":123456789}"#).unwrap_err());
        assert_eq!(mistyped[0].0, "password");
        assert!(!mistyped[0].1.contains("123456789"));
    }

    #[test]
    fn malformed_json_and_non_objects_are_400() {
        assert!(matches!(
            parse_json::<Login>(b"{\"login\":"),
            Err(ApiError::Malformed(_))
        ));
        assert!(matches!(
            parse_json::<Login>(b"[1,2]"),
            Err(ApiError::Malformed(_))
        ));
    }
}
