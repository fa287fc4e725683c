//! Sign in with Apple (kind `apple`) against an Apple-shaped stub on a loopback port,
//! registered by its issuer: `/auth/token` takes only a client secret in the form that
//! is a JWT signed ES256 by the team's key (checked with the key's public half: `kid`,
//! `iss` = team, `sub` = Services ID, `aud` = Apple, five minutes at most), the PKCE
//! verifier and single-use codes; ID tokens are RS256 with a `kid`, and say
//! `email_verified` as the string `"true"` as Apple does. The browser comes back by a
//! cross-site form post, which carries no SameSite=Lax cookie.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    PUBLIC_URL, add_provider, assert_refused, callback_path, depart, query_of, scalar, text,
};
use crate::helpers::{Backend, Session, TestApp, TestResponse};
use crate::oidc::Browser;
use crate::on_both_engines;

on_both_engines!(
    apple_signs_in_through_its_form_post_with_a_secret_signed_by_the_teams_key,
    apple_keys_and_ids_are_checked_and_never_shown,
    a_form_post_is_only_taken_from_apple_and_still_bound_to_the_browser,
);

const SERVICES_ID: &str = "com.example.roster";
const TEAM_ID: &str = "TEAM123456";
const KEY_ID: &str = "KEY9876543";
const SUBJECT: &str = "001234.5f1e6d8a9c0b4e2f.0816";

struct Grant {
    claims: Value,
    challenge: String,
}

#[derive(Clone)]
struct Shared {
    issuer: String,
    /// The public half of the team's key, as Apple holds it.
    team_key: Arc<DecodingKey>,
    signing: Arc<EncodingKey>,
    jwk: Value,
    codes: Arc<Mutex<HashMap<String, Grant>>>,
    /// Client secrets that were accepted.
    exchanges: Arc<Mutex<u32>>,
}

struct AppleStub {
    issuer: String,
    /// The team's key as the `.p8` file holds it.
    private_key_pem: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for AppleStub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A P-256 key: its PKCS#8 PEM and its public half.
pub fn team_key() -> (String, DecodingKey) {
    let secret = loop {
        if let Ok(secret) = p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
            break secret;
        }
    };
    let der = STANDARD.encode(secret.to_pkcs8_der().unwrap().as_bytes());
    let lines: Vec<&str> = der
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let point = secret.public_key().to_encoded_point(false);
    let public = DecodingKey::from_ec_components(
        &URL_SAFE_NO_PAD.encode(point.x().unwrap()),
        &URL_SAFE_NO_PAD.encode(point.y().unwrap()),
    )
    .unwrap();
    (pem, public)
}

/// Apple's ID-token key: RSA, published with a `kid`.
fn apple_signing_key() -> (EncodingKey, Value) {
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let der = private.to_pkcs1_der().unwrap();
    let jwk = json!({
        "kty": "RSA", "kid": "apple-1", "use": "sig", "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
    });
    (EncodingKey::from_rsa_der(der.as_bytes()), jwk)
}

