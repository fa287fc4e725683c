//! What every console page shares.
//!
//! - [`SignedIn`] and [`SignedInAdmin`]: the browser's session, or the answer that
//!   sends it to the sign-in page (and back to the [`ReturnTo`] page afterwards), or
//!   refuses a non-admin.
//! - [`AccountPage`] and [`AdminPage`]: what a page's handler takes, the session with
//!   the state, the headers and the query.
//! - [`Frame::render`]: a page in the console's frame (navigation, the signed-in
//!   account, the CSRF token for its forms, the notice of the action just done).
//! - [`ConsoleForm`]: a posted form, read and checked against the CSRF cookie and `Origin`.
//! - [`done`]: post-redirect-get: after an action, `303` to a page with `?done=KEY`; the
//!   page's template says what each key it knows means (`{% block notices %}`), so no
//!   text from the request is ever shown.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::Value;
use minijinja::value::Serde;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::oidc::browser::{self, BrowserSession};
use crate::web::{Policy, Web, form};

pub const TEMPLATES: &[(&str, &str)] = &[(
    "console/frame.html",
    include_str!("../../templates/web/console/frame.html"),
)];

/// Whether `key` has the shape of a notice key (`profile-saved`): lower-case words and
/// dashes. The page's template says what a key means; nothing else is ever shown.
fn is_notice_key(key: &str) -> bool {
    (1..=40).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

/// `303` to `path` with the notice `key`.
pub fn done(path: &str, key: &str) -> Response {
    debug_assert!(is_notice_key(key), "notice key {key}");
    let separator = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{separator}done={key}")).into_response()
}

/// The way to the sign-in page, returning to `path` afterwards.
fn sign_in_first(path: &str) -> Response {
    let mut login =
        form_urlencoded::Serializer::for_suffix(String::from("/login?"), "/login?".len());
    login.append_pair("return_to", path);
    Redirect::to(&login.finish()).into_response()
}

/// The page a browser sent to sign in comes back to, for the routes it is layered on
/// (`.route_layer(Extension(ReturnTo(PATH)))`); a `{name}` in it stands for that path
/// parameter. Without it, the request's own path and query.
#[derive(Clone, Copy)]
pub struct ReturnTo(pub &'static str);

/// Where `parts`' browser comes back to after signing in (a malformed path parameter
/// is refused as `Path` refuses it).
async fn return_to(parts: &mut Parts, web: &Web) -> Result<String, Response> {
    let Some(ReturnTo(page)) = parts.extensions.get::<ReturnTo>().copied() else {
        return Ok(parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path(), |p| p.as_str())
            .to_owned());
    };
    if !page.contains('{') {
        return Ok(page.to_owned());
    }
    let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, web)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(params.iter().fold(page.to_owned(), |page, (name, value)| {
        page.replace(&format!("{{{name}}}"), value)
    }))
}

/// The signed-in browser's session. Refuses any other browser with a `303` to the
/// sign-in page, which sends it back to the [`ReturnTo`] page afterwards.
pub struct SignedIn(pub BrowserSession);

impl FromRequestParts<Web> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Response> {
        let page = return_to(parts, web).await?;
        let now = web.app.clock.now();
        match browser::current(&web.app.db, &web.pages, &parts.headers, now).await {
            Ok(Some(session)) => Ok(SignedIn(session)),
            Ok(None) => Err(sign_in_first(&page)),
            Err(e) => Err(ApiError::from(e).into_response()),
        }
    }
}

/// [`SignedIn`], for an administrator only: a signed-in non-admin gets a 403 page in the
/// frame, with the way back to their account.
pub struct SignedInAdmin(pub BrowserSession);

impl FromRequestParts<Web> for SignedInAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Response> {
        let SignedIn(session) = SignedIn::from_request_parts(parts, web).await?;
        if !session.user.is_admin() {
            let frame = Frame {
                web,
                headers: &parts.headers,
                session: &session,
            };
            let pages = &web.pages;
            return Err(frame.render(
                StatusCode::FORBIDDEN,
                "console/problem.html",
                "",
                None,
                minijinja::context! {
                    title => pages.tr("console-admins-only-title"),
                    message => pages.tr("console-admins-only"),
                    next_link => minijinja::context! {
                        href => "/account",
                        text => pages.tr("console-to-account"),
                    },
                },
            ));
        }
        Ok(SignedInAdmin(session))
    }
}

impl From<SignedIn> for BrowserSession {
    fn from(SignedIn(session): SignedIn) -> BrowserSession {
        session
    }
}

impl From<SignedInAdmin> for BrowserSession {
    fn from(SignedInAdmin(session): SignedInAdmin) -> BrowserSession {
        session
    }
}

/// A console page's request: the state, the headers, the raw query and the session of a
/// browser signed in as `S` ([`SignedIn`] or [`SignedInAdmin`]). Refuses as `S` refuses.
pub struct Page<S> {
    pub web: Web,
    pub headers: HeaderMap,
    pub query: Option<String>,
    pub session: BrowserSession,
    signed_in: PhantomData<fn() -> S>,
}

/// A page of `/account`: any signed-in browser.
pub type AccountPage = Page<SignedIn>;

