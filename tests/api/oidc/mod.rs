//! The OpenID provider: clients registered through the admin API, a browser (a cookie
//! jar over the router) through the login, second-factor and consent pages, and the
//! back channel (token, userinfo, revocation, introspection, logout).

mod clients;
mod flow;
mod forgery;
mod interop;
pub mod openapi;
mod pages;
mod rules;
mod service_accounts;

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Session, TestApp, TestResponse};

pub const REDIRECT_URI: &str = "https://app.example/callback";
pub const LOGOUT_URI: &str = "https://app.example/signed-out";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mJ92IzFGyb6mGq1pZsx3JpYxnf4Y2Q-verifier-long-enough";

/// Registers a client as `admin`; the answer (with `client_secret` when confidential).
pub async fn register_client(app: &TestApp, admin: &Session, body: Value) -> Value {
    let response = app
        .post("/api/v1/admin/clients")
        .bearer(&admin.access_token)
        .json(body)
        .send()
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.json()
}

/// A confidential client with the usual redirect URIs.
pub async fn confidential_client(app: &TestApp, admin: &Session, first_party: bool) -> Value {
    register_client(
        app,
        admin,
        json!({
            "name": "Study Spots",
            "type": "confidential",
            "redirect_uris": [REDIRECT_URI],
            "post_logout_redirect_uris": [LOGOUT_URI],
            "first_party": first_party,
        }),
    )
    .await
}

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `/oauth2/authorize?...` for `client_id` with PKCE over [`VERIFIER`] and `extra`.
pub fn authorize_path(client_id: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", scope)
        .append_pair("state", "st-123")
        .append_pair("nonce", "n-456")
        .append_pair("code_challenge", &challenge(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    for (name, value) in extra {
        query.append_pair(name, value);
    }
    format!("/oauth2/authorize?{}", query.finish())
}

/// The query parameters of a redirect's `Location`.
pub fn location_query(response: &TestResponse) -> BTreeMap<String, String> {
    let location = response.header("location").expect("a Location header");
    let url = url::Url::parse(location)
        .or_else(|_| url::Url::parse(&format!("http://roster.test{location}")))
        .expect("a URL");
    url.query_pairs().into_owned().collect()
}

/// The value of a hidden `<input name="NAME" value="...">` in a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&#x2f;", "/")
            .replace("&#x27;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// A browser: a cookie jar in front of the router.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    cookies: BTreeMap<String, String>,
    /// The `Accept-Language` it sends, if any.
    accept_language: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            cookies: BTreeMap::new(),
            accept_language: None,
        }
    }

    /// The same browser, sending `Accept-Language: accept_language` from now on.
    pub fn speaking(mut self, accept_language: &str) -> Browser<'a> {
        self.accept_language = Some(accept_language.to_owned());
        self
    }

    fn with_headers(
        &self,
        mut request: crate::helpers::RequestBuilder,
    ) -> crate::helpers::RequestBuilder {
        let jar = self.jar();
        if !jar.is_empty() {
            request = request.header("cookie", &jar);
        }
        if let Some(languages) = &self.accept_language {
            request = request.header("accept-language", languages);
        }
        request
    }

    fn jar(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, response: &TestResponse) {
        for cookie in response.headers.get_all("set-cookie") {
            let cookie = cookie.to_str().expect("an ASCII cookie");
            let pair = cookie.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || cookie.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.contains_key(name)
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        let response = self.with_headers(self.app.get(path)).send().await;
        self.keep(&response);
        response
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> TestResponse {
        let response = self
            .with_headers(self.app.post(path).form(form))
            .send()
            .await;
        self.keep(&response);
        response
    }

    /// Follows `Location` once (a same-origin path).
    pub async fn follow(&mut self, response: &TestResponse) -> TestResponse {
        assert!(
            response.status.is_redirection(),
            "{} {}",
            response.status,
            response.text
        );
        let location = response.header("location").expect("Location").to_owned();
        assert!(location.starts_with('/'), "{location}");
        self.get(&location).await
    }

    /// Follows same-origin redirects until a page or a redirect elsewhere.
    pub async fn follow_local(&mut self, response: &TestResponse) -> TestResponse {
        let mut response = self.follow(response).await;
        while response.status.is_redirection()
            && response
                .header("location")
                .is_some_and(|l| l.starts_with('/') && !l.starts_with("/login"))
        {
            response = self.follow(&response).await;
        }
        response
    }

    /// Submits the login page shown in `page` with `login` and `password`.
    pub async fn submit_login(
        &mut self,
        page: &TestResponse,
        login: &str,
        password: &str,
    ) -> TestResponse {
        assert_eq!(page.status, 200, "{}", page.text);
        let csrf = hidden(&page.text, "csrf_token").expect("a CSRF token on the page");
        let return_to = hidden(&page.text, "return_to").unwrap_or_default();
        self.post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("return_to", &return_to),
                ("login", login),
                ("password", password),
            ],
        )
        .await
    }

    /// Allows (or denies) on the consent page shown in `page`.
    pub async fn submit_consent(&mut self, page: &TestResponse, decision: &str) -> TestResponse {
        assert_eq!(page.status, 200, "{}", page.text);
        let form = hidden_fields(&page.text, "/consent");
        let mut pairs: Vec<(&str, &str)> =
            form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        pairs.push(("decision", decision));
        self.post("/consent", &pairs).await
    }

    /// Runs the authorization request at `path` as `user` (signing in when asked,
    /// allowing consent when shown) up to the redirect back to the client.
    pub async fn authorize(&mut self, path: &str, user: &Session) -> TestResponse {
        let mut response = self.get(path).await;
        if response.status.is_redirection()
            && response
                .header("location")
                .is_some_and(|l| l.starts_with("/login"))
        {
            let page = self.follow(&response).await;
            let signed_in = self
                .submit_login(&page, &user.username, &user.password)
                .await;
            assert_eq!(signed_in.status, 303, "{}", signed_in.text);
            response = self.follow(&signed_in).await;
        }
        if response.status.is_redirection()
            && response
                .header("location")
                .is_some_and(|l| l.starts_with("/consent"))
        {
            response = self.follow(&response).await;
        }
        if response.status == 200 && response.text.contains("action=\"/consent\"") {
            response = self.submit_consent(&response, "allow").await;
        }
        response
    }
}

