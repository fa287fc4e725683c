//! The deployment's brand on the pages: the logo (`BRAND_LOGO`, served at
//! `/assets/logo`), the colour (`BRAND_COLOR`, as the `--brand` custom property of
//! `/assets/brand.css`, a stylesheet like any other, so the strict CSP needs no inline
//! style) and the page templates of `TEMPLATES_DIR/web/` that replace built-in ones.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::{Environment, UndefinedBehavior, Value, context};

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

/// What every page's context has, for the start-up check of a replaced template: the
/// layout's variables, and a value for whatever else it names (undefined values chain).
fn sample_context(language: Language, brand: &str, has_logo: bool) -> Value {
    context! {
        lang => language.tag(),
        brand => brand,
        has_logo => has_logo,
        title => "Sample",
        csrf_token => "sample-csrf-token",
    }
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
    let mut check = env.clone();
    check.set_undefined_behavior(UndefinedBehavior::Chainable);
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