impl AppleStub {
    async fn start() -> AppleStub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let (private_key_pem, public) = team_key();
        let (signing, jwk) = apple_signing_key();
        let shared = Shared {
            issuer: issuer.clone(),
            team_key: Arc::new(public),
            signing: Arc::new(signing),
            jwk,
            codes: Arc::default(),
            exchanges: Arc::default(),
        };
        let router = Router::new()
            .route("/auth/token", post(token))
            .route("/auth/keys", get(keys))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("the stub serves");
        });
        AppleStub {
            issuer,
            private_key_pem,
            shared,
            server,
        }
    }

    fn provider(&self) -> Value {
        json!({
            "slug": "apple",
            "kind": "apple",
            "display_name": "Apple",
            "client_id": SERVICES_ID,
            "client_secret": self.private_key_pem,
            "team_id": TEAM_ID,
            "key_id": KEY_ID,
            "issuer": self.issuer,
        })
    }

    /// Leaves `browser` for Apple, which answers by a cross-site form post of a code for
    /// `email` (and `user` when given): the POST's answer and the authorization request.
    async fn form_post(
        &self,
        browser: &mut Browser<'_>,
        email: &str,
        user: Option<&str>,
    ) -> (TestResponse, String) {
        let authorize = depart(browser, "apple", None).await;
        assert!(
            authorize.starts_with(&format!("{}/auth/authorize?", self.issuer)),
            "{authorize}"
        );
        let request = query_of(&authorize);
        assert_eq!(request["response_mode"], "form_post");
        assert_eq!(request["scope"], "openid email name");
        assert_eq!(request["code_challenge_method"], "S256");
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": self.issuer, "aud": SERVICES_ID, "sub": SUBJECT,
            "iat": now, "exp": now + 600, "nonce": request["nonce"],
            "email": email, "email_verified": "true", "is_private_email": "true",
            "auth_time": now, "nonce_supported": true,
        });
        let code = format!("c{}.0.apple", uuid::Uuid::new_v4().simple());
        self.shared.codes.lock().unwrap().insert(
            code.clone(),
            Grant {
                claims,
                challenge: request["code_challenge"].clone(),
            },
        );
        let mut form = vec![
            ("code", code.as_str()),
            ("state", request["state"].as_str()),
        ];
        if let Some(user) = user {
            form.push(("user", user));
        }
        // Cross-site: the browser's Lax cookies stay home.
        let posted = browser
            .app
            .post("/login/apple/callback")
            .form(&form)
            .send()
            .await;
        (posted, authorize)
    }

    /// [`Self::form_post`], then the GET it is turned into, with the browser's cookies.
    async fn sign_in(
        &self,
        browser: &mut Browser<'_>,
        email: &str,
        user: Option<&str>,
    ) -> TestResponse {
        let (posted, _) = self.form_post(browser, email, user).await;
        assert_eq!(posted.status, 303, "{}", posted.text);
        assert!(
            posted.header("set-cookie").is_none(),
            "{:?}",
            posted.headers
        );
        let location = posted.header("location").expect("a Location").to_owned();
        browser.get(&callback_path(&location)).await
    }

    fn exchanges(&self) -> u32 {
        *self.shared.exchanges.lock().unwrap()
    }
}

fn oauth_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": error}))).into_response()
}

/// Whether `secret` is what Apple takes: ES256 by the team's key, five minutes at most.
fn client_secret_holds(shared: &Shared, secret: &str) -> bool {
    let Ok(header) = jsonwebtoken::decode_header(secret) else {
        return false;
    };
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[shared.issuer.as_str()]);
    validation.set_issuer(&[TEAM_ID]);
    validation.sub = Some(SERVICES_ID.to_owned());
    let Ok(data) = jsonwebtoken::decode::<Value>(secret, &shared.team_key, &validation) else {
        return false;
    };
    let lifetime =
        data.claims["exp"].as_i64().unwrap_or(i64::MAX) - data.claims["iat"].as_i64().unwrap_or(0);
    header.kid.as_deref() == Some(KEY_ID) && lifetime <= 300
}

async fn token(
    State(shared): State<Shared>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if form.get("client_id").map(String::as_str) != Some(SERVICES_ID)
        || !form
            .get("client_secret")
            .is_some_and(|secret| client_secret_holds(&shared, secret))
    {
        return oauth_error("invalid_client");
    }
    let Some(grant) = form
        .get("code")
        .and_then(|code| shared.codes.lock().unwrap().remove(code))
    else {
        return oauth_error("invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge {
        return oauth_error("invalid_grant");
    }
    *shared.exchanges.lock().unwrap() += 1;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("apple-1".into());
    let id_token = jsonwebtoken::encode(&header, &grant.claims, &shared.signing).unwrap();
    Json(json!({
        "access_token": "a.apple-access", "token_type": "Bearer", "expires_in": 3600,
        "refresh_token": "r.apple-refresh", "id_token": id_token,
    }))
    .into_response()
}

async fn keys(State(shared): State<Shared>) -> Json<Value> {
    Json(json!({"keys": [shared.jwk]}))
}

async fn with_apple(app: &TestApp, admin: &Session) -> AppleStub {
    let apple = AppleStub::start().await;
    let provider = add_provider(app, admin, apple.provider()).await;
    assert_eq!(provider["trust_email"], "authoritative");
    assert_eq!(provider["jwks_uri"], format!("{}/auth/keys", apple.issuer));
    apple
}

const ADA: &str =
    r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"ada@privaterelay.appleid.com"}"#;