/// Every hidden input of the form posting to `action`, in order.
pub fn hidden_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let start = html
        .find(&format!("action=\"{action}\""))
        .expect("the form");
    let end = html[start..].find("</form>").expect("the form's end") + start;
    let form = &html[start..end];
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(at) = rest.find("<input type=\"hidden\" name=\"") {
        let tail = &rest[at + "<input type=\"hidden\" name=\"".len()..];
        let name_end = tail.find('"').expect("name");
        let name = &tail[..name_end];
        let value = hidden(rest, name).unwrap_or_default();
        fields.push((name.to_owned(), value));
        rest = &tail[name_end..];
    }
    fields
}

/// `Authorization: Basic` for a client (RFC 6749 §2.3.1: form-encoded parts).
pub fn basic(client_id: &str, secret: &str) -> String {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(client_id), encode(secret)))
    )
}

/// Redeems `code` at the token endpoint with `client_secret_basic`.
pub async fn redeem(app: &TestApp, client: &Value, code: &str, verifier: &str) -> TestResponse {
    app.post("/oauth2/token")
        .header(
            "authorization",
            &basic(
                client["client_id"].as_str().unwrap(),
                client["client_secret"].as_str().unwrap(),
            ),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ])
        .send()
        .await
}

/// The whole browser flow for `user` and `client` with `scope`: the token response.
pub async fn sign_in_through(app: &TestApp, client: &Value, user: &Session, scope: &str) -> Value {
    let mut browser = Browser::new(app);
    let client_id = client["client_id"].as_str().unwrap();
    let back = browser
        .authorize(&authorize_path(client_id, scope, &[]), user)
        .await;
    assert_eq!(back.status, 303, "{}", back.text);
    let query = location_query(&back);
    let response = redeem(app, client, &query["code"], VERIFIER).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.json()
}

/// Introspects `token` as `client`.
pub async fn introspect(app: &TestApp, client: &Value, token: &str) -> Value {
    let response = app
        .post("/oauth2/introspect")
        .header(
            "authorization",
            &basic(
                client["client_id"].as_str().unwrap(),
                client["client_secret"].as_str().unwrap(),
            ),
        )
        .form(&[("token", token)])
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.json()
}
