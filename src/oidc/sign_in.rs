//! The sign-in page, `GET` and `POST /login`: a form posting `login`, `password` and the
//! hidden `csrf_token`; for an account with a second factor, a second step asking for
//! the TOTP `code` (or a recovery code). Both steps run the JSON login's own functions,
//! so its lockout, its rate limit and its equal answers for unknown users and wrong
//! passwords hold here too. The challenge between the steps lives in an HttpOnly cookie,
//! never in the page. Success starts the browser session ([`super::browser`]) and sends
//! the browser back to the authorization request it came from (`return_to`, which must be
//! a path of this provider's authorization endpoint: nothing else is redirected to).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use super::{browser, clients};
use crate::auth::guard::LoginRefused;
use crate::auth::login::{LoginOutcome, password_login};
use crate::auth::mfa::challenge;
use crate::auth::mfa::proof::Proof;
use crate::auth::sessions::{Device, IssuedRefresh};
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::web::{Pages, Web, form};

const AUTHORIZE_PATH: &str = "/oauth2/authorize?";
const DEVICE_NAME: &str = "Web browser";

/// Where a sign-in may send the browser afterwards: only back to an authorization request.
pub fn safe_return_to(text: &str) -> Option<&str> {
    let safe = text.starts_with(AUTHORIZE_PATH)
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
    error: Option<&'a str>,
}

