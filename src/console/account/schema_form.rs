//! The preferences form, generated from the configured preferences JSON Schema, so any
//! schema given with `PREFERENCES_SCHEMA` gets a usable form without a code change.
//!
//! [`SchemaForm::from_text`] reads the schema's properties in the order it lists them
//! (nested objects are flattened into dotted paths, as validation errors name them) and
//! picks a control for each: a checkbox for a boolean, a select for an enum, a number
//! input (with the schema's bounds) for a number or integer, a text input for a string
//! (a textarea when `maxLength` > 200), a checkbox group for an array of enum values, a
//! textarea with one item per line for another array of strings or numbers, and a JSON
//! textarea for whatever else. Labels come from `title` (or the property's name made
//! readable), help from `description`, and each field shows its default. What the form
//! says itself (the constraints in words, a default of none, its own mistakes) is said
//! by a [`Say`] in the reader's language (`preferences-*` in `console-account.ftl`).
//!
//! [`SchemaForm::read`] turns the posted fields back into the JSON document (what a
//! field cannot even be converted to is named by its path); the schema itself is then
//! checked by the same function `PUT /api/v1/users/me/preferences` calls.

use serde::Serialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

use crate::i18n::{Arg, message_key};

/// Says the message `key` of `locales/` with its variables in the reader's language
/// (`Pages::tr_with` for a request).
pub type Say<'a> = &'a dyn Fn(&str, &[(&str, Arg)]) -> String;

/// The prefix of every generated input's name, so that no property can collide with the
/// form's own fields (`csrf_token`).
const NAME_PREFIX: &str = "pref.";

mod values;

pub use values::FieldView;

/// What control a field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Control {
    Checkbox,
    Select,
    Number,
    Text,
    Textarea,
    /// A checkbox group: an array whose items are enum values.
    Checkboxes,
    /// A textarea, one item per line: an array of strings or numbers.
    Lines,
    /// A textarea holding JSON: anything the other controls cannot express.
    Json,
}

/// One choice of a select or a checkbox group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    /// What the form posts.
    pub value: String,
    pub label: String,
    #[serde(skip)]
    json: Value,
}

/// A field of the form, as the schema describes it.
#[derive(Debug, Clone, Serialize)]
pub struct FormField {
    /// The dotted path validation errors use (`shipping.country`).
    pub path: String,
    /// The input's name.
    pub name: String,
    /// The input's id (and the prefix of its help and error ids).
    pub id: String,
    pub label: String,
    pub help: Option<String>,
    /// The constraints in words (`More than 0, at most 1000.`).
    pub rules: Option<String>,
    /// The default in words, when the schema declares one.
    pub default_text: Option<String>,
    pub control: Control,
    /// Whether the field may be empty (null).
    pub nullable: bool,
    pub choices: Vec<Choice>,
    pub min: Option<String>,
    pub max: Option<String>,
    /// `1` for integers, `any` for other numbers.
    pub step: Option<&'static str>,
    pub maxlength: Option<u64>,
    #[serde(skip)]
    item_kind: ItemKind,
    #[serde(skip)]
    min_length: u64,
}

/// What the items of a `Lines` field are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ItemKind {
    #[default]
    Text,
    Integer,
    Number,
}

/// The form for one schema.
#[derive(Debug, Clone)]
pub struct SchemaForm {
    pub fields: Vec<FormField>,
}

impl SchemaForm {
    /// The form for the schema in `text` (a configured schema has been checked at
    /// start-up; anything unexpected here becomes a JSON field rather than an error).
    pub fn from_text(text: &str, say: Say<'_>) -> Result<SchemaForm, serde_json::Error> {
        let schema: Value = serde_json::from_str(text)?;
        let order: Keys = serde_json::from_str(text)?;
        let mut fields = Vec::new();
        collect_fields(&schema, &order, "", "", say, &mut fields);
        Ok(SchemaForm { fields })
    }
}

/// The order of every object's keys in the schema's text (serde_json's maps are sorted).
#[derive(Debug, Default)]
struct Keys(Vec<(String, Keys)>);

