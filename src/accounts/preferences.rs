//! The preferences JSON Schema: compiled once at start-up, with the defaults it declares,
//! validation that names every failing field by its dotted path without echoing
//! values, and RFC 7396 merge patches.

use std::path::Path;

use serde_json::{Map, Value};

use self::describe::describe;
use crate::config::ConfigError;
use crate::error::{FieldError, Why};
use crate::i18n::message_key;

mod describe;

/// The built-in study-spot schema (the contract's default).
pub const STUDY_SPOT_SCHEMA: &str = include_str!("../../schemas/study_spot.json");

/// A compiled preferences schema and the defaults it declares.
pub struct PreferencesSchema {
    validator: jsonschema::Validator,
    defaults: Map<String, Value>,
    /// The schema's text as configured (the console builds its preferences form from it,
    /// in the order the schema lists its properties).
    source: String,
}

impl std::fmt::Debug for PreferencesSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreferencesSchema")
            .field("defaults", &self.defaults)
            .finish_non_exhaustive()
    }
}

impl PreferencesSchema {
    /// The schema `PREFERENCES_SCHEMA` names, or the built-in one; an unusable schema is
    /// a configuration error naming `PREFERENCES_SCHEMA`.
    pub fn configured(path: Option<&Path>) -> Result<PreferencesSchema, ConfigError> {
        let invalid = |message: String| ConfigError {
            variable: "PREFERENCES_SCHEMA",
            message,
        };
        match path {
            None => PreferencesSchema::from_text(STUDY_SPOT_SCHEMA)
                .map_err(|m| invalid(format!("the built-in schema is invalid: {m}"))),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
                PreferencesSchema::from_text(&text)
                    .map_err(|m| invalid(format!("{} is not a usable schema: {m}", path.display())))
            }
        }
    }

    /// Compiles a schema given as JSON text. It must be a valid JSON Schema describing an
    /// object, and its defaults must satisfy it.
    pub fn from_text(text: &str) -> Result<PreferencesSchema, String> {
        let schema: Value =
            serde_json::from_str(text).map_err(|e| format!("it is not JSON ({e})"))?;
        if schema.get("type") != Some(&Value::String("object".into())) {
            return Err("its top level must be {\"type\": \"object\", ...}".into());
        }
        jsonschema::meta::validate(&schema)
            .map_err(|e| format!("it is not a valid JSON Schema: {}", e.masked()))?;
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| format!("it cannot be compiled: {}", e.masked()))?;
        let defaults = match object_defaults(&schema) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let compiled = PreferencesSchema {
            validator,
            defaults,
            source: text.to_owned(),
        };
        if let Err(errors) = compiled.validate(&Map::new()) {
            let fields: Vec<String> = errors.into_iter().map(|e| e.field).collect();
            return Err(format!(
                "its defaults do not satisfy it (fields: {})",
                fields.join(", ")
            ));
        }
        Ok(compiled)
    }

    /// The schema's JSON text, as configured.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// `stored` with the schema's defaults filled in where the user set nothing.
    pub fn with_defaults(&self, stored: &Map<String, Value>) -> Map<String, Value> {
        let mut document = self.defaults.clone();
        for (key, value) in stored {
            match (document.get_mut(key), value) {
                (Some(Value::Object(default)), Value::Object(given)) => {
                    let merged = merge_defaults(default.clone(), given);
                    *default = merged;
                }
                _ => {
                    document.insert(key.clone(), value.clone());
                }
            }
        }
        document
    }

    /// Checks `stored` (with defaults filled in) against the schema, naming every failing
    /// field by its dotted path.
    pub fn validate(&self, stored: &Map<String, Value>) -> Result<(), Vec<FieldError>> {
        let document = Value::Object(self.with_defaults(stored));
        let mut errors = Vec::new();
        for error in self.validator.iter_errors(&document) {
            let path = dotted(&error.instance_path().to_string());
            let why = describe(&error);
            match error.kind() {
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected }
                | jsonschema::error::ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                    for name in unexpected {
                        errors.push(
                            Why::new(
                                "is not a recognised field",
                                message_key("field-not-recognised"),
                            )
                            .at(join(&path, name)),
                        );
                    }
                }
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    errors.push(Why::required().at(join(&path, name)));
                }
                _ => errors.push(why.at(if path.is_empty() {
                    "body".to_owned()
                } else {
                    path
                })),
            }
        }
        free_text_errors(&document, "", &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Every string of a preferences document is free text the user chose: no control
/// (other than line breaks and tabs) or bidirectional formatting characters, whatever
/// the schema says.
fn free_text_errors(value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    match value {
        Value::String(text) => {
            if let Some(why) = crate::text::refusal(text, crate::text::Lines::Many) {
                errors.push(why.at(path));
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                free_text_errors(item, &join(path, &index.to_string()), errors);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                free_text_errors(item, &join(path, key), errors);
            }
        }
        _ => {}
    }
}

/// The defaults an object schema declares, nested objects included.
fn object_defaults(schema: &Value) -> Value {
    let mut defaults = match schema.get("default") {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for (name, property) in properties {
            if defaults.contains_key(name) {
                continue;
            }
            if let Some(default) = property.get("default") {
                defaults.insert(name.clone(), default.clone());
            } else if property.get("type") == Some(&Value::String("object".into()))
                && let Value::Object(nested) = object_defaults(property)
                && !nested.is_empty()
            {
                defaults.insert(name.clone(), Value::Object(nested));
            }
        }
    }
    Value::Object(defaults)
}

fn merge_defaults(
    mut defaults: Map<String, Value>,
    given: &Map<String, Value>,
) -> Map<String, Value> {
    for (key, value) in given {
        match (defaults.get_mut(key), value) {
            (Some(Value::Object(d)), Value::Object(g)) => {
                let merged = merge_defaults(d.clone(), g);
                *d = merged;
            }
            _ => {
                defaults.insert(key.clone(), value.clone());
            }
        }
    }
    defaults
}

/// RFC 7396: applies a JSON merge patch to `target`.
pub fn merge_patch(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(nested_patch) => {
                let entry = target
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                if let Value::Object(nested) = entry {
                    merge_patch(nested, nested_patch);
                }
            }
            other => {
                target.insert(key.clone(), other.clone());
            }
        }
    }
}

