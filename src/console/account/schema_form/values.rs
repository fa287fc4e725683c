//! What the fields of a [`SchemaForm`] hold: the document shown in them, what was
//! posted (kept on a refusal, with the mistakes next to their fields), and the JSON
//! document a submission describes.

use serde::Serialize;
use serde_json::{Map, Number, Value};

use super::{Control, FormField, ItemKind, Say, SchemaForm, capitalised, number_text};
use crate::error::FieldError;
use crate::i18n::{Arg, message_key};

/// A field with what it holds, as the template shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FieldView {
    #[serde(flatten)]
    pub field: FormField,
    /// The text of a text, number, textarea, lines or JSON field, or the chosen value of
    /// a select.
    pub value: String,
    /// A checkbox's state.
    pub checked: bool,
    /// The chosen values of a checkbox group.
    pub selected: Vec<String>,
    /// What is wrong with it, in words.
    pub errors: Vec<String>,
}

impl SchemaForm {
    /// The fields showing `document` (the preferences with defaults filled in).
    pub fn show(&self, document: &Map<String, Value>) -> Vec<FieldView> {
        self.fields
            .iter()
            .map(|field| {
                view(
                    field,
                    entered_from_document(field, lookup(document, &field.path)),
                )
            })
            .collect()
    }

    /// The fields showing what was posted (`pairs`), with `errors` next to their fields
    /// (an item's error says which item, in words of `say`); the errors no field claims
    /// are returned apart.
    pub fn show_posted(
        &self,
        pairs: &[(String, String)],
        errors: &[FieldError],
        say: Say<'_>,
    ) -> (Vec<FieldView>, Vec<String>) {
        let mut views: Vec<FieldView> = self
            .fields
            .iter()
            .map(|field| view(field, entered_from_pairs(field, pairs)))
            .collect();
        let mut unclaimed = Vec::new();
        for error in errors {
            let owner = views.iter_mut().find(|v| {
                error.field == v.field.path
                    || error
                        .field
                        .strip_prefix(v.field.path.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
            });
            // The rule's words in the page's language, when it names them.
            let said = error.words.as_ref().map(|(key, args)| {
                let args: Vec<(&str, Arg)> = args
                    .iter()
                    .map(|(name, value)| (*name, Arg::read(value)))
                    .collect();
                say(key, &args)
            });
            match owner {
                Some(view) => {
                    let rest = &error.field[view.field.path.len()..];
                    let message = match rest.strip_prefix('.').and_then(|i| i.parse::<usize>().ok())
                    {
                        Some(index) => say(
                            message_key("preferences-error-item"),
                            &[
                                ("item", Arg::from((index + 1) as u64)),
                                (
                                    "message",
                                    Arg::from(said.as_deref().unwrap_or(&error.message)),
                                ),
                            ],
                        ),
                        None => said.unwrap_or_else(|| capitalised(&error.message)),
                    };
                    view.errors.push(message);
                }
                None => unclaimed.push(format!(
                    "{}: {}",
                    error.field,
                    said.as_deref().unwrap_or(&error.message)
                )),
            }
        }
        (views, unclaimed)
    }

    /// The JSON document the posted `pairs` describe. Fields left empty that may not be
    /// null are left out (they take their defaults); values that cannot be converted
    /// (letters in a number field, a choice the form did not offer) are named by path,
    /// in words of `say`.
    pub fn read(
        &self,
        pairs: &[(String, String)],
        say: Say<'_>,
    ) -> Result<Map<String, Value>, Vec<FieldError>> {
        let mut document = Map::new();
        let mut errors = Vec::new();
        for field in &self.fields {
            match to_json(field, &entered_from_pairs(field, pairs)) {
                Ok(Some(value)) => insert(&mut document, &field.path, value),
                Ok(None) => {}
                Err((key, args)) => {
                    errors.push(FieldError::new(field.path.clone(), say(key, &args)))
                }
            }
        }
        if errors.is_empty() {
            Ok(document)
        } else {
            Err(errors)
        }
    }
}

/// What a field holds, as text.
#[derive(Debug, Default)]
struct Entered {
    value: String,
    checked: bool,
    selected: Vec<String>,
}

fn lookup<'a>(document: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut segments = path.split('.');
    let mut current = document.get(segments.next()?)?;
    for segment in segments {
        current = current.get(segment)?;
    }
    Some(current)
}

fn insert(document: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            document.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry = document
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(nested) = entry {
                insert(nested, rest, value);
            }
        }
    }
}

fn choice_value(field: &FormField, json: &Value) -> Option<String> {
    field
        .choices
        .iter()
        .find(|c| &c.json == json)
        .map(|c| c.value.clone())
}

