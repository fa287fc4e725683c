//! Which event types a reader asks for: `user.created`, or `user.*` for every type
//! under `user.` (also `user.email.changed`), several separated by commas. Without a
//! filter a reader gets every type except those only named readers get (`login.*`,
//! see [`super::types`]).

use super::types::NAMED_ONLY_PREFIX;

const MAX_PATTERNS: usize = 20;
const MAX_PATTERN_LENGTH: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    /// The text before `*`, ending with a dot.
    Prefix(String),
}

/// The parsed `type` parameter; empty means "every type a reader gets unasked".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeFilter(Vec<Pattern>);

/// A SQL condition on the `type` column and the text values it binds, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeCondition {
    pub sql: String,
    pub binds: Vec<TypeBind>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeBind {
    Text(String),
    Length(i32),
}

impl TypeFilter {
    /// Parses `user.*,session.revoked`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<TypeFilter, String> {
        let mut patterns = Vec::new();
        for raw in text.split(',').map(str::trim) {
            if raw.is_empty() {
                return Err("must list event types separated by commas, none empty".into());
            }
            patterns.push(parse_pattern(raw)?);
        }
        if patterns.len() > MAX_PATTERNS {
            return Err(format!("may list at most {MAX_PATTERNS} types"));
        }
        Ok(TypeFilter(patterns))
    }

    /// The condition selecting the asked types, its placeholders numbered from `first`.
    pub fn condition(&self, first: usize) -> TypeCondition {
        if self.0.is_empty() {
            return TypeCondition {
                sql: format!(
                    "substr(type, 1, {}) <> '{NAMED_ONLY_PREFIX}'",
                    NAMED_ONLY_PREFIX.len()
                ),
                binds: Vec::new(),
            };
        }
        let mut next = first;
        let mut binds = Vec::new();
        let mut alternatives = Vec::new();
        for pattern in &self.0 {
            match pattern {
                Pattern::Exact(kind) => {
                    alternatives.push(format!("type = ${next}"));
                    binds.push(TypeBind::Text(kind.clone()));
                    next += 1;
                }
                Pattern::Prefix(prefix) => {
                    alternatives.push(format!("substr(type, 1, ${next}) = ${}", next + 1));
                    // At most MAX_PATTERN_LENGTH characters, checked when parsed.
                    binds.push(TypeBind::Length(prefix.len() as i32));
                    binds.push(TypeBind::Text(prefix.clone()));
                    next += 2;
                }
            }
        }
        TypeCondition {
            sql: format!("({})", alternatives.join(" OR ")),
            binds,
        }
    }
}

fn parse_pattern(raw: &str) -> Result<Pattern, String> {
    let bad = || {
        format!(
            "{raw:?} is not an event type (dot-separated lower-case words, \
             optionally ending in `.*`, at most {MAX_PATTERN_LENGTH} characters)"
        )
    };
    if raw.len() > MAX_PATTERN_LENGTH {
        return Err(bad());
    }
    let (words, prefix) = match raw.strip_suffix(".*") {
        Some(words) => (words, true),
        None => (raw, false),
    };
    let word_ok = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    if !words.split('.').all(word_ok) {
        return Err(bad());
    }
    Ok(if prefix {
        Pattern::Prefix(format!("{words}."))
    } else {
        Pattern::Exact(words.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_types_and_prefixes_become_one_condition() {
        let filter = TypeFilter::parse("user.*, session.revoked").unwrap();
        let condition = filter.condition(3);
        assert_eq!(condition.sql, "(substr(type, 1, $3) = $4 OR type = $5)");
        assert_eq!(
            condition.binds,
            vec![
                TypeBind::Length(5),
                TypeBind::Text("user.".into()),
                TypeBind::Text("session.revoked".into()),
            ]
        );
    }

    #[test]
    fn no_filter_leaves_out_the_types_only_named_readers_get() {
        let condition = TypeFilter::default().condition(1);
        assert_eq!(condition.sql, "substr(type, 1, 6) <> 'login.'");
        assert!(condition.binds.is_empty());
    }

    #[test]
    fn malformed_types_are_refused() {
        for bad in [
            "",
            "user.",
            "*",
            "user.*.x",
            "User.created",
            "user..x",
            "user,",
            "a b",
            "user.%",
        ] {
            assert!(TypeFilter::parse(bad).is_err(), "{bad:?}");
        }
        let many = vec!["user.created"; 21].join(",");
        assert!(TypeFilter::parse(&many).is_err());
        assert!(TypeFilter::parse("session.reuse_detected").is_ok());
    }
}
