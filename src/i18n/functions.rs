//! The templates' `t` function: `{{ t("login-title") }}`, `{{ t("consent-ask",
//! client=client_name|strong) }}`. It looks the message up in the language named by the
//! render context's `lang` (a tag; English when absent), with `$brand` and the keyword
//! arguments as its variables; numbers stay numbers, for plural rules. A key no language
//! has fails the render, as an unknown variable does.
//!
//! Messages are plain text, which HTML templates escape. Markup belongs to the template:
//! a value passed through the `strong` (or `code`) filter is shown in bold (or as code)
//! where the message places it (so a translation may move it), escaped all the same.

use std::sync::Arc;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State};

pub use super::html::escape_html;
use super::{Arg, Language, Words};

/// Adds `t`, the `strong` filter, the global `languages` (each supported language's
/// `tag` and `name` in that language, `language-name`, for a choice of language) and
/// the [`readable`](super::readable) filters to `env`, looking words up with `words`.
pub fn add_to(env: &mut Environment<'static>, words: Arc<Words>) {
    super::readable::add_to(env, Arc::clone(&words));
    let languages: Vec<Value> = Language::ALL
        .into_iter()
        .map(|language| {
            minijinja::context! {
                tag => language.tag(),
                name => words.text(language, "language-name", &[]),
            }
        })
        .collect();
    env.add_global("languages", Value::from(languages));
    env.add_filter("strong", |text: String| {
        Value::from_safe_string(format!("<strong>{}</strong>", escape_html(&text)))
    });
    env.add_filter("code", |text: String| {
        Value::from_safe_string(format!("<code>{}</code>", escape_html(&text)))
    });
    env.add_function(
        "t",
        move |state: &State, key: &str, kwargs: Kwargs| -> Result<Value, Error> {
            let language = state
                .lookup("lang")
                .and_then(|lang| lang.as_str().and_then(Language::from_tag))
                .unwrap_or(Language::FALLBACK);
            let html = matches!(state.auto_escape(), AutoEscape::Html);
            let mut args = Vec::new();
            let mut markup = Vec::new();
            for name in kwargs.args() {
                let value: Value = kwargs.get(name)?;
                if html && value.is_safe() {
                    // Placed by a marker that escaping leaves alone, then put back.
                    args.push((name, Arg::Text(marker(markup.len()))));
                    markup.push(value.to_string());
                } else {
                    args.push((name, argument(&value)));
                }
            }
            kwargs.assert_all_used()?;
            let text = words.lookup(language, key, &args).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("no message {key:?} in locales/"),
                )
            })?;
            if !html {
                return Ok(Value::from(text));
            }
            let mut escaped = escape_html(&text);
            for (i, safe) in markup.iter().enumerate() {
                escaped = escaped.replace(&marker(i), safe);
            }
            Ok(Value::from_safe_string(escaped))
        },
    );
}

/// A placeholder no message or escaping produces (Unicode private-use characters).
fn marker(i: usize) -> String {
    format!("\u{e000}{i}\u{e001}")
}

fn argument(value: &Value) -> Arg {
    match value.kind() {
        ValueKind::Number => value
            .as_i64()
            .map(Arg::from)
            .unwrap_or_else(|| Arg::Number(f64::try_from(value.clone()).unwrap_or(0.0))),
        ValueKind::None | ValueKind::Undefined => Arg::Text(String::new()),
        _ => Arg::Text(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment<'static> {
        let mut env = Environment::new();
        add_to(&mut env, Arc::new(Words::new("Acme & Co")));
        env.add_template(
            "page.html",
            r#"{{ t("layout-title", page=page|strong) }}|{{ t("layout-title", page=page) }}"#,
        )
        .unwrap();
        env.add_template("mail.txt", r#"{{ t("layout-title", page=page) }}"#)
            .unwrap();
        env
    }

    #[test]
    fn t_speaks_the_contexts_language_escapes_and_places_markup() {
        let env = env();
        let page = env.get_template("page.html").unwrap();
        let html = page
            .render(minijinja::context! { lang => "de", page => "<X>" })
            .unwrap();
        assert_eq!(
            html,
            "<strong>&lt;X&gt;</strong> · Acme &amp; Co|&lt;X&gt; · Acme &amp; Co"
        );
        let text = env.get_template("mail.txt").unwrap();
        assert_eq!(
            text.render(minijinja::context! { page => "<X>" }).unwrap(),
            "<X> · Acme & Co"
        );
        let err = env
            .render_str(r#"{{ t("no-such-message") }}"#, minijinja::context! {})
            .unwrap_err();
        assert!(err.to_string().contains("no-such-message"), "{err}");
        let languages = env.render_str("{{ languages|map(attribute='name')|join(',') }}", ());
        assert_eq!(languages.unwrap(), "English,Deutsch");
    }
}
