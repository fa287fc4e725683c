//! The authorization code flow as a relying party meets it: sign in through the pages
//! (with and without a second factor), consent, code + PKCE, ID token, userinfo,
//! refresh, introspection, revocation, and the grants the user sees and withdraws.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::{
    Browser, VERIFIER, authorize_path, confidential_client, introspect, location_query, redeem,
    sign_in_through,
};
use crate::helpers::{Backend, TestApp, claims};
use crate::mfa::{enrol_totp, fresh_code};
use crate::on_both_engines;

on_both_engines!(
    a_user_signs_in_consents_and_the_client_gets_verifiable_tokens,
    the_second_factor_step_asks_for_the_code,
    refresh_rotates_and_needs_the_same_client,
    revocation_and_introspection_follow_rfc_7009_and_7662,
    a_withdrawn_grant_kills_its_tokens_and_asks_for_consent_again,
    first_party_clients_skip_consent,
    discovery_names_the_endpoints_and_the_jwks_holds_rsa_keys,
);

/// Checks an ID token against the published keys; its claims.
async fn verified_id_token(app: &TestApp, id_token: &str, client_id: &str) -> Value {
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256, "RS256 by default");
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_str(&app.get("/oauth2/jwks").send().await.text).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().expect("a kid"))
        .expect("the kid is published");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&["http://roster.test"]);
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(id_token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .expect("a valid ID token")
        .claims
}

async fn a_user_signs_in_consents_and_the_client_gets_verifiable_tokens(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, false).await;
    let client_id = client["client_id"].as_str().unwrap();
    let user = app.user().await;

    let mut browser = Browser::new(&app);
    let path = authorize_path(client_id, "openid profile email offline_access", &[]);
    let first = browser.get(&path).await;
    assert_eq!(first.status, 303, "{}", first.text);
    let to_login = first.header("location").unwrap();
    assert!(to_login.starts_with("/login?return_to="), "{to_login}");
    let page = browser.follow(&first).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(
        csp.contains("default-src 'none'") || csp.contains("default-src 'self'"),
        "{csp}"
    );
    assert!(
        page.text.contains("<label for=\"login\""),
        "labelled fields"
    );

    let wrong = browser
        .submit_login(&page, &user.username, "not the password")
        .await;
    assert_eq!(wrong.status, 401);
    assert!(!browser.has_cookie("roster"));

    let signed_in = browser
        .submit_login(&page, &user.username, &user.password)
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    let cookie = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("roster="))
        .expect("the browser session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }

    let consent = browser.follow_local(&signed_in).await;
    assert_eq!(
        consent.status,
        200,
        "{:?} {}",
        consent.header("location"),
        consent.text
    );
    assert!(consent.text.contains("Study Spots"));
    assert!(consent.text.contains("email"), "the scopes are listed");
    let back = browser.submit_consent(&consent, "allow").await;
    assert_eq!(back.status, 303, "{}", back.text);
    let location = back.header("location").unwrap();
    assert!(
        location.starts_with("https://app.example/callback?"),
        "{location}"
    );
    let query = location_query(&back);
    assert_eq!(query["state"], "st-123");
    assert_eq!(query["iss"], "http://roster.test");

    let response = redeem(&app, &client, &query["code"], VERIFIER).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let tokens = response.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(
        tokens["refresh_token"].is_string(),
        "offline_access was granted"
    );
    let access = tokens["access_token"].as_str().unwrap();
    let id = verified_id_token(&app, tokens["id_token"].as_str().unwrap(), client_id).await;
    assert_eq!(id["sub"], user.user_id.as_str());
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["preferred_username"], user.username.as_str());
    assert!(id["auth_time"].is_i64() && id["at_hash"].is_string() && id["sid"].is_string());
    assert_eq!(id["amr"], json!(["pwd"]));

    let access_claims = claims(access);
    assert_eq!(access_claims["client_id"], client_id);
    let mut scopes: Vec<&str> = access_claims["scope"]
        .as_str()
        .unwrap()
        .split(' ')
        .collect();
    scopes.sort();
    assert_eq!(scopes, ["email", "offline_access", "openid", "profile"]);

    let info = app.get("/oauth2/userinfo").bearer(access).send().await;
    assert_eq!(info.status, 200, "{}", info.text);
    let info = info.json();
    assert_eq!(info["sub"], user.user_id.as_str());
    assert_eq!(info["preferred_username"], user.username.as_str());
    assert!(info["email"].is_string() && info["email_verified"].is_boolean());

    // A token issued to an application does not work on the account API.
    let me = app.get("/api/v1/users/me").bearer(access).send().await;
    assert_eq!(me.status, 401, "{}", me.text);

    // The browser sign-in is a Roster session like any other: listed.
    let sessions = app
        .get("/api/v1/auth/sessions")
        .bearer(&user.access_token)
        .send()
        .await
        .json();
    assert!(
        sessions.to_string().contains(client_id)
            || sessions.as_array().is_some_and(|s| s.len() >= 2)
            || sessions["items"].as_array().is_some_and(|s| s.len() >= 2),
        "{sessions}"
    );
}

