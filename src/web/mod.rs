//! The HTML pages Roster serves itself. For now: the pages the links in its mails open
//! ([`mail_links`], and the invitation's, [`invitation`]). They are rendered on the
//! server from templates embedded in the binary (`templates/web/`), need no JavaScript,
//! load nothing from elsewhere, and call the same functions as the JSON endpoints, so
//! they can do nothing the API cannot.
//!
//! Every page is sent with a strict Content-Security-Policy ([`Policy`]: nothing but this
//! origin's stylesheet; forms post only here, and lead at most to the one client a
//! sign-in returns to; scripts only on the pages that need WebAuthn, and only this
//! origin's; no framing), `X-Frame-Options: DENY`, `Cache-Control: no-store` and
//! `Referrer-Policy: same-origin` (the links carry tokens in their query strings, which
//! must not leak to another site; `no-referrer` would make browsers send `Origin: null`
//! on the pages' own form posts, which the CSRF check refuses). Every form carries a
//! CSRF token checked against a cookie ([`csrf`]) and is refused when the browser says it
//! comes from another origin.

mod brand;
pub mod csrf;
mod invitation;
pub mod mail_links;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::Environment;

use crate::config::BrandConfig;
use crate::i18n::{self, Arg, Words};
use crate::state::AppState;

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What a page's Content-Security-Policy allows beyond the strict default.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Where the page's forms may lead besides this origin: the origin of the client's
    /// redirect URI that a sign-in ends at (browsers apply `form-action` to the
    /// redirects that follow a post, too), or the scheme of a native app's.
    form_target: Option<String>,
    /// Scripts and requests to this origin only (the pages that use WebAuthn).
    scripts: bool,
}

impl Policy {
    /// A page whose forms end, through redirects, at `redirect_uri`.
    pub fn leading_to(redirect_uri: &str) -> Policy {
        Policy {
            form_target: form_target(redirect_uri),
            scripts: false,
        }
    }

    /// The same, with this origin's scripts allowed.
    pub fn with_scripts(mut self) -> Policy {
        self.scripts = true;
        self
    }

    fn header(&self) -> HeaderValue {
        if *self == Policy::default() {
            return HeaderValue::from_static(CONTENT_SECURITY_POLICY);
        }
        let mut text = String::from("default-src 'none'; style-src 'self'; img-src 'self'; ");
        if self.scripts {
            text.push_str("script-src 'self'; connect-src 'self'; ");
        }
        text.push_str("form-action 'self'");
        if let Some(target) = &self.form_target {
            text.push(' ');
            text.push_str(target);
        }
        text.push_str("; frame-ancestors 'none'; base-uri 'none'");
        HeaderValue::from_str(&text)
            .unwrap_or_else(|_| HeaderValue::from_static(CONTENT_SECURITY_POLICY))
    }
}

/// The CSP source that admits `redirect_uri`: its origin for http(s), its scheme for a
/// native app's private-use scheme (RFC 8252 §7.1); none for anything else.
fn form_target(redirect_uri: &str) -> Option<String> {
    let url = url::Url::parse(redirect_uri).ok()?;
    match url.scheme() {
        "http" | "https" => {
            let origin = url.origin();
            origin.is_tuple().then(|| origin.ascii_serialization())
        }
        // `Url` lower-cases the scheme and admits only letters, digits, `+`, `-`, `.`.
        scheme => Some(format!("{scheme}:")),
    }
}

const STYLESHEET: &str = include_str!("../../assets/web/roster.css");
/// The sign-in pages' script: WebAuthn ceremonies, which cannot be done without one.
const PASSKEY_SCRIPT: &str = include_str!("../../assets/web/passkey.js");
/// WebAuthn's JSON forms and the options request, shared by both passkey scripts.
const WEBAUTHN_SCRIPT: &str = include_str!("../../assets/web/webauthn.js");
/// The console's security page: adding a passkey, and confirming it is you with one.
const PASSKEY_REGISTER_SCRIPT: &str = include_str!("../../assets/web/passkey_register.js");
/// The console's script: sends an open page to the sign-in page once its session ends.
const CONSOLE_SCRIPT: &str = include_str!("../../assets/web/console.js");

const TEMPLATES: [(&str, &str); 12] = [
    (
        "layout.html",
        include_str!("../../templates/web/layout.html"),
    ),
    (
        "message.html",
        include_str!("../../templates/web/message.html"),
    ),
    (
        "reset_password.html",
        include_str!("../../templates/web/reset_password.html"),
    ),
    (
        "cancel_email_change.html",
        include_str!("../../templates/web/cancel_email_change.html"),
    ),
    (
        "accept_invitation.html",
        include_str!("../../templates/web/accept_invitation.html"),
    ),
    (
        "invitation_accepted.html",
        include_str!("../../templates/web/invitation_accepted.html"),
    ),
    ("login.html", include_str!("../../templates/web/login.html")),
    (
        "second_factor.html",
        include_str!("../../templates/web/second_factor.html"),
    ),
    (
        "consent.html",
        include_str!("../../templates/web/consent.html"),
    ),
    (
        "sign_out.html",
        include_str!("../../templates/web/sign_out.html"),
    ),
    (
        "passkey_form.html",
        include_str!("../../templates/web/passkey_form.html"),
    ),
    (
        "link_identity.html",
        include_str!("../../templates/web/link_identity.html"),
    ),
];

