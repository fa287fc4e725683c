//! A deliberately misbehaving OpenID provider: a small axum server on a loopback port
//! with its own Ed25519 key (one key, no `kid`), serving discovery, its JWKS and a token
//! endpoint that answers whatever ID token a test asked for. The token endpoint still
//! checks what Roster must send: the client's credentials (HTTP Basic), the PKCE
//! verifier against the challenge of the authorization request, and single-use codes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::TestResponse;
use crate::oidc::Browser;

pub const CLIENT_ID: &str = "roster-client";
pub const CLIENT_SECRET: &str = "roster-client-secret";

/// How the ID token of a code is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// With the provider's published key.
    Published,
    /// With another key (a forged signature).
    Forged,
    /// `alg: none`, no signature.
    Unsigned,
}

struct Grant {
    claims: Value,
    challenge: String,
    signing: Signing,
}

#[derive(Default)]
struct Codes(HashMap<String, Grant>);

#[derive(Clone)]
struct Shared {
    issuer: String,
    key: Arc<SigningKey>,
    forger: Arc<SigningKey>,
    codes: Arc<Mutex<Codes>>,
}

pub struct FakeProvider {
    pub issuer: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn new_key() -> SigningKey {
    SigningKey::from_bytes(&rand::random::<[u8; 32]>())
}

impl FakeProvider {
    pub async fn start() -> FakeProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let shared = Shared {
            issuer: issuer.clone(),
            key: Arc::new(new_key()),
            forger: Arc::new(new_key()),
            codes: Arc::default(),
        };
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("the fake provider serves");
        });
        FakeProvider {
            issuer,
            shared,
            server,
        }
    }

    /// Claims a well-behaved provider would sign for `subject` in answer to the
    /// authorization request at `authorize_url`.
    pub fn claims(&self, authorize_url: &str, subject: &str, email: &str) -> Value {
        let request = super::query_of(authorize_url);
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer,
            "sub": subject,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": request["nonce"],
            "email": email,
            "email_verified": true,
            "preferred_username": subject,
        })
    }

    /// Makes `code` redeemable once for an ID token of `claims`, signed as `signing`,
    /// for the PKCE challenge of the authorization request at `authorize_url`; answers
    /// the callback URL the provider would send the browser to.
    pub fn issue(&self, authorize_url: &str, claims: Value, signing: Signing) -> String {
        let request = super::query_of(authorize_url);
        assert_eq!(request["client_id"], CLIENT_ID);
        assert_eq!(request["response_type"], "code");
        assert_eq!(request["code_challenge_method"], "S256");
        assert!(request["scope"].split(' ').any(|s| s == "openid"));
        let code = format!("code-{}", uuid::Uuid::new_v4().simple());
        self.shared.codes.lock().unwrap().0.insert(
            code.clone(),
            Grant {
                claims,
                challenge: request["code_challenge"].clone(),
                signing,
            },
        );
        let mut back = url::Url::parse(&request["redirect_uri"]).expect("a redirect URI");
        back.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &request["state"]);
        back.to_string()
    }

    /// Leaves `browser` for this provider (the slug `slug` at Roster) and comes back as
    /// `subject` with `email`, the claims changed by `tweak`, signed as `signing`: the
    /// callback's answer.
    pub async fn return_as(
        &self,
        browser: &mut Browser<'_>,
        slug: &str,
        subject: &str,
        email: &str,
        tweak: impl FnOnce(&mut Value),
        signing: Signing,
    ) -> TestResponse {
        let authorize = super::depart(browser, slug, None).await;
        let mut claims = self.claims(&authorize, subject, email);
        tweak(&mut claims);
        let back = self.issue(&authorize, claims, signing);
        browser.get(&super::callback_path(&back)).await
    }

    /// [`Self::return_as`] with the claims of a well-behaved provider.
    pub async fn sign_in(
        &self,
        browser: &mut Browser<'_>,
        slug: &str,
        subject: &str,
        email: &str,
    ) -> TestResponse {
        self.return_as(browser, slug, subject, email, |_| {}, Signing::Published)
            .await
    }

    /// Whether every code issued was redeemed.
    pub fn all_redeemed(&self) -> bool {
        self.shared.codes.lock().unwrap().0.is_empty()
    }
}

async fn discovery(State(shared): State<Shared>) -> Json<Value> {
    let base = &shared.issuer;
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
    }))
}

async fn jwks(State(shared): State<Shared>) -> Json<Value> {
    let x = URL_SAFE_NO_PAD.encode(shared.key.verifying_key().as_bytes());
    Json(json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "use": "sig", "x": x}]}))
}

fn sign(key: &SigningKey, claims: &Value, signing: Signing) -> String {
    let alg = if signing == Signing::Unsigned {
        "none"
    } else {
        "EdDSA"
    };
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{payload}");
    match signing {
        Signing::Unsigned => format!("{input}."),
        _ => {
            let signature = key.sign(input.as_bytes());
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
        }
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}

async fn token(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let Some(grant) = form
        .get("code")
        .and_then(|code| shared.codes.lock().unwrap().0.remove(code))
    else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let key = match grant.signing {
        Signing::Forged => &shared.forger,
        _ => &shared.key,
    };
    Json(json!({
        "access_token": "upstream-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": sign(key, &grant.claims, grant.signing),
    }))
    .into_response()
}
