//! The form both shipped schemas get, and round trips through it.

use serde_json::{Map, Value, json};

use super::*;
use crate::accounts::preferences::{PreferencesSchema, STUDY_SPOT_SCHEMA};
use crate::error::FieldError;

const JOB_MATCHING: &str = include_str!("../../../../schemas/job_matching.json");

/// The form's own words in English.
fn english(key: &str, args: &[(&str, crate::i18n::Arg)]) -> String {
    crate::i18n::Words::new("Roster").text(crate::i18n::Language::En, key, args)
}

fn controls(form: &SchemaForm) -> Vec<(&str, Control)> {
    form.fields
        .iter()
        .map(|f| (f.path.as_str(), f.control))
        .collect()
}

/// What a browser posts for `views`, as shown.
fn posted(views: &[FieldView]) -> Vec<(String, String)> {
    let mut pairs = vec![("csrf_token".to_owned(), "x".to_owned())];
    for view in views {
        match view.field.control {
            Control::Checkbox if view.checked => pairs.push((view.field.name.clone(), "on".into())),
            Control::Checkbox => {}
            Control::Checkboxes => {
                pairs.extend(
                    view.selected
                        .iter()
                        .map(|s| (view.field.name.clone(), s.clone())),
                );
            }
            _ => pairs.push((view.field.name.clone(), view.value.replace('\n', "\r\n"))),
        }
    }
    pairs
}

fn set(pairs: &mut Vec<(String, String)>, name: &str, value: &str) {
    pairs.retain(|(n, _)| n != name);
    pairs.push((name.to_owned(), value.to_owned()));
}

#[test]
fn the_study_spot_schema_gets_checkboxes_a_select_and_bounded_numbers_in_its_order() {
    let form = SchemaForm::from_text(STUDY_SPOT_SCHEMA, &english).unwrap();
    assert_eq!(
        controls(&form),
        [
            ("wifi", Control::Checkbox),
            ("noise_level", Control::Select),
            ("outlets", Control::Checkbox),
            ("open_late", Control::Checkbox),
            ("group_friendly", Control::Checkbox),
            ("max_distance_km", Control::Number),
            ("other_preferences", Control::Textarea),
        ]
    );
    let noise = &form.fields[1];
    assert_eq!(noise.label, "Noise level");
    assert_eq!(noise.help.as_deref(), Some("The noise level preferred."));
    assert_eq!(noise.default_text.as_deref(), Some("Quiet"));
    let values: Vec<&str> = noise.choices.iter().map(|c| c.value.as_str()).collect();
    assert_eq!(values, ["silent", "quiet", "moderate", "lively"]);
    let distance = &form.fields[5];
    assert_eq!(
        (distance.min.as_deref(), distance.max.as_deref()),
        (Some("0"), Some("1000"))
    );
    assert_eq!(distance.step, Some("any"));
    assert_eq!(
        distance.rules.as_deref(),
        Some("More than 0, at most 1000.")
    );
    assert_eq!(form.fields[6].maxlength, Some(1000));
    assert_eq!(form.fields[0].default_text.as_deref(), Some("on"));
}

#[test]
fn the_job_matching_schema_gets_lists_a_checkbox_group_and_a_nullable_integer() {
    let form = SchemaForm::from_text(JOB_MATCHING, &english).unwrap();
    assert_eq!(
        controls(&form),
        [
            ("desired_titles", Control::Lines),
            ("locations", Control::Lines),
            ("remote", Control::Select),
            ("min_salary", Control::Number),
            ("job_types", Control::Checkboxes),
            ("other_preferences", Control::Textarea),
        ]
    );
    let salary = &form.fields[3];
    assert!(salary.nullable);
    assert_eq!(salary.step, Some("1"));
    assert_eq!(salary.min.as_deref(), Some("0"));
    assert_eq!(salary.default_text.as_deref(), Some("none"));
    assert_eq!(form.fields[4].choices.len(), 5);
    assert_eq!(form.fields[4].default_text.as_deref(), Some("Full-time"));
    assert_eq!(
        form.fields[0].rules.as_deref(),
        Some("One per line, each at most 100 characters, at most 20 items.")
    );
}

#[test]
fn both_schemas_round_trip_their_defaults_through_the_form() {
    for text in [STUDY_SPOT_SCHEMA, JOB_MATCHING] {
        let schema = PreferencesSchema::from_text(text).unwrap();
        let form = SchemaForm::from_text(text, &english).unwrap();
        let defaults = schema.with_defaults(&Map::new());
        let document = form.read(&posted(&form.show(&defaults)), &english).unwrap();
        assert_eq!(schema.with_defaults(&document), defaults, "{text}");
        assert!(schema.validate(&document).is_ok());
    }
}