/// The page templates and what the pages need to know of the deployment; built once at
/// start-up.
pub struct Pages {
    env: Environment<'static>,
    /// `Secure` cookies with the `__Host-` prefix (when `PUBLIC_URL` is https).
    secure: bool,
    /// The origin of `PUBLIC_URL`, which forms must come from.
    origin: String,
    /// The words of the pages, with the brand's name.
    words: Arc<Words>,
    /// Whether there is a logo (`BRAND_LOGO`) to show.
    has_logo: bool,
}

impl Pages {
    /// Parses the embedded templates; a broken template stops start-up. The pages are
    /// Roster's until [`Self::branded`].
    pub fn new(public_url: &str) -> anyhow::Result<Pages> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let words = Arc::new(Words::new("Roster"));
        i18n::functions::add_to(&mut env, words.clone());
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| anyhow::anyhow!("page template {name}: {e}"))?;
        }
        let url = url::Url::parse(public_url)
            .map_err(|e| anyhow::anyhow!("PUBLIC_URL is not a URL: {e}"))?;
        Ok(Pages {
            env,
            secure: url.scheme() == "https",
            origin: url.origin().ascii_serialization(),
            words,
            has_logo: false,
        })
    }

    /// The pages of this deployment's brand: its name in the words, its logo, and the
    /// templates of `TEMPLATES_DIR/web/` in place of the built-in ones (after every
    /// built-in template was added), each checked by rendering it.
    pub fn branded(mut self, brand: &BrandConfig) -> anyhow::Result<Pages> {
        self.words = Arc::new(Words::new(&brand.name));
        i18n::functions::add_to(&mut self.env, self.words.clone());
        self.has_logo = brand.logo.is_some();
        brand::replace_templates(&mut self.env, &brand.templates, &brand.name, self.has_logo)?;
        Ok(self)
    }

    /// Message `key` of `locales/` in the language of the request being answered.
    pub fn tr(&self, key: &str) -> String {
        self.words.text(i18n::request::current(), key, &[])
    }

    /// The message of a refused field in the request's language, when its rule names one
    /// (a key of `pages.ftl` with its variables); the API's English words otherwise.
    pub fn field_words(&self, error: &crate::error::FieldError) -> Option<String> {
        let (key, args) = error.words.as_ref()?;
        Some(self.words_with(key, args))
    }

    /// Why a request was refused (a conflict's reason, a value's rule), in the request's
    /// language.
    pub fn why_words(&self, why: &crate::error::Why) -> String {
        self.words_with(why.key, &why.args)
    }

    /// Message `key` with variables kept as text; a `problem` the URL parser gave is said
    /// in the request's language too.
    fn words_with(&self, key: &str, args: &[(&'static str, String)]) -> String {
        let args: Vec<(&str, Arg)> = args
            .iter()
            .map(|(name, value)| {
                let value = match crate::error::url_problem_key(value) {
                    Some(problem) if *name == "problem" => Arg::from(self.tr(problem)),
                    _ => Arg::read(value),
                };
                (*name, value)
            })
            .collect();
        self.tr_with(key, &args)
    }

    /// [`Self::tr`] with variables.
    pub fn tr_with(&self, key: &str, args: &[(&str, Arg)]) -> String {
        self.words.text(i18n::request::current(), key, args)
    }

    /// Adds the templates of the pages of a feature above this room (the console's).
    pub fn with_templates(
        mut self,
        templates: &[(&'static str, &'static str)],
    ) -> anyhow::Result<Pages> {
        for (name, source) in templates {
            self.env
                .add_template(name, source)
                .map_err(|e| anyhow::anyhow!("page template {name}: {e}"))?;
        }
        Ok(self)
    }

    /// Whether cookies are `Secure` with the `__Host-` prefix (`PUBLIC_URL` is https).
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// The value of the cookie `name` the browser sent, if any.
    pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_owned())
    }

    /// Renders `template` as a page with `status` and the strict default policy.
    pub fn page(&self, status: StatusCode, template: &str, ctx: minijinja::Value) -> Response {
        self.page_with(status, template, ctx, &Policy::default())
    }

    /// Renders `template` as a page with `status` under `policy`.
    pub fn page_with(
        &self,
        status: StatusCode,
        template: &str,
        ctx: minijinja::Value,
        policy: &Policy,
    ) -> Response {
        // What the layout needs on every page: the language, the brand and its logo.
        let ctx = minijinja::context! {
            lang => i18n::request::current().tag(),
            brand => self.words.brand(),
            has_logo => self.has_logo,
            ..ctx
        };
        let rendered = self.env.get_template(template).and_then(|t| t.render(ctx));
        match rendered {
            Ok(body) => html(status, body, policy),
            Err(e) => crate::error::ApiError::Internal(anyhow::anyhow!(
                "rendering the page template {template}: {e}"
            ))
            .into_response(),
        }
    }

    /// A page that only says something: `tone` is `success` or `error`.
    pub fn message(
        &self,
        status: StatusCode,
        title: &str,
        tone: &str,
        message: &str,
        next_step: Option<&str>,
    ) -> Response {
        self.message_leading(status, title, tone, message, next_step, None)
    }

    /// [`Self::message`] with a way on: a link (`href`, its words) under the message,
    /// e.g. to ask for a new mail when a link is dead. `href` is a path of Roster's own
    /// written in the code, never taken from the request (the template does not escape
    /// its slashes).
    pub fn message_leading(
        &self,
        status: StatusCode,
        title: &str,
        tone: &str,
        message: &str,
        next_step: Option<&str>,
        next_link: Option<(&str, &str)>,
    ) -> Response {
        let next_link = next_link.map(|(href, text)| minijinja::context! { href, text });
        self.page(
            status,
            "message.html",
            minijinja::context! { title, tone, message, next_step, next_link },
        )
    }
}