impl Keys {
    fn get(&self, key: &str) -> Option<&Keys> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Keys, D::Error> {
        struct KeysVisitor;
        impl<'de> Visitor<'de> for KeysVisitor {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    keys.push((key, map.next_value::<Keys>()?));
                }
                Ok(Keys(keys))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Keys, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Keys::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Keys, E> {
                Ok(Keys::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Keys, E> {
                Ok(Keys::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Keys, E> {
                Ok(Keys::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Keys, E> {
                Ok(Keys::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Keys, E> {
                Ok(Keys::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Keys, E> {
                Ok(Keys::default())
            }
        }
        deserializer.deserialize_any(KeysVisitor)
    }
}

fn collect_fields(
    schema: &Value,
    order: &Keys,
    path: &str,
    label_prefix: &str,
    say: Say<'_>,
    out: &mut Vec<FormField>,
) {
    let Some(Value::Object(properties)) = schema.get("properties") else {
        return;
    };
    let ordered = order.get("properties");
    let mut names: Vec<&String> = Vec::new();
    if let Some(ordered) = ordered {
        names.extend(
            ordered
                .0
                .iter()
                .filter_map(|(k, _)| properties.get_key_value(k).map(|(k, _)| k)),
        );
    }
    names.extend(
        properties
            .keys()
            .filter(|k| !names.contains(k))
            .collect::<Vec<_>>(),
    );
    for name in names {
        let property = &properties[name.as_str()];
        let field_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        let label = format!("{label_prefix}{}", title_of(property, name));
        let (primary, nullable) = kind_of(property);
        if primary.as_deref() == Some("object") && property.get("properties").is_some() {
            let nested_order = ordered.and_then(|o| o.get(name)).unwrap_or(&EMPTY_KEYS);
            collect_fields(
                property,
                nested_order,
                &field_path,
                &format!("{label}: "),
                say,
                out,
            );
            continue;
        }
        out.push(describe(
            property,
            field_path,
            label,
            primary.as_deref(),
            nullable,
            say,
        ));
    }
}

static EMPTY_KEYS: Keys = Keys(Vec::new());

/// The primary type of a property and whether it admits null.
fn kind_of(property: &Value) -> (Option<String>, bool) {
    let mut types: Vec<String> = match property.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let enum_has_null = property
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|values| values.contains(&Value::Null));
    let nullable = types.iter().any(|t| t == "null") || enum_has_null;
    types.retain(|t| t != "null");
    (types.into_iter().next(), nullable)
}

fn title_of(property: &Value, name: &str) -> String {
    property
        .get("title")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| humanised(name))
}

/// `max_distance_km` -> `Max distance km`.
fn humanised(name: &str) -> String {
    capitalised(&name.replace(['_', '-'], " "))
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn choices_of(values: &[Value]) -> Vec<Choice> {
    values
        .iter()
        .filter(|v| !v.is_null())
        .map(|v| {
            let value = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Choice {
                label: capitalised(&value),
                value,
                json: v.clone(),
            }
        })
        .collect()
}

fn number_text(value: &Value) -> Option<String> {
    value.as_number().map(Number::to_string)
}

fn describe(
    property: &Value,
    path: String,
    label: String,
    primary: Option<&str>,
    nullable: bool,
    say: Say<'_>,
) -> FormField {
    let enum_values = property.get("enum").and_then(Value::as_array);
    let items = property.get("items").unwrap_or(&Value::Null);
    let item_enum = items.get("enum").and_then(Value::as_array);
    let (item_type, _) = kind_of(items);
    let max_length = property.get("maxLength").and_then(Value::as_u64);
    let control = match (enum_values, primary) {
        (Some(_), _) => Control::Select,
        (None, Some("boolean")) => Control::Checkbox,
        (None, Some("integer" | "number")) => Control::Number,
        (None, Some("string")) if max_length.is_some_and(|m| m > 200) => Control::Textarea,
        (None, Some("string")) => Control::Text,
        (None, Some("array")) if item_enum.is_some() => Control::Checkboxes,
        (None, Some("array"))
            if matches!(item_type.as_deref(), Some("string" | "integer" | "number")) =>
        {
            Control::Lines
        }
        _ => Control::Json,
    };
    let choices = match control {
        Control::Select => choices_of(enum_values.map(Vec::as_slice).unwrap_or_default()),
        Control::Checkboxes => choices_of(item_enum.map(Vec::as_slice).unwrap_or_default()),
        _ => Vec::new(),
    };
    let minimum = property.get("minimum").and_then(number_text);
    let exclusive_minimum = property.get("exclusiveMinimum").and_then(number_text);
    let maximum = property.get("maximum").and_then(number_text);
    let exclusive_maximum = property.get("exclusiveMaximum").and_then(number_text);
    let mut rules = Vec::new();
    if control == Control::Number {
        if let Some(min) = &minimum {
            rules.push(say(
                message_key("preferences-rule-at-least"),
                &[("min", min.as_str().into())],
            ));
        }
        if let Some(min) = &exclusive_minimum {
            rules.push(say(
                message_key("preferences-rule-more-than"),
                &[("min", min.as_str().into())],
            ));
        }
        if let Some(max) = &maximum {
            rules.push(say(
                message_key("preferences-rule-at-most"),
                &[("max", max.as_str().into())],
            ));
        }
        if let Some(max) = &exclusive_maximum {
            rules.push(say(
                message_key("preferences-rule-less-than"),
                &[("max", max.as_str().into())],
            ));
        }
        if primary == Some("integer") {
            rules.insert(0, say(message_key("preferences-rule-whole-number"), &[]));
        }
    }
    if let (Control::Text | Control::Textarea, Some(max)) = (control, max_length) {
        rules.push(say(
            message_key("preferences-rule-max-characters"),
            &[("max", max.into())],
        ));
    }
    if control == Control::Lines {
        rules.push(say(message_key("preferences-rule-one-per-line"), &[]));
        if let Some(max) = items.get("maxLength").and_then(Value::as_u64) {
            rules.push(say(
                message_key("preferences-rule-each-max-characters"),
                &[("max", max.into())],
            ));
        }
    }
    let max_items = property.get("maxItems").and_then(Value::as_u64);
    if let (Control::Lines | Control::Checkboxes, Some(max)) = (control, max_items) {
        rules.push(say(
            message_key("preferences-rule-max-items"),
            &[("max", max.into())],
        ));
    }
    if control == Control::Json {
        rules.push(say(message_key("preferences-rule-json"), &[]));
    }
    if nullable && matches!(control, Control::Number | Control::Text | Control::Textarea) {
        rules.push(say(message_key("preferences-rule-empty-for-none"), &[]));
    }
    let item_kind = match item_type.as_deref() {
        Some("integer") => ItemKind::Integer,
        Some("number") => ItemKind::Number,
        _ => ItemKind::Text,
    };
    let mut field = FormField {
        name: format!("{NAME_PREFIX}{path}"),
        id: format!(
            "pref-{}",
            path.chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                })
                .collect::<String>()
        ),
        path,
        label,
        help: property
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        rules: (!rules.is_empty()).then(|| format!("{}.", capitalised(&rules.join(", ")))),
        default_text: None,
        control,
        nullable,
        choices,
        min: if control == Control::Number {
            minimum.or(exclusive_minimum)
        } else {
            None
        },
        max: if control == Control::Number {
            maximum.or(exclusive_maximum)
        } else {
            None
        },
        step: match (control, primary) {
            (Control::Number, Some("integer")) => Some("1"),
            (Control::Number, _) => Some("any"),
            _ => None,
        },
        maxlength: max_length.filter(|_| matches!(control, Control::Text | Control::Textarea)),
        item_kind,
        min_length: property
            .get("minLength")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    };
    field.default_text = property
        .get("default")
        .map(|d| default_text(&field, d, say));
    field
}

/// A default in words.
fn default_text(field: &FormField, default: &Value, say: Say<'_>) -> String {
    let label_of = |v: &Value| {
        field
            .choices
            .iter()
            .find(|c| &c.json == v)
            .map(|c| c.label.clone())
            .unwrap_or_else(|| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
    };
    match default {
        Value::Null => say(message_key("preferences-value-none"), &[]),
        Value::Bool(true) => say(message_key("preferences-value-on"), &[]),
        Value::Bool(false) => say(message_key("preferences-value-off"), &[]),
        Value::String(s) if s.is_empty() => say(message_key("preferences-value-empty"), &[]),
        Value::Array(items) if items.is_empty() => say(message_key("preferences-value-none"), &[]),
        Value::Array(items) if field.control != Control::Json => {
            items.iter().map(label_of).collect::<Vec<_>>().join(", ")
        }
        other => label_of(other),
    }
}

#[cfg(test)]
mod tests;