#[test]
fn a_job_matching_submission_becomes_the_document_the_api_would_take() {
    let schema = PreferencesSchema::from_text(JOB_MATCHING).unwrap();
    let form = SchemaForm::from_text(JOB_MATCHING, &english).unwrap();
    let mut pairs = posted(&form.show(&schema.with_defaults(&Map::new())));
    set(
        &mut pairs,
        "pref.desired_titles",
        "Engineer\r\n\r\n  Data scientist \r\n",
    );
    set(&mut pairs, "pref.min_salary", "55000");
    set(&mut pairs, "pref.remote", "only");
    pairs.retain(|(n, _)| n != "pref.job_types");
    pairs.push(("pref.job_types".into(), "contract".into()));
    pairs.push(("pref.job_types".into(), "part-time".into()));
    let document = form.read(&pairs, &english).unwrap();
    assert_eq!(
        Value::Object(document.clone()),
        json!({"desired_titles": ["Engineer", "Data scientist"], "locations": [], "remote": "only",
               "min_salary": 55000, "job_types": ["contract", "part-time"], "other_preferences": ""})
    );
    let shown = form.show(&document);
    assert_eq!(shown[0].value, "Engineer\nData scientist");
    assert_eq!(shown[4].selected, ["contract", "part-time"]);
    set(&mut pairs, "pref.min_salary", "");
    assert_eq!(
        form.read(&pairs, &english).unwrap()["min_salary"],
        Value::Null
    );
}

#[test]
fn what_cannot_be_converted_or_validated_is_named_next_to_its_field() {
    let schema = PreferencesSchema::from_text(STUDY_SPOT_SCHEMA).unwrap();
    let form = SchemaForm::from_text(STUDY_SPOT_SCHEMA, &english).unwrap();
    let mut pairs = posted(&form.show(&schema.with_defaults(&Map::new())));
    set(&mut pairs, "pref.max_distance_km", "far");
    set(&mut pairs, "pref.noise_level", "deafening");
    let errors = form.read(&pairs, &english).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["noise_level", "max_distance_km"]);

    set(&mut pairs, "pref.max_distance_km", "0");
    set(&mut pairs, "pref.noise_level", "silent");
    let document = form.read(&pairs, &english).unwrap();
    let errors = schema.validate(&document).unwrap_err();
    let (views, unclaimed) = form.show_posted(&pairs, &errors, &english);
    assert!(unclaimed.is_empty());
    assert_eq!(views[5].value, "0");
    assert_eq!(views[5].errors, ["Must be greater than 0."]);
    assert_eq!(views[1].value, "silent");
}

#[test]
fn nested_objects_flatten_into_dotted_paths_and_unknown_shapes_take_json() {
    let text = r#"{"type": "object", "properties": {
        "zeta": {"type": "boolean"},
        "commute": {"type": "object", "title": "Commute", "properties": {
            "mode": {"enum": ["bike", "train", null]},
            "minutes": {"type": "integer", "minimum": 1}}},
        "stops": {"type": "array", "items": {"type": "object"}}}}"#;
    let form = SchemaForm::from_text(text, &english).unwrap();
    assert_eq!(
        controls(&form),
        [
            ("zeta", Control::Checkbox),
            ("commute.mode", Control::Select),
            ("commute.minutes", Control::Number),
            ("stops", Control::Json),
        ]
    );
    assert_eq!(form.fields[1].label, "Commute: Mode");
    assert!(form.fields[1].nullable);
    let pairs: Vec<(String, String)> = [
        ("pref.commute.mode", "train"),
        ("pref.commute.minutes", "25"),
        ("pref.stops", r#"[{"at": "A"}]"#),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(
        Value::Object(form.read(&pairs, &english).unwrap()),
        json!({"zeta": false, "commute": {"mode": "train", "minutes": 25}, "stops": [{"at": "A"}]})
    );
    let errors = [
        FieldError::new("commute.minutes", "must be at least 1"),
        FieldError::new("colour", "is not a recognised field"),
    ];
    let (views, unclaimed) = form.show_posted(&pairs, &errors, &english);
    assert_eq!(views[2].errors, ["Must be at least 1"]);
    assert_eq!(unclaimed, ["colour: is not a recognised field"]);
}
