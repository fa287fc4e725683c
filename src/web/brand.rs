//! The deployment's brand on the pages: the logo (`BRAND_LOGO`, served at
//! `/assets/logo`), the colour (`BRAND_COLOR`, as the `--brand` custom property of
//! `/assets/brand.css`, a stylesheet like any other, so the strict CSP needs no inline
//! style) and the page templates of `TEMPLATES_DIR/web/` that replace built-in ones.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr};
use minijinja::{Environment, Error, State, Value};

use crate::config::{BrandConfig, DEFAULT_COLOR, TemplateArea, TemplateFile};
use crate::i18n::Language;

/// The stylesheet that gives the pages the brand's colour (after `roster.css`).
pub(super) fn stylesheet(brand: &BrandConfig) -> String {
    if brand.color == DEFAULT_COLOR {
        return "/* BRAND_COLOR is unset: roster.css's colours apply. */\n".to_owned();
    }
    // Checked at start-up: `#rrggbb` with enough contrast for white text and the page.
    format!(
        ":root {{ --brand: {0}; --brand-dark: {0}; }}\n",
        brand.color
    )
}

/// `/assets/brand.css`, and `/assets/logo` when there is a logo.
pub(super) fn routes<S: Clone + Send + Sync + 'static>(brand: &BrandConfig) -> Router<S> {
    let css = bytes::Bytes::from(stylesheet(brand));
    let router = Router::new().route(
        "/assets/brand.css",
        get(move || {
            let css = css.clone();
            async move { super::asset(css, "text/css; charset=utf-8") }
        }),
    );
    match &brand.logo {
        None => router,
        Some(logo) => {
            let bytes = bytes::Bytes::from(logo.bytes.clone());
            let content_type = logo.content_type;
            router.route(
                "/assets/logo",
                get(move || {
                    let bytes = bytes.clone();
                    async move { logo_response(bytes, content_type) }
                }),
            )
        }
    }
}

fn logo_response(bytes: bytes::Bytes, content_type: &'static str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // An SVG opened by itself is a document: it runs no script and loads nothing.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    response
}

/// A value for whatever a replaced template names, for its start-up check: any of its
/// attributes is a sample too, it is an empty list when iterated or counted, calling it
/// answers a sample, and it shows as `sample`. Only `known` names have real values.
#[derive(Debug, Default)]
struct Sample {
    known: BTreeMap<&'static str, Value>,
    /// Names left to the environment's globals (the root's: `t`, `languages`, the
    /// built-in functions), so that the check calls the real ones.
    globals: Vec<&'static str>,
}

/// The environment's global names a sample context must not hide.
const GLOBALS: [&str; 6] = ["t", "languages", "range", "dict", "namespace", "debug"];

impl Object for Sample {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str();
        if name.is_some_and(|name| self.globals.contains(&name)) {
            return None;
        }
        let known = name.and_then(|name| self.known.get(name)).cloned();
        Some(known.unwrap_or_else(|| Value::from_object(Sample::default())))
    }

    fn call(self: &Arc<Self>, _: &mut State<'_, '_>, _: &[Value]) -> Result<Value, Error> {
        Ok(Value::from_object(Sample::default()))
    }

    fn call_method(
        self: &Arc<Self>,
        _: &mut State<'_, '_>,
        _: &str,
        _: &[Value],
    ) -> Result<Value, Error> {
        Ok(Value::from_object(Sample::default()))
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sample")
    }
}

/// What a page's context has for the start-up check of a replaced template: the
/// layout's variables, and a [`Sample`] for anything else.
fn sample_context(language: Language, brand: &str, has_logo: bool) -> Value {
    let known = BTreeMap::from([
        ("lang", Value::from(language.tag())),
        ("brand", Value::from(brand)),
        ("has_logo", Value::from(has_logo)),
        ("title", Value::from("Sample")),
        ("csrf_token", Value::from("sample-csrf-token")),
    ]);
    Value::from_object(Sample {
        known,
        globals: GLOBALS.to_vec(),
    })
}

/// Puts the templates of `TEMPLATES_DIR/web/` in place of the built-in ones of the same
/// name and renders each in every language. A file that names no built-in template, does
/// not compile or does not render stops start-up, naming the file.
pub(super) fn replace_templates(
    env: &mut Environment<'static>,
    files: &[TemplateFile],
    brand: &str,
    has_logo: bool,
) -> anyhow::Result<()> {
    let pages: Vec<&TemplateFile> = files
        .iter()
        .filter(|f| f.area == TemplateArea::Web)
        .collect();
    for file in &pages {
        if env.get_template(&file.name).is_err() {
            anyhow::bail!(
                "TEMPLATES_DIR: {} replaces no built-in page template (there is no web/{})",
                file.path.display(),
                file.name
            );
        }
        env.add_template_owned(file.name.clone(), file.source.clone())
            .map_err(|e| {
                anyhow::anyhow!(
                    "TEMPLATES_DIR: {} does not compile: {e}",
                    file.path.display()
                )
            })?;
    }
    let check = env.clone();
    for file in &pages {
        for language in Language::ALL {
            check
                .get_template(&file.name)
                .and_then(|t| t.render(sample_context(language, brand, has_logo)))
                .map_err(|e| {
                    anyhow::anyhow!(
                        "TEMPLATES_DIR: {} does not render ({}): {e}",
                        file.path.display(),
                        language.tag()
                    )
                })?;
        }
    }
    Ok(())
}
