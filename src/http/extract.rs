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
use crate::i18n::message_key;

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

/// Parses a JSON object into `T`: invalid JSON and an object that repeats a key are 400,
/// a wrong shape is 422 naming fields.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let UniqueKeys(value) = serde_json::from_slice(bytes).map_err(|e| {
        match between_backticks(&e.to_string(), REPEATED_KEY) {
            Some(key) => ApiError::Malformed(format!(
                "the key `{key}` appears more than once in one object: send each key once"
            )),
            None => ApiError::Malformed(format!(
                "the body is not valid JSON ({})",
                e.classify_position()
            )),
        }
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

const REPEATED_KEY: &str = "repeated key `";

/// A JSON value whose objects name each key once. `serde_json::Value` keeps the last of
/// repeated keys, so a filter in front of Roster that reads the first one would see
/// another request than Roster does; refusing them leaves one reading.
struct UniqueKeys(serde_json::Value);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UniqueKeysVisitor)
            .map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(serde_json::Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let UniqueKeys(value) = map.next_value()?;
            if object.contains_key(&key) {
                let shown: String = key.chars().filter(|c| !c.is_control()).take(64).collect();
                return Err(serde::de::Error::custom(format!("{REPEATED_KEY}{shown}`")));
            }
            object.insert(key, value);
        }
        Ok(serde_json::Value::Object(object))
    }
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
            .map_err(|_| ApiError::not_found("resource", message_key("not-found-resource")))
    }
}

/// `201 Created` with a JSON body.
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, axum::Json(self.0)).into_response()
    }
}

/// `201 Created` with a new account and its `Location` (`/api/v1/users/{id}`).
pub fn created_user(user: &crate::accounts::model::User) -> Response {
    let mut response = Created(user).into_response();
    if let Ok(location) = header::HeaderValue::from_str(&format!("/api/v1/users/{}", user.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Responses that carry tokens must not be stored by caches (RFC 6749 §5.1).
pub fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::PRAGMA,
        axum::http::HeaderValue::from_static("no-cache"),
    );
    response
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
    fn a_repeated_key_is_400_at_any_depth() {
        for body in [
            &br#"{"login":"nobody","login":"root","password":"b"}"#[..],
            br#"{"login":"a","password":"b","device_name":{"x":1,"x":2}}"#,
            br#"{"login":"a","password":"b","device_name":[{"y":1,"y":1}]}"#,
        ] {
            match parse_json::<serde_json::Value>(body) {
                Err(ApiError::Malformed(detail)) => {
                    assert!(detail.contains("more than once"), "{detail}")
                }
                other => panic!(
                    "expected 400 for {}, got {other:?}",
                    String::from_utf8_lossy(body)
                ),
            }
        }
        // The same key in two different objects is no repetition.
        assert!(parse_json::<serde_json::Value>(br#"{"a":{"k":1},"b":{"k":2}}"#).is_ok());
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
