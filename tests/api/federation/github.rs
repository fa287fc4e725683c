//! Sign in with GitHub (kind `github`: OAuth 2, no ID token) against a GitHub-shaped stub
//! on a loopback port, registered as a GitHub Enterprise Server (its issuer is its base
//! URL): `/login/oauth/access_token` checks the client's credentials in the body, the
//! PKCE verifier and single-use codes like GitHub; `/api/v3/user` and
//! `/api/v3/user/emails` answer the account a test chose for the access token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::fake::{CLIENT_ID, CLIENT_SECRET};
use super::{add_provider, assert_refused, callback_path, depart, query_of, scalar, text};
use crate::helpers::{Backend, Session, TestApp, TestResponse};
use crate::oidc::Browser;
use crate::on_both_engines;

on_both_engines!(
    github_signs_in_by_its_numeric_id_with_its_primary_verified_address,
    a_renamed_github_login_or_changed_address_still_signs_in_the_same_account,
    an_unverified_primary_github_address_never_links_or_verifies,
    a_github_code_that_does_not_redeem_is_refused_with_a_page,
    github_providers_need_no_openid_scope_and_say_so,
);

/// A GitHub account as the API tells it.
#[derive(Clone)]
struct Account {
    id: u64,
    login: String,
    email: String,
    verified: bool,
}

struct Grant {
    account: Account,
    challenge: String,
}

#[derive(Clone, Default)]
struct Shared {
    codes: Arc<Mutex<HashMap<String, Grant>>>,
    tokens: Arc<Mutex<HashMap<String, Account>>>,
}

struct GitHubStub {
    base: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for GitHubStub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl GitHubStub {
    async fn start() -> GitHubStub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let shared = Shared::default();
        let router = Router::new()
            .route("/login/oauth/access_token", post(access_token))
            .route("/api/v3/user", get(user))
            .route("/api/v3/user/emails", get(emails))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("the stub serves");
        });
        GitHubStub {
            base,
            shared,
            server,
        }
    }

    /// Adds this stub to `app` as the `github` provider `gh` with `trust_email`.
    async fn add_to(&self, app: &TestApp, admin: &Session, trust_email: Option<&str>) -> Value {
        let mut body = json!({
            "slug": "gh",
            "kind": "github",
            "display_name": "GitHub",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "issuer": self.base,
        });
        if let Some(trust) = trust_email {
            body["trust_email"] = json!(trust);
        }
        add_provider(app, admin, body).await
    }

    /// Leaves `browser` for GitHub and comes back as `account` (the code redeemable
    /// once, for the PKCE challenge sent): the callback's answer.
    async fn sign_in(&self, browser: &mut Browser<'_>, account: &Account) -> TestResponse {
        let authorize = depart(browser, "gh", None).await;
        assert!(
            authorize.starts_with(&format!("{}/login/oauth/authorize?", self.base)),
            "{authorize}"
        );
        let request = query_of(&authorize);
        assert_eq!(request["client_id"], CLIENT_ID);
        assert_eq!(request["code_challenge_method"], "S256");
        assert_eq!(request["scope"], "read:user user:email");
        assert!(!request.contains_key("nonce"), "{request:?}");
        let code = format!("gh-{}", uuid::Uuid::new_v4().simple());
        self.shared.codes.lock().unwrap().insert(
            code.clone(),
            Grant {
                account: account.clone(),
                challenge: request["code_challenge"].clone(),
            },
        );
        let mut back = url::Url::parse(&request["redirect_uri"]).expect("a redirect URI");
        back.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &request["state"]);
        browser.get(&callback_path(back.as_str())).await
    }
}

fn oauth_error(error: &str) -> Response {
    // GitHub answers errors of the token endpoint with 200 and an `error` field.
    Json(json!({"error": error, "error_description": error})).into_response()
}

async fn access_token(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if headers.get("accept").and_then(|v| v.to_str().ok()) != Some("application/json") {
        return (StatusCode::NOT_ACCEPTABLE, "form-encoded answers only").into_response();
    }
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return oauth_error("incorrect_client_credentials");
    }
    let Some(grant) = form
        .get("code")
        .and_then(|code| shared.codes.lock().unwrap().remove(code))
    else {
        return oauth_error("bad_verification_code");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge {
        return oauth_error("bad_verification_code");
    }
    let token = format!("gho_{}", uuid::Uuid::new_v4().simple());
    shared
        .tokens
        .lock()
        .unwrap()
        .insert(token.clone(), grant.account);
    Json(json!({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}))
        .into_response()
}

fn account_of(shared: &Shared, headers: &HeaderMap) -> Option<Account> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    shared.tokens.lock().unwrap().get(token).cloned()
}

