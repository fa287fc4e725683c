//! The sign-in page, `GET` and `POST /login`: a form posting `login`, `password` and the
//! hidden `csrf_token`; for an account with a second factor, a second step asking for
//! the TOTP `code`, a recovery code or a passkey; a passkey alone signs in too
//! ([`passkey`], the only part that needs JavaScript). Every step runs the JSON login's own functions,
//! so its lockout, its rate limit and its equal answers for unknown users and wrong
//! passwords hold here too. The challenge between the steps lives in an HttpOnly cookie,
//! never in the page. Success starts the browser session ([`super::browser`]) and sends
//! the browser back to the authorization request it came from (`return_to`, which must be
//! a path of this provider's authorization endpoint, a console page, or the page that
//! links an identity after the sign-in: nothing else is redirected to). The page also
//! offers the other ways to sign in that `app.rs` plugs in ([`OtherSignIns`]: the
//! identity providers), as links that carry `return_to`.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use futures::future::BoxFuture;
use minijinja::context;
use serde::{Deserialize, Serialize};

mod passkey;

pub use passkey::passkey_options;

use super::{browser, clients};
use crate::auth::guard::LoginRefused;
use crate::auth::login::{LoginOutcome, password_login};
use crate::auth::mfa::challenge;
use crate::auth::mfa::proof::Proof;
use crate::auth::sessions::{Device, IssuedRefresh};
use crate::db::Db;
use crate::error::{ApiError, MfaRequiredProblem};
use crate::http::ClientInfo;
use crate::i18n::message_key;
use crate::web::{Pages, Policy, Web, form};

const AUTHORIZE_PATH: &str = "/oauth2/authorize?";
const DEVICE_NAME: &str = "Web browser";

/// The pages a sign-in may return to besides an authorization request: the console's
/// (`/account...`, `/admin...`) and the one that links an identity after the sign-in.
const CONSOLE_PATHS: [&str; 3] = ["/account", "/admin", "/login/link"];

/// A way to sign in elsewhere that the sign-in page offers (`/login/{slug}`).
#[derive(Debug, Clone, Serialize)]
pub struct ProviderButton {
    pub slug: String,
    pub display_name: String,
}

/// The other ways to sign in (the identity providers), plugged in by `app.rs` as an
/// extension of the pages' router.
pub trait OtherSignIns: Send + Sync {
    fn buttons<'a>(&'a self, db: &'a Db) -> BoxFuture<'a, Vec<ProviderButton>>;
}

/// The extension holding [`OtherSignIns`].
pub type OtherSignInsExtension = Option<Extension<Arc<dyn OtherSignIns>>>;

/// Where a sign-in may send the browser afterwards: back to an authorization request, or
/// to a page of the console. Nothing else: never another site, never `//host`.
pub fn safe_return_to(text: &str) -> Option<&str> {
    let console = !text.contains("//")
        && CONSOLE_PATHS.iter().any(|path| {
            text.strip_prefix(path)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
        });
    let safe = (text.starts_with(AUTHORIZE_PATH) || console)
        && text.len() <= 4096
        && !text.bytes().any(|b| b.is_ascii_control() || b == b'\\');
    safe.then_some(text)
}

fn mfa_cookie_name(pages: &Pages) -> &'static str {
    if pages.secure() {
        "__Host-roster-mfa"
    } else {
        "roster-mfa"
    }
}

fn mfa_cookie(pages: &Pages, value: &str, max_age: i64) -> HeaderValue {
    let secure = if pages.secure() { "; Secure" } else { "" };
    let text = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        mfa_cookie_name(pages)
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// What the sign-in page shows besides the form.
struct Shown<'a> {
    return_to: &'a str,
    login_hint: String,
    client_name: Option<String>,
    /// The mistake to show: a key of `pages.ftl`.
    error: Option<&'a str>,
    /// Admits the client's redirect URI, where the sign-in's redirects end.
    policy: Policy,
    /// The other ways to sign in.
    providers: Vec<ProviderButton>,
}

impl<'a> Shown<'a> {
    /// The login hint and client name of the authorization request in `return_to`.
    async fn for_request(
        web: &Web,
        return_to: &'a str,
        others: Option<&Arc<dyn OtherSignIns>>,
    ) -> Shown<'a> {
        let query = return_to.strip_prefix(AUTHORIZE_PATH).unwrap_or("");
        let param = |name: &str| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let client = match param("client_id") {
            Some(id) => clients::find(&web.app.db, &id).await.ok().flatten(),
            None => None,
        };
        let policy = match (&client, param("redirect_uri")) {
            (Some(client), Some(uri)) if client.has_redirect_uri(&uri) => {
                Policy::leading_to(&uri).with_scripts()
            }
            _ => Policy::default().with_scripts(),
        };
        Shown {
            return_to,
            login_hint: param("login_hint")
                .filter(|h| h.chars().count() <= 254)
                .unwrap_or_default(),
            client_name: client.map(|client| client.name),
            error: None,
            policy,
            providers: match others {
                Some(others) => others.buttons(&web.app.db).await,
                None => Vec::new(),
            },
        }
    }
}