async fn the_second_factor_step_asks_for_the_code(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let client_id = client["client_id"].as_str().unwrap();
    let user = app.user().await;
    let (secret, recovery) = enrol_totp(&app, &user).await;

    let mut browser = Browser::new(&app);
    let first = browser.get(&authorize_path(client_id, "openid", &[])).await;
    let page = browser.follow(&first).await;
    let step = browser
        .submit_login(&page, &user.username, &user.password)
        .await;
    assert_eq!(step.status, 200, "{:?} {}", step.headers, step.text);
    assert!(step.text.contains("name=\"code\""), "the TOTP field");
    assert!(
        !browser.has_cookie("roster"),
        "not signed in before the code"
    );
    let csrf = super::hidden(&step.text, "csrf_token").unwrap();
    let return_to = super::hidden(&step.text, "return_to").unwrap();

    let wrong = browser
        .post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("return_to", &return_to),
                ("code", "000000"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    let code = fresh_code(&app, &secret);
    let done = browser
        .post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("return_to", &return_to),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert!(browser.has_cookie("roster"));
    let back = browser.follow(&done).await;
    assert_eq!(back.status, 303, "first party: no consent");
    let query = location_query(&back);
    let tokens = redeem(&app, &client, &query["code"], VERIFIER).await.json();
    let id = verified_id_token(&app, tokens["id_token"].as_str().unwrap(), client_id).await;
    assert_eq!(id["amr"], json!(["pwd", "otp", "mfa"]));
    assert!(
        tokens.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );

    // A recovery code works in its own field.
    let mut other = Browser::new(&app);
    let first = other.get(&authorize_path(client_id, "openid", &[])).await;
    let page = other.follow(&first).await;
    let step = other
        .submit_login(&page, &user.username, &user.password)
        .await;
    let csrf = super::hidden(&step.text, "csrf_token").unwrap();
    let done = other
        .post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("return_to", &return_to),
                ("recovery_code", &recovery[0]),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.text);
}

async fn refresh_rotates_and_needs_the_same_client(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let other = confidential_client(&app, &admin, true).await;
    let user = app.user().await;
    let tokens = sign_in_through(&app, &client, &user, "openid offline_access").await;
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let basic = |c: &Value| {
        super::basic(
            c["client_id"].as_str().unwrap(),
            c["client_secret"].as_str().unwrap(),
        )
    };
    let rotated = app
        .post("/oauth2/token")
        .header("authorization", &basic(&client))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .send()
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let rotated = rotated.json();
    let next = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(next, refresh);
    let mut scopes: Vec<&str> = rotated["scope"].as_str().unwrap().split(' ').collect();
    scopes.sort();
    assert_eq!(scopes, ["offline_access", "openid"]);

    // Another client presenting it: refused, and the session it belongs to dies.
    let stolen = app
        .post("/oauth2/token")
        .header("authorization", &basic(&other))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", next)])
        .send()
        .await;
    assert_eq!(stolen.status, 400, "{}", stolen.text);
    assert_eq!(stolen.json()["error"], "invalid_grant");
    let after = app
        .post("/oauth2/token")
        .header("authorization", &basic(&client))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", next)])
        .send()
        .await;
    assert_eq!(after.status, 400, "{}", after.text);
    assert_eq!(after.json()["error"], "invalid_grant");
}

async fn revocation_and_introspection_follow_rfc_7009_and_7662(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let user = app.user().await;
    let tokens = sign_in_through(&app, &client, &user, "openid offline_access").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let active = introspect(&app, &client, access).await;
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["sub"], user.user_id.as_str());
    assert_eq!(active["client_id"], client["client_id"]);
    assert_eq!(
        introspect(&app, &client, "garbage").await,
        json!({"active": false})
    );

    // Introspection needs a confidential client's credentials.
    let anonymous = app
        .post("/oauth2/introspect")
        .form(&[("token", access)])
        .send()
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    assert_eq!(anonymous.json()["error"], "invalid_client");

    let revoked = app
        .post("/oauth2/revoke")
        .header(
            "authorization",
            &super::basic(
                client["client_id"].as_str().unwrap(),
                client["client_secret"].as_str().unwrap(),
            ),
        )
        .form(&[("token", refresh), ("token_type_hint", "refresh_token")])
        .send()
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    // Revoking the refresh token ends the grant's session: its access token too.
    assert_eq!(
        introspect(&app, &client, access).await,
        json!({"active": false})
    );
    assert_eq!(
        introspect(&app, &client, refresh).await,
        json!({"active": false})
    );
    let info = app.get("/oauth2/userinfo").bearer(access).send().await;
    assert_eq!(info.status, 401);
    assert!(
        info.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer"))
    );
    // An unknown token is not an error (RFC 7009 §2.2).
    let unknown = app
        .post("/oauth2/revoke")
        .header(
            "authorization",
            &super::basic(
                client["client_id"].as_str().unwrap(),
                client["client_secret"].as_str().unwrap(),
            ),
        )
        .form(&[("token", "never-issued")])
        .send()
        .await;
    assert_eq!(unknown.status, 200);
}

