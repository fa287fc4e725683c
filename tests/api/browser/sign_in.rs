//! "Sign in with Roster" in a real browser: an application sends the browser to the
//! authorization endpoint, the user signs in on Roster's pages (a password; a TOTP code;
//! a passkey, alone or as the second factor), allows the application on the consent
//! page, and the browser lands back at the application with a code that the
//! application redeems for tokens naming that user.

use std::collections::BTreeMap;

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

use super::Chromium;
use crate::helpers::{Backend, Session, TestApp, claims};
use crate::mfa::{enrol_totp, fresh_code};
use crate::oidc::{VERIFIER, basic, challenge, register_client};
use crate::on_both_engines;

on_both_engines!(
    a_password_sign_in_through_the_pages_returns_the_browser_to_the_application,
    a_totp_second_factor_is_asked_for_on_its_own_page,
    a_passkey_signs_in_alone_and_as_the_second_factor,
);

/// The application the browser returns to: its `/callback` only says it was reached.
async fn relying_party() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let app = Router::new().route(
        "/callback",
        get(|| async {
            axum::response::Html(
                "<!DOCTYPE html><title>Back</title><p id=\"back\">Back at the application</p>",
            )
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// Roster on a socket at `http://localhost:PORT` (passkeys need a host name), an
/// administrator, a user, a confidential client redirecting to a relying party.
struct Setting {
    app: TestApp,
    base: String,
    client: Value,
    redirect_uri: String,
    user: Session,
}

async fn setting(backend: Backend, first_party: bool) -> Setting {
    let (app, base) = TestApp::builder(backend).start_served_as("localhost").await;
    let redirect_uri = format!("{}/callback", relying_party().await);
    let admin = app.admin().await;
    let client = register_client(
        &app,
        &admin,
        json!({
            "name": "Study Spots",
            "type": "confidential",
            "redirect_uris": [redirect_uri],
            "first_party": first_party,
        }),
    )
    .await;
    let user = app.user().await;
    Setting {
        app,
        base,
        client,
        redirect_uri,
        user,
    }
}

impl Setting {
    fn authorize_url(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", self.client["client_id"].as_str().unwrap())
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", "openid profile email")
            .append_pair("state", "browser-state")
            .append_pair("nonce", "browser-nonce")
            .append_pair("code_challenge", &challenge(VERIFIER))
            .append_pair("code_challenge_method", "S256");
        format!("{}/oauth2/authorize?{}", self.base, query.finish())
    }

    /// Waits for the browser to land back at the application; redeems the code there and
    /// answers the ID token's claims.
    async fn back_at_the_application(&self, chromium: &Chromium) -> Value {
        let url = chromium.wait_for_url(&self.redirect_uri).await;
        chromium.find("back").await;
        let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(query["state"], "browser-state", "{url}");
        assert_eq!(query["iss"], self.base, "{url}");
        let response = self
            .app
            .post("/oauth2/token")
            .header(
                "authorization",
                &basic(
                    self.client["client_id"].as_str().unwrap(),
                    self.client["client_secret"].as_str().unwrap(),
                ),
            )
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &query["code"]),
                ("redirect_uri", &self.redirect_uri),
                ("code_verifier", VERIFIER),
            ])
            .send()
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
        let id_token = claims(response.json()["id_token"].as_str().expect("an ID token"));
        assert_eq!(id_token["sub"], self.user.user_id.to_string());
        assert_eq!(id_token["nonce"], "browser-nonce");
        id_token
    }

    /// The login page's password step.
    async fn sign_in_with_password(&self, chromium: &Chromium) {
        chromium.goto(&self.authorize_url()).await;
        chromium.wait_for_url(&format!("{}/login", self.base)).await;
        chromium.fill("login", &self.user.username).await;
        chromium.fill("password", &self.user.password).await;
        chromium.press("Sign in").await;
    }
}