async fn apple_signs_in_through_its_form_post_with_a_secret_signed_by_the_teams_key(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let apple = with_apple(&app, &admin).await;
    let mut browser = Browser::new(&app);
    let (posted, _) = apple
        .form_post(&mut browser, "ada@privaterelay.appleid.com", Some(ADA))
        .await;
    assert_eq!(posted.status, 303, "{}", posted.text);
    let location = posted.header("location").unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{PUBLIC_URL}/login/apple/callback?")),
        "{location}"
    );
    assert_eq!(query_of(&location)["name"], "Ada Lovelace");
    // Nothing happened on the POST itself: no code was redeemed, no account made.
    assert_eq!(apple.exchanges(), 0);
    let signed_in = browser.get(&callback_path(&location)).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    assert!(browser.has_cookie("roster"));
    assert_eq!(apple.exchanges(), 1);
    let account = "FROM users WHERE email = 'ada@privaterelay.appleid.com'";
    assert_eq!(
        text(&app, &format!("SELECT full_name {account}")).await,
        "Ada Lovelace"
    );
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT COUNT(*) {account} AND email_verified")
        )
        .await,
        1
    );
    // Apple sends the name the first time only; the next sign-in is the same account.
    let mut again = Browser::new(&app);
    let back = apple
        .sign_in(&mut again, "ada@privaterelay.appleid.com", None)
        .await;
    assert_eq!(back.status, 303, "{}", back.text);
    assert!(again.has_cookie("roster"));
    assert_eq!(
        text(
            &app,
            "SELECT i.subject FROM user_identities i JOIN users u ON u.id = i.user_id WHERE u.email = 'ada@privaterelay.appleid.com'"
        )
        .await,
        SUBJECT
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM user_identities").await,
        1
    );
    assert_eq!(
        text(&app, &format!("SELECT full_name {account}")).await,
        "Ada Lovelace"
    );
}

async fn apple_keys_and_ids_are_checked_and_never_shown(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let apple = AppleStub::start().await;
    let add = |body: Value| {
        app.post("/api/v1/admin/identity-providers")
            .bearer(&admin.access_token)
            .json(body)
            .send()
    };
    let mut wrong = apple.provider();
    wrong["client_secret"] = json!("not a key");
    wrong["team_id"] = json!("team");
    wrong.as_object_mut().unwrap().remove("key_id");
    let refused = add(wrong).await;
    let problem = refused.problem(422);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["team_id", "key_id", "client_secret"], "{problem}");
    assert!(!refused.text.contains("not a key"));
    let mut google = apple.provider();
    google["kind"] = json!("google");
    google["slug"] = json!("google");
    let problem = add(google).await.problem(422);
    assert!(
        problem.to_string().contains("only for kind apple"),
        "{problem}"
    );
    // Pasted into a password field, the key loses its line breaks: still the key.
    let mut flat = apple.provider();
    flat["client_secret"] = json!(apple.private_key_pem.replace('\n', ""));
    let added = add(flat).await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert!(!added.text.contains("PRIVATE KEY"));
    let listed = app
        .get("/api/v1/admin/identity-providers")
        .bearer(&admin.access_token)
        .send()
        .await;
    assert!(!listed.text.contains("PRIVATE KEY") && !listed.text.contains(KEY_ID));
    let sealed = scalar(
        &app,
        "SELECT COUNT(*) FROM identity_providers WHERE client_secret_sealed IS NOT NULL",
    )
    .await;
    assert_eq!(sealed, 1);
    // A new key by PATCH needs the ids that name it.
    let id = added.json()["id"].as_str().unwrap().to_owned();
    let patched = app
        .patch(&format!("/api/v1/admin/identity-providers/{id}"))
        .bearer(&admin.access_token)
        .json(json!({"client_secret": apple.private_key_pem}))
        .send()
        .await;
    let problem = patched.problem(422);
    assert!(problem.to_string().contains("key_id"), "{problem}");
    // The flat key signs what Apple takes.
    let mut browser = Browser::new(&app);
    let signed_in = apple.sign_in(&mut browser, "grace@example.com", None).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    assert_eq!(apple.exchanges(), 1);
}

async fn a_form_post_is_only_taken_from_apple_and_still_bound_to_the_browser(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let apple = with_apple(&app, &admin).await;
    let fake = super::with_fake(&app, &admin, "verified").await;
    let mut browser = Browser::new(&app);
    let posted = browser
        .post("/login/fake/callback", &[("code", "x"), ("state", "y")])
        .await;
    assert_refused(&browser, &posted, 404, "no such way to sign in");
    drop(fake);
    // A code and state posted to another browser (login CSRF) do not sign it in.
    let mut victim = Browser::new(&app);
    let mut attacker = Browser::new(&app);
    let (posted, _) = apple
        .form_post(&mut attacker, "mallory@example.com", None)
        .await;
    let location = posted.header("location").unwrap().to_owned();
    let refused = victim.get(&callback_path(&location)).await;
    assert_refused(&victim, &refused, 400, "started in another browser");
    assert_eq!(apple.exchanges(), 0);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM users WHERE email = 'mallory@example.com'"
        )
        .await,
        0
    );
}