/// An HTML response with the pages' security headers.
fn html(status: StatusCode, body: String, policy: &Policy) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CONTENT_SECURITY_POLICY, policy.header());
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-language"));
    response
}

async fn stylesheet() -> Response {
    asset(STYLESHEET, "text/css; charset=utf-8")
}

async fn passkey_script() -> Response {
    asset(PASSKEY_SCRIPT, "text/javascript; charset=utf-8")
}

async fn webauthn_script() -> Response {
    asset(WEBAUTHN_SCRIPT, "text/javascript; charset=utf-8")
}

async fn passkey_register_script() -> Response {
    asset(PASSKEY_REGISTER_SCRIPT, "text/javascript; charset=utf-8")
}

async fn console_script() -> Response {
    asset(CONSOLE_SCRIPT, "text/javascript; charset=utf-8")
}

fn asset(body: impl IntoResponse, content_type: &'static str) -> Response {
    let mut response = body.into_response();
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
    response
}

/// A posted form of type `T`: `application/x-www-form-urlencoded`, each field once, no
/// NUL anywhere.
pub fn form<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Option<T> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    // NUL is in no field anyone types, and PostgreSQL refuses it in text.
    if !is_form || form_urlencoded::parse(body).any(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return None;
    }
    serde_urlencoded::from_bytes(body).ok()
}

/// What the pages' handlers take: the application and the page templates.
#[derive(Clone)]
pub struct Web {
    pub app: AppState,
    pub pages: Arc<Pages>,
}

/// The page that refuses a form post over the client's authentication budget (429; the
/// rate-limit middleware adds `Retry-After`).
pub fn too_many_attempts_page(pages: Arc<Pages>) -> crate::http::ratelimit::RefusedPage {
    Arc::new(move |seconds: u64| {
        pages.message(
            StatusCode::TOO_MANY_REQUESTS,
            &pages.tr("page-too-many-attempts-title"),
            "error",
            &pages.tr_with("page-too-many-attempts", &[("seconds", Arg::from(seconds))]),
            Some(&pages.tr("page-too-many-attempts-next")),
        )
    })
}

/// The pages' routes (outside `/api`, not part of the OpenAPI document).
pub fn router(app: AppState, pages: Arc<Pages>) -> Router {
    let brand = brand::routes(&app.config.brand);
    Router::new()
        .merge(brand)
        .route("/assets/roster.css", get(stylesheet))
        .route("/assets/passkey.js", get(passkey_script))
        .route("/assets/webauthn.js", get(webauthn_script))
        .route("/assets/passkey-register.js", get(passkey_register_script))
        .route("/assets/console.js", get(console_script))
        .merge(mail_links::router())
        .merge(invitation::router())
        .with_state(Web { app, pages })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_admits_only_the_clients_origin_or_native_scheme() {
        assert_eq!(
            form_target("https://app.example:8443/cb?x=1").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(
            form_target("http://127.0.0.1:4000/callback").as_deref(),
            Some("http://127.0.0.1:4000")
        );
        assert_eq!(
            form_target("com.example.App:/oauth").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(form_target("not a url"), None);
        let header = Policy::leading_to("https://app.example/cb").header();
        let header = header.to_str().unwrap();
        assert!(
            header.contains("form-action 'self' https://app.example;"),
            "{header}"
        );
        assert!(!header.contains("script-src"), "{header}");
        let scripted = Policy::default().with_scripts().header();
        assert!(
            scripted
                .to_str()
                .unwrap()
                .contains("script-src 'self'; connect-src 'self'; form-action 'self';")
        );
        assert_eq!(
            Policy::default().header(),
            HeaderValue::from_static(CONTENT_SECURITY_POLICY)
        );
    }
}