async fn user(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    match account_of(&shared, &headers) {
        Some(account) => Json(json!({
            "id": account.id,
            "login": account.login,
            "name": format!("{} (GitHub)", account.login),
            "email": null,
        }))
        .into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn emails(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    match account_of(&shared, &headers) {
        Some(account) => Json(json!([
            {"email": format!("{}@users.noreply.github.com", account.id), "primary": false, "verified": true, "visibility": null},
            {"email": account.email, "primary": true, "verified": account.verified, "visibility": "private"},
        ]))
        .into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

fn octocat(email: &str, verified: bool) -> Account {
    Account {
        id: 583231,
        login: "octocat".into(),
        email: email.into(),
        verified,
    }
}

async fn github_signs_in_by_its_numeric_id_with_its_primary_verified_address(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let github = GitHubStub::start().await;
    let provider = github.add_to(&app, &admin, None).await;
    assert_eq!(provider["trust_email"], "verified");
    assert_eq!(provider["jwks_uri"], Value::Null);
    assert_eq!(
        provider["userinfo_endpoint"],
        format!("{}/api/v3/user", github.base)
    );
    let mut browser = Browser::new(&app);
    let signed_in = github
        .sign_in(&mut browser, &octocat("octo@example.com", true))
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    assert!(browser.has_cookie("roster"));
    assert_eq!(
        text(
            &app,
            "SELECT username FROM users WHERE email = 'octo@example.com'"
        )
        .await,
        "octocat"
    );
    let verified = scalar(
        &app,
        "SELECT COUNT(*) FROM users WHERE email = 'octo@example.com' AND email_verified",
    )
    .await;
    assert_eq!(verified, 1);
    let identity = text(
        &app,
        "SELECT i.issuer || ' ' || i.subject FROM user_identities i JOIN users u ON u.id = i.user_id WHERE u.email = 'octo@example.com'",
    )
    .await;
    assert_eq!(identity, format!("{} 583231", github.base));
}

async fn a_renamed_github_login_or_changed_address_still_signs_in_the_same_account(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let github = GitHubStub::start().await;
    github.add_to(&app, &admin, None).await;
    let mut first = Browser::new(&app);
    let made = github
        .sign_in(&mut first, &octocat("octo@example.com", true))
        .await;
    assert_eq!(made.status, 303, "{}", made.text);
    // Renamed and moved to another address at GitHub: the id is what counts.
    let renamed = Account {
        login: "monalisa".into(),
        ..octocat("mona@example.com", true)
    };
    let mut second = Browser::new(&app);
    let again = github.sign_in(&mut second, &renamed).await;
    assert_eq!(again.status, 303, "{}", again.text);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM user_identities").await,
        1
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM users WHERE role <> 'admin'").await,
        1
    );
    // Another GitHub account that took over the old login is another identity.
    let squatter = Account {
        id: 999_001,
        ..octocat("squatter@example.com", true)
    };
    let mut third = Browser::new(&app);
    let other = github.sign_in(&mut third, &squatter).await;
    assert_eq!(other.status, 303, "{}", other.text);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM user_identities").await,
        2
    );
    let owners = scalar(&app, "SELECT COUNT(DISTINCT user_id) FROM user_identities").await;
    assert_eq!(owners, 2);
}

async fn an_unverified_primary_github_address_never_links_or_verifies(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let victim = app.register("victim", "Correct-Horse-9").await;
    let victim_email = victim["email"].as_str().unwrap().to_owned();
    let github = GitHubStub::start().await;
    github.add_to(&app, &admin, Some("authoritative")).await;
    // Even an authoritative provider does not vouch for an address it says it has not
    // verified: the existing account is only offered, never linked.
    let mut attacker = Browser::new(&app);
    let offered = github
        .sign_in(&mut attacker, &octocat(&victim_email, false))
        .await;
    assert!(!attacker.has_cookie("roster"), "{}", offered.text);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM user_identities").await,
        0
    );
    // A new address that GitHub has not verified makes no account.
    let mut newcomer = Browser::new(&app);
    let stranger = Account {
        id: 42,
        login: "stranger".into(),
        email: "stranger@example.com".into(),
        verified: false,
    };
    let refused = github.sign_in(&mut newcomer, &stranger).await;
    assert_refused(
        &newcomer,
        &refused,
        403,
        "GitHub has not confirmed your email address",
    );
    let made = scalar(
        &app,
        "SELECT COUNT(*) FROM users WHERE email = 'stranger@example.com'",
    )
    .await;
    assert_eq!(made, 0);
}

async fn a_github_code_that_does_not_redeem_is_refused_with_a_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let github = GitHubStub::start().await;
    github.add_to(&app, &admin, None).await;
    let mut browser = Browser::new(&app);
    let authorize = depart(&mut browser, "gh", None).await;
    let request = query_of(&authorize);
    // A code GitHub never issued: its token endpoint answers 200 with an `error`.
    let mut back = url::Url::parse(&request["redirect_uri"]).unwrap();
    back.query_pairs_mut()
        .append_pair("code", "gh-forged")
        .append_pair("state", &request["state"]);
    let refused = browser.get(&callback_path(back.as_str())).await;
    assert_refused(&browser, &refused, 502, "answer could not be verified");
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM user_identities").await,
        0
    );
}

async fn github_providers_need_no_openid_scope_and_say_so(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let github = GitHubStub::start().await;
    let provider = github.add_to(&app, &admin, None).await;
    assert_eq!(provider["scopes"], json!(["read:user", "user:email"]));
    let id = provider["id"].as_str().unwrap();
    let changed = app
        .patch(&format!("/api/v1/admin/identity-providers/{id}"))
        .bearer(&admin.access_token)
        .json(json!({"scopes": ["read:user"]}))
        .send()
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    // An OpenID provider still needs `openid`.
    let oidc = app
        .post("/api/v1/admin/identity-providers")
        .bearer(&admin.access_token)
        .json(json!({
            "slug": "plain", "kind": "google", "display_name": "Google",
            "client_id": "c", "client_secret": "s", "scopes": ["email"],
        }))
        .send()
        .await;
    assert_eq!(oidc.fields(422), ["scopes"]);
}