async fn a_withdrawn_grant_kills_its_tokens_and_asks_for_consent_again(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, false).await;
    let client_id = client["client_id"].as_str().unwrap();
    let user = app.user().await;
    let tokens = sign_in_through(&app, &client, &user, "openid email").await;
    let access = tokens["access_token"].as_str().unwrap();

    let grants = app
        .get("/api/v1/users/me/grants")
        .bearer(&user.access_token)
        .send()
        .await;
    assert_eq!(grants.status, 200, "{}", grants.text);
    let grants = grants.json();
    assert!(grants.to_string().contains(client_id), "{grants}");
    assert!(grants.to_string().contains("email"), "{grants}");

    let deleted = app
        .delete(&format!("/api/v1/users/me/grants/{client_id}"))
        .bearer(&user.access_token)
        .send()
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let refused = app.get("/oauth2/userinfo").bearer(access).send().await;
    assert_eq!(refused.status, 401);
    // The refusal keeps the RFC 6750 challenge and is not cached either.
    assert!(
        refused
            .header("www-authenticate")
            .is_some_and(|v| v.contains("invalid_token")),
        "{:?}",
        refused.header("www-authenticate")
    );
    assert_eq!(refused.header("cache-control"), Some("no-store"));
    let again = app
        .delete(&format!("/api/v1/users/me/grants/{client_id}"))
        .bearer(&user.access_token)
        .send()
        .await;
    assert_eq!(again.status, 404);

    // The next authorization asks for consent again.
    let mut browser = Browser::new(&app);
    let first = browser
        .get(&authorize_path(client_id, "openid email", &[]))
        .await;
    let page = browser.follow(&first).await;
    let signed_in = browser
        .submit_login(&page, &user.username, &user.password)
        .await;
    let consent = browser.follow_local(&signed_in).await;
    assert!(
        consent.text.contains("action=\"/consent\""),
        "{}",
        consent.text
    );
    let denied = browser.submit_consent(&consent, "deny").await;
    assert_eq!(denied.status, 303);
    let query = location_query(&denied);
    assert_eq!(query["error"], "access_denied");
    assert_eq!(query["state"], "st-123");
}

async fn first_party_clients_skip_consent(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let user = app.user().await;
    let mut browser = Browser::new(&app);
    let path = authorize_path(client["client_id"].as_str().unwrap(), "openid profile", &[]);
    let back = browser.authorize(&path, &user).await;
    assert_eq!(back.status, 303, "{}", back.text);
    assert!(location_query(&back).contains_key("code"));
    // Signed in now: the next request goes straight back, and prompt=none works.
    let silent = browser.get(&format!("{path}&prompt=none")).await;
    assert_eq!(silent.status, 303);
    assert!(location_query(&silent).contains_key("code"));
    // prompt=login asks again even with a session.
    let again = browser.get(&format!("{path}&prompt=login")).await;
    assert!(again.header("location").unwrap().starts_with("/login"));
}

async fn discovery_names_the_endpoints_and_the_jwks_holds_rsa_keys(backend: Backend) {
    let app = TestApp::new(backend).await;
    let document = app
        .get("/.well-known/openid-configuration")
        .send()
        .await
        .json();
    assert_eq!(document["issuer"], "http://roster.test");
    assert_eq!(
        document["authorization_endpoint"],
        "http://roster.test/oauth2/authorize"
    );
    assert_eq!(
        document["token_endpoint"],
        "http://roster.test/oauth2/token"
    );
    assert_eq!(document["jwks_uri"], "http://roster.test/oauth2/jwks");
    assert_eq!(document["response_types_supported"], json!(["code"]));
    assert_eq!(
        document["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert!(
        document["id_token_signing_alg_values_supported"]
            .to_string()
            .contains("RS256")
    );
    assert_eq!(
        app.get("/.well-known/oauth-authorization-server")
            .send()
            .await
            .json(),
        document
    );
    let jwks = app.get("/.well-known/jwks.json").send().await.json();
    let types: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kty"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"RSA") && types.contains(&"OKP"),
        "{types:?}"
    );
    assert_eq!(app.get("/oauth2/jwks").send().await.json(), jwks);
}