async fn a_password_sign_in_through_the_pages_returns_the_browser_to_the_application(
    backend: Backend,
) {
    let setting = setting(backend, false).await;
    let chromium = Chromium::start().await;

    // A wrong password: the page again, saying so, and nothing else happens.
    chromium.goto(&setting.authorize_url()).await;
    chromium
        .wait_for_url(&format!("{}/login", setting.base))
        .await;
    chromium.find("login").await;
    chromium.assert_accessible("the sign-in page").await;
    chromium.screenshot("sign-in").await;
    chromium.fill("login", &setting.user.username).await;
    chromium.fill("password", "not the password").await;
    chromium.press("Sign in").await;
    let error = chromium.find("form-errors").await;
    assert!(
        error.text().await.unwrap().contains("not right"),
        "{}",
        chromium.page_text().await
    );
    chromium
        .assert_accessible("the sign-in page with an error")
        .await;
    // The check sees what it is for: a field whose label is taken away is reported.
    chromium
        .client
        .execute(
            "document.querySelector('label[for=password]').remove();",
            vec![],
        )
        .await
        .expect("the script runs");
    let found = chromium.serious_violations().await;
    assert!(
        found.iter().any(|v| v["id"] == "label"),
        "axe-core missed an unlabelled field: {found:?}"
    );
    chromium.client.refresh().await.expect("the page reloads");

    // The right one: the consent page (a third-party client), then back with a code.
    // A browser that refused the form post (CSRF: the Origin it sends) or the redirect
    // after it (CSP form-action) would stop here.
    chromium.fill("password", &setting.user.password).await;
    chromium.press("Sign in").await;
    chromium
        .wait_for_url(&format!("{}/consent", setting.base))
        .await;
    chromium.wait_for_text("Study Spots").await;
    chromium.assert_accessible("the consent page").await;
    chromium.screenshot("consent").await;
    chromium.press("Allow").await;
    let id_token = setting.back_at_the_application(&chromium).await;
    assert_eq!(id_token["amr"], json!(["pwd"]));

    // Signed in now: the next request of the application comes straight back.
    chromium.goto(&setting.authorize_url()).await;
    setting.back_at_the_application(&chromium).await;
    chromium.close().await;
}

async fn a_totp_second_factor_is_asked_for_on_its_own_page(backend: Backend) {
    let setting = setting(backend, true).await;
    let (secret, _) = enrol_totp(&setting.app, &setting.user).await;
    let chromium = Chromium::start().await;

    setting.sign_in_with_password(&chromium).await;
    chromium.find("code").await;
    chromium.assert_accessible("the second-factor page").await;
    chromium.fill("code", "000000").await;
    chromium.press("Verify").await;
    let error = chromium.find("form-errors").await;
    assert!(error.text().await.unwrap().contains("not right"));

    chromium
        .fill("code", &fresh_code(&setting.app, &secret))
        .await;
    chromium.press("Verify").await;
    // A first-party client: no consent page.
    let id_token = setting.back_at_the_application(&chromium).await;
    let amr: Vec<&str> = id_token["amr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(amr.contains(&"otp") && amr.contains(&"mfa"), "{amr:?}");
    chromium.close().await;
}

/// Adds a passkey of the browser's virtual authenticator the way a user does: signed in
/// on the account pages, through the security page's script.
async fn register_passkey(setting: &Setting, chromium: &Chromium) {
    chromium
        .goto(&format!("{}/account/security", setting.base))
        .await;
    chromium
        .wait_for_url(&format!("{}/login", setting.base))
        .await;
    chromium.fill("login", &setting.user.username).await;
    chromium.fill("password", &setting.user.password).await;
    chromium.press("Sign in").await;
    chromium
        .wait_for_url(&format!("{}/account/security", setting.base))
        .await;
    chromium.fill("passkey_name", "Laptop").await;
    chromium.press("Add a passkey").await;
    chromium
        .wait_for_url(&format!(
            "{}/account/security?done=passkey-added",
            setting.base
        ))
        .await;
    let listed = setting
        .app
        .get("/api/v1/auth/mfa")
        .bearer(&setting.user.access_token)
        .send()
        .await
        .json();
    assert_eq!(listed["passkeys"][0]["name"], "Laptop", "{listed}");
    chromium.press("Sign out").await;
    chromium.find("content").await;
}

async fn a_passkey_signs_in_alone_and_as_the_second_factor(backend: Backend) {
    let setting = setting(backend, true).await;
    let chromium = Chromium::start().await;
    chromium.add_virtual_authenticator().await;
    register_passkey(&setting, &chromium).await;

    // As the second factor of a password sign-in (the account now has one).
    chromium.client.delete_all_cookies().await.expect("cookies");
    setting.sign_in_with_password(&chromium).await;
    chromium.find("passkey-form").await;
    chromium.press("Use a passkey").await;
    let id_token = setting.back_at_the_application(&chromium).await;
    let amr = id_token["amr"].to_string();
    assert!(amr.contains("pwd") && amr.contains("mfa"), "{amr}");

    // Alone, in a browser with no session: "Sign in with a passkey" on the login page.
    // (WebDriver deletes the cookies of the page's own site: be on Roster's.)
    chromium.goto(&format!("{}/login", setting.base)).await;
    chromium.client.delete_all_cookies().await.expect("cookies");
    chromium.goto(&setting.authorize_url()).await;
    chromium
        .wait_for_url(&format!("{}/login", setting.base))
        .await;
    chromium.press("Sign in with a passkey").await;
    let id_token = setting.back_at_the_application(&chromium).await;
    let amr = id_token["amr"].to_string();
    assert!(!amr.contains("pwd") && amr.contains("mfa"), "{amr}");
    chromium.close().await;
}