fn entered_from_document(field: &FormField, value: Option<&Value>) -> Entered {
    let value = value.unwrap_or(&Value::Null);
    let mut entered = Entered::default();
    match field.control {
        Control::Checkbox => entered.checked = value == &Value::Bool(true),
        Control::Select => entered.value = choice_value(field, value).unwrap_or_default(),
        Control::Number => entered.value = number_text(value).unwrap_or_default(),
        Control::Text | Control::Textarea => {
            entered.value = value.as_str().unwrap_or_default().to_owned();
        }
        Control::Checkboxes => {
            entered.selected = value
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|v| choice_value(field, v))
                        .collect()
                })
                .unwrap_or_default();
        }
        Control::Lines => {
            entered.value = value
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
        }
        Control::Json => {
            if !value.is_null() {
                entered.value = serde_json::to_string_pretty(value).unwrap_or_default();
            }
        }
    }
    entered
}

fn entered_from_pairs(field: &FormField, pairs: &[(String, String)]) -> Entered {
    let mut values = pairs
        .iter()
        .filter(|(name, _)| *name == field.name)
        .map(|(_, v)| v);
    let mut entered = Entered::default();
    match field.control {
        Control::Checkbox => entered.checked = values.next().is_some(),
        Control::Checkboxes => entered.selected = values.cloned().collect(),
        _ => {
            entered.value = values
                .next()
                .cloned()
                .unwrap_or_default()
                .replace("\r\n", "\n")
        }
    }
    entered
}

fn view(field: &FormField, entered: Entered) -> FieldView {
    FieldView {
        field: field.clone(),
        value: entered.value,
        checked: entered.checked,
        selected: entered.selected,
        errors: Vec::new(),
    }
}

fn parse_number(text: &str, kind: ItemKind) -> Option<Value> {
    let text = text.trim();
    if kind == ItemKind::Integer {
        return text.parse::<i64>().ok().map(Value::from);
    }
    if let Ok(whole) = text.parse::<i64>() {
        return Some(Value::from(whole));
    }
    let number = text.parse::<f64>().ok().filter(|n| n.is_finite())?;
    Number::from_f64(number).map(Value::Number)
}

/// What is wrong with a field's text: a message of `locales/` and its variables.
type Mistake = (&'static str, Vec<(&'static str, Arg)>);

/// The JSON value of a field; `None` leaves it out of the document (its default applies).
fn to_json(field: &FormField, entered: &Entered) -> Result<Option<Value>, Mistake> {
    let empty = |field: &FormField| {
        if field.nullable {
            Some(Value::Null)
        } else {
            None
        }
    };
    match field.control {
        Control::Checkbox => Ok(Some(Value::Bool(entered.checked))),
        Control::Select => {
            if entered.value.is_empty() {
                return Ok(empty(field));
            }
            field
                .choices
                .iter()
                .find(|c| c.value == entered.value)
                .map(|c| Some(c.json.clone()))
                .ok_or((message_key("preferences-error-choice"), Vec::new()))
        }
        Control::Number => {
            if entered.value.trim().is_empty() {
                return Ok(empty(field));
            }
            let kind = if field.step == Some("1") {
                ItemKind::Integer
            } else {
                ItemKind::Number
            };
            parse_number(&entered.value, kind).map(Some).ok_or_else(|| {
                if kind == ItemKind::Integer {
                    (message_key("preferences-error-whole-number"), Vec::new())
                } else {
                    (message_key("preferences-error-number"), Vec::new())
                }
            })
        }
        Control::Text | Control::Textarea => {
            if entered.value.is_empty() && (field.nullable || field.min_length > 0) {
                return Ok(empty(field));
            }
            Ok(Some(Value::String(entered.value.clone())))
        }
        Control::Checkboxes => {
            let mut items = Vec::new();
            for chosen in &entered.selected {
                let choice = field
                    .choices
                    .iter()
                    .find(|c| &c.value == chosen)
                    .ok_or((message_key("preferences-error-choices"), Vec::new()))?;
                items.push(choice.json.clone());
            }
            Ok(Some(Value::Array(items)))
        }
        Control::Lines => {
            let mut items = Vec::new();
            for (index, line) in entered
                .value
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .enumerate()
            {
                let item = match field.item_kind {
                    ItemKind::Text => Value::String(line.to_owned()),
                    kind => parse_number(line, kind).ok_or_else(|| {
                        let item = Arg::from((index + 1) as u64);
                        (
                            message_key("preferences-error-item-number"),
                            vec![("item", item)],
                        )
                    })?,
                };
                items.push(item);
            }
            Ok(Some(Value::Array(items)))
        }
        Control::Json => {
            if entered.value.trim().is_empty() {
                return Ok(empty(field));
            }
            serde_json::from_str(&entered.value)
                .map(Some)
                .map_err(|_| (message_key("preferences-error-json"), Vec::new()))
        }
    }
}