/// A page of `/admin`: an administrator's browser only.
pub type AdminPage = Page<SignedInAdmin>;

impl<S> FromRequestParts<Web> for Page<S>
where
    S: FromRequestParts<Web, Rejection = Response> + Into<BrowserSession>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Response> {
        let session = S::from_request_parts(parts, web).await?.into();
        Ok(Page {
            web: web.clone(),
            headers: parts.headers.clone(),
            query: parts.uri.query().map(str::to_owned),
            session,
            signed_in: PhantomData,
        })
    }
}

impl<S> Page<S> {
    /// The frame this page is drawn in.
    pub fn frame(&self) -> Frame<'_> {
        Frame {
            web: &self.web,
            headers: &self.headers,
            session: &self.session,
        }
    }
}

/// A form with no fields but its CSRF token: a button.
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// A posted console form of type `T`. Refuses (403 page) a `csrf_token` field that does
/// not match the browser's cookie or comes from another `Origin`, and (400 page) a body
/// that is not a form of `T` or has a NUL in it.
pub struct ConsoleForm<T = NoFields>(pub T);

impl<T: DeserializeOwned> FromRequest<Web> for ConsoleForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, web: &Web) -> Result<Self, Response> {
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, web)
            .await
            .map_err(IntoResponse::into_response)?;
        posted(web, &headers, &body).map(ConsoleForm)
    }
}

/// Reads a posted form of type `T` and checks its `csrf_token` field against the
/// browser's cookie and origin; the refusal page otherwise.
fn posted<T: DeserializeOwned>(
    web: &Web,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, Response> {
    #[derive(serde::Deserialize)]
    struct Csrf {
        #[serde(default)]
        csrf_token: String,
    }
    let token = form::<Csrf>(headers, body).map(|c| c.csrf_token);
    let pages = &web.pages;
    if !token.is_some_and(|token| pages.form_is_genuine(headers, &token)) {
        return Err(pages.message(
            StatusCode::FORBIDDEN,
            &pages.tr("console-form-expired-title"),
            "error",
            &pages.tr("console-nothing-changed"),
            Some(&pages.tr("console-form-expired-next")),
        ));
    }
    form::<T>(headers, body).ok_or_else(|| {
        pages.message(
            StatusCode::BAD_REQUEST,
            &pages.tr("console-form-unreadable-title"),
            "error",
            &pages.tr("console-nothing-changed"),
            Some(&pages.tr("console-form-unreadable-next")),
        )
    })
}

/// A console page being answered: the browser's session and the request's headers.
pub struct Frame<'a> {
    pub web: &'a Web,
    pub headers: &'a HeaderMap,
    pub session: &'a BrowserSession,
}

impl Frame<'_> {
    /// Renders `template` (which extends `console/frame.html`) with `ctx` and what the
    /// frame needs: the account, the CSRF token, the `done` key of `?done=` in `query`, the
    /// current section for the navigation.
    pub fn render(
        &self,
        status: StatusCode,
        template: &str,
        section: &str,
        query: Option<&str>,
        ctx: Value,
    ) -> Response {
        let token = self.web.pages.form_token(self.headers);
        let done = query
            .and_then(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .find(|(name, _)| name == "done")
                    .map(|(_, value)| value.into_owned())
            })
            .filter(|key| is_notice_key(key));
        let frame = minijinja::context! {
            me => Value::from(Serde(&self.session.user)),
            is_admin => self.session.user.is_admin(),
            csrf_token => token.value,
            done => done,
            section => section,
            // What the `when` filter says times are ago from: the app's clock.
            now => self.web.app.clock.now().to_rfc3339(),
            // The optional modules served (`FEATURES`): their links and sections.
            modules => Value::from(Serde(&crate::features::served())),
        };
        // The frame's script (`/assets/console.js`) follows the session.
        let mut response = self.web.pages.page_with(
            status,
            template,
            minijinja::context! { ..frame, ..ctx },
            &Policy::default().with_scripts(),
        );
        if let Some(cookie) = token.set_cookie {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// The page after someone deleted their own account (on their page or on the admin's).
pub fn account_deleted_page(web: &Web) -> Response {
    let pages = &web.pages;
    session_ended_page(
        web,
        &pages.tr("console-deleted-title"),
        &pages.tr("console-deleted"),
        ("/account/signup", &pages.tr("console-deleted-next")),
    )
}

/// The page after this browser signed out of the console.
pub fn signed_out_page(web: &Web) -> Response {
    let pages = &web.pages;
    session_ended_page(
        web,
        &pages.tr("console-signed-out-title"),
        &pages.tr("console-signed-out"),
        ("/account", &pages.tr("console-sign-in-again")),
    )
}

/// The page after this browser's session ended here (signed out, or the account
/// deleted): `message` shown with `title` and the way on (`href`, its words), and the
/// session cookie cleared.
fn session_ended_page(web: &Web, title: &str, message: &str, next: (&str, &str)) -> Response {
    let mut response =
        web.pages
            .message_leading(StatusCode::OK, title, "success", message, None, Some(next));
    response
        .headers_mut()
        .append(header::SET_COOKIE, browser::clear(&web.pages));
    response
}