/// "/a/b~1c/0" -> "a.b/c.0"
fn dotted(pointer: &str) -> String {
    pointer
        .split('/')
        .skip(1)
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn the_built_in_schema_compiles_and_has_defaults() {
        let schema = PreferencesSchema::configured(None).unwrap();
        let document = schema.with_defaults(&Map::new());
        assert_eq!(document["noise_level"], "quiet");
        assert_eq!(document["max_distance_km"], 5);
        assert!(schema.validate(&Map::new()).is_ok());
    }

    #[test]
    fn violations_name_every_field_path() {
        let schema = PreferencesSchema::configured(None).unwrap();
        let errors = schema
            .validate(&map(json!({"noise_level": "deafening", "max_distance_km": 0, "wifi": "yes", "colour": "red"})))
            .unwrap_err();
        let mut fields: Vec<String> = errors.into_iter().map(|e| e.field).collect();
        fields.sort();
        assert_eq!(fields, ["colour", "max_distance_km", "noise_level", "wifi"]);
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut target = map(json!({"a": "b", "c": {"d": "e", "f": "g"}}));
        merge_patch(&mut target, &map(json!({"a": "z", "c": {"f": null}})));
        assert_eq!(Value::Object(target), json!({"a": "z", "c": {"d": "e"}}));
        let mut target = map(json!({"a": [1, 2]}));
        merge_patch(&mut target, &map(json!({"a": [3], "b": {"c": null}})));
        assert_eq!(Value::Object(target), json!({"a": [3], "b": {}}));
    }

    #[test]
    fn unusable_schemas_are_refused() {
        for text in [
            "not json",
            r#"{"type": "array"}"#,
            r#"{"type": "object", "properties": {"a": {"type": "nonsense"}}}"#,
            r#"{"type": "object", "properties": {"a": {"type": "integer", "default": "x"}}}"#,
        ] {
            assert!(PreferencesSchema::from_text(text).is_err(), "{text}");
        }
    }
}