impl<'a> Shown<'a> {
    /// The login hint and client name of the authorization request in `return_to`.
    async fn for_request(web: &Web, return_to: &'a str) -> Shown<'a> {
        let query = return_to.strip_prefix(AUTHORIZE_PATH).unwrap_or("");
        let param = |name: &str| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let client_name = match param("client_id") {
            Some(id) => clients::find(&web.app.db, &id)
                .await
                .ok()
                .flatten()
                .map(|client| client.name),
            None => None,
        };
        Shown {
            return_to,
            login_hint: param("login_hint")
                .filter(|h| h.chars().count() <= 254)
                .unwrap_or_default(),
            client_name,
            error: None,
        }
    }
}

fn login_page(web: &Web, headers: &HeaderMap, status: StatusCode, shown: &Shown<'_>) -> Response {
    let token = web.pages.form_token(headers);
    let mut response = web.pages.page(
        status,
        "login.html",
        context! {
            title => "Sign in",
            csrf_token => token.value,
            return_to => shown.return_to,
            login_hint => shown.login_hint.clone(),
            client_name => shown.client_name.clone(),
            error => shown.error,
        },
    );
    if let Some(cookie) = token.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn second_factor_page(
    web: &Web,
    headers: &HeaderMap,
    status: StatusCode,
    return_to: &str,
    totp: bool,
    error: Option<&str>,
) -> Response {
    let token = web.pages.form_token(headers);
    let mut response = web.pages.page(
        status,
        "second_factor.html",
        context! {
            title => "Second factor",
            csrf_token => token.value,
            return_to => return_to,
            totp => totp,
            error => error,
        },
    );
    if let Some(cookie) = token.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /login`.
pub async fn show(
    State(web): State<Web>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let return_to = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "return_to")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let return_to = safe_return_to(&return_to).unwrap_or("");
    let shown = Shown::for_request(&web, return_to).await;
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
}

/// `POST /login`: the password step, or the second-factor step.
pub async fn submit(
    State(web): State<Web>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(posted) = form::<SignInForm>(&headers, &body) else {
        return web.pages.message(
            StatusCode::BAD_REQUEST,
            "Sign in",
            "error",
            "The form could not be read.",
            Some("Go back and try again."),
        );
    };
    let return_to = safe_return_to(&posted.return_to).unwrap_or("").to_owned();
    if !web.pages.form_is_genuine(&headers, &posted.csrf_token) {
        let mut shown = Shown::for_request(&web, &return_to).await;
        shown.error = Some("The form had expired. Please sign in again.");
        return login_page(&web, &headers, StatusCode::FORBIDDEN, &shown);
    }
    let proof = match (posted.code.as_deref(), posted.recovery_code.as_deref()) {
        (Some(code), _) => Some(Proof::Totp(code.trim().to_owned())),
        (None, Some(code)) => Some(Proof::RecoveryCode(code.trim().to_owned())),
        (None, None) => None,
    };
    let result = match proof {
        Some(proof) => second_factor(&web, &headers, client, proof, &return_to).await,
        None => password_step(&web, &headers, client, posted, &return_to).await,
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn password_step(
    web: &Web,
    headers: &HeaderMap,
    client: ClientInfo,
    posted: SignInForm,
    return_to: &str,
) -> Result<Response, ApiError> {
    let mut shown = Shown::for_request(web, return_to).await;
    let login = posted.login.unwrap_or_default();
    let password = posted.password.unwrap_or_default();
    shown.login_hint = login.chars().take(254).collect();
    if login.trim().is_empty()
        || password.is_empty()
        || login.chars().count() > 254
        || password.len() > 4096
    {
        shown.error = Some("Enter your username or email and your password.");
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
        Ok(LoginOutcome::Session(_, issued)) => signed_in(web, &issued, return_to).await,
        Ok(LoginOutcome::SecondFactor(challenge)) => {
            let totp = challenge.methods.iter().any(|m| m == "totp");
            let mut response =
                second_factor_page(web, headers, StatusCode::OK, return_to, totp, None);
            response.headers_mut().append(
                header::SET_COOKIE,
                mfa_cookie(&web.pages, &challenge.mfa_token, challenge.expires_in),
            );
            Ok(response)
        }
        Err(LoginRefused::Invalid) => {
            shown.error = Some("The username, email or password is not right.");
            Ok(login_page(web, headers, StatusCode::UNAUTHORIZED, &shown))
        }
        Err(LoginRefused::Locked { retry_after_secs }) => {
            shown.error = Some(
                "Too many failed sign-ins for this account. Wait a few minutes and try again.",
            );
            let mut response = login_page(web, headers, StatusCode::TOO_MANY_REQUESTS, &shown);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            Ok(response)
        }
        Err(LoginRefused::Error(e)) => Err(e),
    }
}

async fn second_factor(
    web: &Web,
    headers: &HeaderMap,
    client: ClientInfo,
    proof: Proof,
    return_to: &str,
) -> Result<Response, ApiError> {
    let Some(mfa_token) = Pages::cookie_value(headers, mfa_cookie_name(&web.pages)) else {
        let mut shown = Shown::for_request(web, return_to).await;
        shown.error = Some("The sign-in took too long. Please start again.");
        return Ok(login_page(web, headers, StatusCode::BAD_REQUEST, &shown));
    };
    let totp = matches!(proof, Proof::Totp(_));
    match challenge::answer(&web.app, &mfa_token, proof, client).await {
        Ok((_, issued)) => {
            let mut response = signed_in(web, &issued, return_to).await?;
            response
                .headers_mut()
                .append(header::SET_COOKIE, mfa_cookie(&web.pages, "", 0));
            Ok(response)
        }
        Err(ApiError::WrongFactor { .. } | ApiError::Validation(_)) => Ok(second_factor_page(
            web,
            headers,
            StatusCode::BAD_REQUEST,
            return_to,
            true,
            Some(if totp {
                "That code is not right, or was used already. Try the next one."
            } else {
                "That recovery code is not right, or was used already."
            }),
        )),
        Err(ApiError::TooManyRequests {
            retry_after_secs, ..
        }) => {
            let mut response = second_factor_page(
                web,
                headers,
                StatusCode::TOO_MANY_REQUESTS,
                return_to,
                true,
                Some("Too many wrong codes. Wait a few minutes and try again."),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            Ok(response)
        }
        Err(ApiError::BadToken(_)) => {
            let mut shown = Shown::for_request(web, return_to).await;
            shown.error = Some("The sign-in took too long. Please start again.");
            Ok(login_page(web, headers, StatusCode::BAD_REQUEST, &shown))
        }
        Err(e) => Err(e),
    }
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
    let mut response = if return_to.is_empty() {
        web.pages.message(
            StatusCode::OK,
            "Signed in",
            "success",
            "You are signed in to Roster.",
            None,
        )
    } else {
        Redirect::to(return_to).into_response()
    };
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}
