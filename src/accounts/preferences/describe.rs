//! What a preferences document broke of its JSON Schema, as a [`Why`]: the API's English
//! words (which never echo the user's value) and the words of `locales/*/fields.ftl`
//! the pages say. The keywords of the shipped schemas (`schemas/`) have words of their
//! own, and so have the combinators an operator's schema is likely to use (`anyOf`,
//! `oneOf`, `not`, `false`, `contains`, property counts, `propertyNames`); any other
//! keyword says the validator's English reason inside the page's sentence.

use jsonschema::error::ValidationErrorKind as K;

use crate::error::Why;
use crate::i18n::message_key;

/// What failed, without echoing the value (it is the user's own text).
pub(super) fn describe(error: &jsonschema::ValidationError<'_>) -> Why {
    let limited = |message: String, key: &'static str, limit: &dyn ToString| {
        Why::new(message, key).with("limit", limit.to_string())
    };
    // The validator's own words (the value masked) for the keywords the API has no
    // phrase of its own for: its message stays as it always was.
    let masked = || error.masked().to_string();
    match error.kind() {
        K::Type { .. } => Why::new("has the wrong type", message_key("field-wrong-type")),
        K::Enum { options } => Why::new(
            format!("must be one of {options}"),
            message_key("field-one-of"),
        )
        .with("options", options),
        K::Constant { expected_value } => Why::new(
            format!("must be {expected_value}"),
            message_key("field-constant"),
        )
        .with("value", expected_value),
        K::Minimum { limit } => limited(
            format!("must be at least {limit}"),
            message_key("field-minimum"),
            limit,
        ),
        K::Maximum { limit } => limited(
            format!("must be at most {limit}"),
            message_key("field-maximum"),
            limit,
        ),
        K::ExclusiveMinimum { limit } => limited(
            format!("must be greater than {limit}"),
            message_key("field-greater-than"),
            limit,
        ),
        K::ExclusiveMaximum { limit } => limited(
            format!("must be less than {limit}"),
            message_key("field-less-than"),
            limit,
        ),
        K::MinLength { limit } => limited(
            format!("must be at least {limit} characters"),
            message_key("field-too-short"),
            limit,
        ),
        K::MaxLength { limit } => Why::new(
            format!("must be at most {limit} characters"),
            message_key("field-too-long"),
        )
        .with("max", limit),
        K::MinItems { limit } => limited(
            format!("must have at least {limit} items"),
            message_key("field-min-items"),
            limit,
        ),
        K::MaxItems { limit } => limited(
            format!("must have at most {limit} items"),
            message_key("field-max-items"),
            limit,
        ),
        K::UniqueItems => Why::new("must not repeat items", message_key("field-unique-items")),
        K::Pattern { pattern } => Why::new(
            format!("must match the pattern {pattern}"),
            message_key("field-pattern"),
        )
        .with("pattern", pattern),
        K::Format { format } => Why::new(
            format!("must be a valid {format}"),
            message_key("field-format"),
        )
        .with("format", format),
        K::MultipleOf { multiple_of } => limited(
            format!("must be a multiple of {multiple_of}"),
            message_key("field-multiple-of"),
            multiple_of,
        ),
        K::AnyOf { .. } | K::OneOfNotValid { .. } => {
            Why::new(masked(), message_key("field-no-schema-fits"))
        }
        K::OneOfMultipleValid { .. } => {
            Why::new(masked(), message_key("field-several-schemas-fit"))
        }
        K::Not { .. } | K::FalseSchema => Why::new(masked(), message_key("field-not-allowed")),
        K::Contains => Why::new(masked(), message_key("field-contains")),
        K::MinProperties { limit } => {
            Why::new(masked(), message_key("field-min-properties")).with("limit", limit)
        }
        K::MaxProperties { limit } => {
            Why::new(masked(), message_key("field-max-properties")).with("limit", limit)
        }
        K::AdditionalItems { limit } => {
            Why::new(masked(), message_key("field-max-items")).with("limit", limit)
        }
        K::UnevaluatedItems { .. } => Why::new(masked(), message_key("field-unexpected-items")),
        K::PropertyNames { .. } => Why::new(masked(), message_key("field-property-names")),
        _ => {
            let problem = masked();
            Why::new(problem.clone(), message_key("field-invalid")).with("problem", problem)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::{PreferencesSchema, STUDY_SPOT_SCHEMA};

    const JOB_MATCHING: &str = include_str!("../../../schemas/job_matching.json");

    /// The key and the API's message of every error `document` has under `schema`.
    fn refusals(schema: &str, document: Value) -> Vec<(&'static str, String)> {
        let schema = PreferencesSchema::from_text(schema).unwrap();
        let Value::Object(document) = document else {
            panic!("not an object")
        };
        schema
            .validate(&document)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.words.expect("words").0, e.message))
            .collect()
    }

    #[test]
    fn no_refusal_of_the_shipped_schemas_falls_to_the_catch_all() {
        let bad_study_spot = json!({
            "wifi": "yes", "noise_level": "deafening", "outlets": 1, "open_late": null,
            "max_distance_km": 0, "other_preferences": "x".repeat(1001), "colour": "red",
        });
        let bad_job_matching = json!({
            "desired_titles": ["", "a", "a"], "locations": vec!["x"; 21], "remote": 3,
            "min_salary": -1, "job_types": ["gig", "gig"], "other_preferences": 7,
        });
        let mut seen = refusals(STUDY_SPOT_SCHEMA, bad_study_spot);
        seen.extend(refusals(JOB_MATCHING, bad_job_matching));
        assert!(seen.len() >= 14, "{seen:?}");
        assert!(
            seen.iter().all(|(key, _)| *key != "field-invalid"),
            "{seen:?}"
        );
        let big = refusals(JOB_MATCHING, json!({"min_salary": 100_000_001.5}));
        assert!(
            big.iter().all(|(key, _)| *key != "field-invalid"),
            "{big:?}"
        );
    }

    #[test]
    fn combinators_have_words_and_keep_the_validators_message() {
        let schema = json!({
            "type": "object",
            "properties": {
                "any": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "one": {"oneOf": [{"type": "number"}, {"type": "integer"}]},
                "not": {"not": {"type": "string"}},
                "none": false,
                "tags": {"type": "array", "contains": {"const": "x"}},
                "few": {"type": "object", "minProperties": 2},
                "names": {"type": "object", "propertyNames": {"maxLength": 2}}
            }
        })
        .to_string();
        let seen = refusals(
            &schema,
            json!({"any": true, "one": 1, "not": "s", "none": 1, "tags": ["y"],
                   "few": {"a": 1}, "names": {"long": 1}}),
        );
        let keys: Vec<&str> = seen.iter().map(|(key, _)| *key).collect();
        for key in [
            "field-no-schema-fits",
            "field-several-schemas-fit",
            "field-not-allowed",
            "field-contains",
            "field-min-properties",
            "field-property-names",
        ] {
            assert!(keys.contains(&key), "no {key} in {seen:?}");
        }
        assert!(keys.iter().all(|key| *key != "field-invalid"), "{seen:?}");
        assert!(
            seen.iter().any(|(_, message)| message
                == "value is not valid under any of the schemas listed in the 'anyOf' keyword"),
            "{seen:?}"
        );
    }
}