fn login_page(web: &Web, headers: &HeaderMap, status: StatusCode, shown: &Shown<'_>) -> Response {
    let token = web.pages.form_token(headers);
    let mut response = web.pages.page_with(
        status,
        "login.html",
        context! {
            title => web.pages.tr("login-title"),
            csrf_token => token.value,
            return_to => shown.return_to,
            login_hint => shown.login_hint.clone(),
            client_name => shown.client_name.clone(),
            error => shown.error.map(|key| web.pages.tr(key)),
            providers => minijinja::value::Serde(&shown.providers),
            provider_query => provider_query(shown.return_to),
        },
        &shown.policy,
    );
    if let Some(cookie) = token.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The query of a provider button's link: the sign-in's `return_to`, URL-encoded.
fn provider_query(return_to: &str) -> String {
    if return_to.is_empty() {
        return String::new();
    }
    let encoded: String = form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    format!("?return_to={encoded}")
}

/// What the second-factor step offers: the methods the account has.
#[derive(Clone, Copy)]
struct Methods {
    totp: bool,
    passkey: bool,
}

impl Methods {
    fn of(methods: &[String]) -> Methods {
        Methods {
            totp: methods.iter().any(|m| m == "totp"),
            passkey: methods.iter().any(|m| m == "passkey"),
        }
    }
}

fn second_factor_page(
    web: &Web,
    headers: &HeaderMap,
    status: StatusCode,
    shown: &Shown<'_>,
    methods: Methods,
) -> Response {
    let token = web.pages.form_token(headers);
    let mut response = web.pages.page_with(
        status,
        "second_factor.html",
        context! {
            title => web.pages.tr("second-factor-title"),
            csrf_token => token.value,
            return_to => shown.return_to,
            totp => methods.totp,
            passkey => methods.passkey,
            error => shown.error.map(|key| web.pages.tr(key)),
        },
        &shown.policy,
    );
    if let Some(cookie) = token.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The second step of a sign-in whose first step happened elsewhere (an identity
/// provider vouched for the account): the second-factor page and the challenge's cookie,
/// answered through `POST /login` like that of a password sign-in.
pub async fn second_step(
    web: &Web,
    headers: &HeaderMap,
    return_to: &str,
    challenge: &MfaRequiredProblem,
) -> Response {
    let return_to = safe_return_to(return_to).unwrap_or("");
    let shown = Shown::for_request(web, return_to, None).await;
    let methods = Methods::of(&challenge.methods);
    let mut response = second_factor_page(web, headers, StatusCode::OK, &shown, methods);
    response.headers_mut().append(
        header::SET_COOKIE,
        mfa_cookie(&web.pages, &challenge.mfa_token, challenge.expires_in),
    );
    response
}

/// `GET /login`.
pub async fn show(
    State(web): State<Web>,
    others: OtherSignInsExtension,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let return_to = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "return_to")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let return_to = safe_return_to(&return_to).unwrap_or("");
    let others = others.map(|Extension(others)| others);
    let shown = Shown::for_request(&web, return_to, others.as_ref()).await;
    login_page(&web, &headers, StatusCode::OK, &shown)
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    return_to: String,
    login: Option<String>,
    password: Option<String>,
    code: Option<String>,
    recovery_code: Option<String>,
    /// `second_factor` or `login`: what a passkey answer is for.
    passkey: Option<String>,
    challenge_id: Option<String>,
    /// The `AuthenticationResponseJSON`, as the page's script serialised it.
    credential: Option<String>,
}

/// `POST /login`: the password step, the second-factor step, or a passkey sign-in.
pub async fn submit(
    State(web): State<Web>,
    others: OtherSignInsExtension,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(posted) = form::<SignInForm>(&headers, &body) else {
        return web.pages.message(
            StatusCode::BAD_REQUEST,
            &web.pages.tr("login-title"),
            "error",
            &web.pages.tr("page-form-unreadable"),
            Some(&web.pages.tr("page-go-back")),
        );
    };
    let return_to = safe_return_to(&posted.return_to).unwrap_or("").to_owned();
    let others = others.map(|Extension(others)| others);
    let mut shown = Shown::for_request(&web, &return_to, others.as_ref()).await;
    if !web.pages.form_is_genuine(&headers, &posted.csrf_token) {
        shown.error = Some(message_key("login-form-expired"));
        return login_page(&web, &headers, StatusCode::FORBIDDEN, &shown);
    }
    let step = match posted.passkey.as_deref() {
        Some(purpose) => passkey::answer(&web, &headers, client, &posted, purpose, shown).await,
        None => match (posted.code.as_deref(), posted.recovery_code.as_deref()) {
            (Some(code), _) => {
                let proof = Proof::Totp(code.trim().to_owned());
                second_factor(&web, &headers, client, proof, shown).await
            }
            (None, Some(code)) => {
                let proof = Proof::RecoveryCode(code.trim().to_owned());
                second_factor(&web, &headers, client, proof, shown).await
            }
            (None, None) => password_step(&web, &headers, client, posted, shown).await,
        },
    };
    step.unwrap_or_else(IntoResponse::into_response)
}

async fn password_step(
    web: &Web,
    headers: &HeaderMap,
    client: ClientInfo,
    posted: SignInForm,
    mut shown: Shown<'_>,
) -> Result<Response, ApiError> {
    let login = posted.login.unwrap_or_default();
    let password = posted.password.unwrap_or_default();
    shown.login_hint = login.chars().take(254).collect();
    if login.trim().is_empty()
        || password.is_empty()
        || login.chars().count() > 254
        || password.len() > 4096
    {
        shown.error = Some(message_key("login-missing-fields"));
        return Ok(login_page(
            web,
            headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            &shown,
        ));
    }
    let device = Device {
        name: Some(DEVICE_NAME.to_owned()),
        client,
    };
    match password_login(&web.app, login.trim(), &password, &device).await {
        Ok(LoginOutcome::Session(_, issued)) => signed_in(web, &issued, shown.return_to).await,
        Ok(LoginOutcome::SecondFactor(challenge)) => {
            let methods = Methods::of(&challenge.methods);
            let mut response = second_factor_page(web, headers, StatusCode::OK, &shown, methods);
            response.headers_mut().append(
                header::SET_COOKIE,
                mfa_cookie(&web.pages, &challenge.mfa_token, challenge.expires_in),
            );
            Ok(response)
        }
        Err(LoginRefused::Invalid) => {
            shown.error = Some(message_key("login-wrong-credentials"));
            Ok(login_page(web, headers, StatusCode::UNAUTHORIZED, &shown))
        }
        Err(LoginRefused::Locked { retry_after_secs }) => {
            shown.error = Some(message_key("login-locked"));
            let response = login_page(web, headers, StatusCode::TOO_MANY_REQUESTS, &shown);
            Ok(retry_after(response, retry_after_secs))
        }
        Err(LoginRefused::Error(e)) => Err(e),
    }
}

fn retry_after(mut response: Response, seconds: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// The login page again, saying that the sign-in must start over.
fn start_again(web: &Web, headers: &HeaderMap, mut shown: Shown<'_>) -> Response {
    shown.error = Some(message_key("login-too-slow"));
    let mut response = login_page(web, headers, StatusCode::BAD_REQUEST, &shown);
    response
        .headers_mut()
        .append(header::SET_COOKIE, mfa_cookie(&web.pages, "", 0));
    response
}

/// The second step: `proof` answers the challenge in the browser's mfa cookie.
async fn second_factor(
    web: &Web,
    headers: &HeaderMap,
    client: ClientInfo,
    proof: Proof,
    mut shown: Shown<'_>,
) -> Result<Response, ApiError> {
    let Some(mfa_token) = Pages::cookie_value(headers, mfa_cookie_name(&web.pages)) else {
        return Ok(start_again(web, headers, shown));
    };
    let wrong = match &proof {
        Proof::Totp(_) => message_key("second-factor-wrong-code"),
        Proof::RecoveryCode(_) => message_key("second-factor-wrong-recovery-code"),
        Proof::Passkey { .. } => message_key("second-factor-passkey-refused"),
    };
    let (status, retry) = match challenge::answer(&web.app, &mfa_token, proof, client).await {
        Ok((_, issued)) => {
            let mut response = signed_in(web, &issued, shown.return_to).await?;
            response
                .headers_mut()
                .append(header::SET_COOKIE, mfa_cookie(&web.pages, "", 0));
            return Ok(response);
        }
        Err(ApiError::WrongFactor { .. } | ApiError::Validation(_)) => {
            shown.error = Some(wrong);
            (StatusCode::BAD_REQUEST, None)
        }
        Err(ApiError::TooManyRequests {
            retry_after_secs, ..
        }) => {
            shown.error = Some(message_key("second-factor-too-many"));
            (StatusCode::TOO_MANY_REQUESTS, Some(retry_after_secs))
        }
        Err(ApiError::BadToken(_)) => return Ok(start_again(web, headers, shown)),
        Err(e) => return Err(e),
    };
    let Some(methods) = challenge::methods(&web.app, &mfa_token).await? else {
        return Ok(start_again(web, headers, shown));
    };
    let response = second_factor_page(web, headers, status, &shown, Methods::of(&methods));
    Ok(match retry {
        Some(seconds) => retry_after(response, seconds),
        None => response,
    })
}

/// The browser session of a login that succeeded, and where the browser goes next.
async fn signed_in(
    web: &Web,
    issued: &IssuedRefresh,
    return_to: &str,
) -> Result<Response, ApiError> {
    let now = web.app.clock.now();
    let mut tx = web.app.db.begin().await?;
    let cookie = browser::start(
        &mut tx,
        &web.pages,
        issued.session_id,
        now,
        issued.expires_at,
    )
    .await?;
    tx.commit().await?;
    // Without a request to return to, the account pages are where a user goes.
    let next = if return_to.is_empty() {
        "/account"
    } else {
        return_to
    };
    let mut response = Redirect::to(next).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}
