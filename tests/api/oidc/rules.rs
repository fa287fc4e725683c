//! The security rules of the provider, each with a test that fails without it:
//! single-use codes (a replay revokes what the first use issued), exact redirect URIs
//! (a wrong one gets an error page, never a redirect), PKCE for public clients, CSRF
//! on every form, no open redirect on logout.

use serde_json::json;

use super::{
    Browser, REDIRECT_URI, VERIFIER, authorize_path, challenge, confidential_client, hidden,
    introspect, location_query, redeem, register_client,
};
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(
    a_code_used_twice_revokes_the_tokens_of_the_first_use,
    a_code_is_bound_to_its_verifier_and_expires_after_a_minute,
    a_wrong_redirect_uri_or_client_gets_an_error_page_not_a_redirect,
    public_clients_must_use_pkce,
    other_errors_redirect_with_error_and_state,
    forms_without_the_csrf_token_are_refused,
    logout_redirects_only_to_registered_uris,
    a_client_id_with_a_nul_byte_is_no_client,
);

/// PostgreSQL refuses NUL in text: such an id must be "no such client", not a failed
/// lookup (the fuzzer found the error page and the 503).
async fn a_client_id_with_a_nul_byte_is_no_client(backend: Backend) {
    let app = TestApp::new(backend).await;
    let page = app
        .get("/oauth2/authorize?response_type=code&client_id=a%00b&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback")
        .send()
        .await;
    assert_eq!(page.status, 400, "{}", page.text);
    assert!(
        page.text.contains("no application with this client_id"),
        "{}",
        page.text
    );
    assert!(page.header("location").is_none());
    // Nor in any other parameter, nor in the sign-in form.
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let path = authorize_path(
        client["client_id"].as_str().unwrap(),
        "openid",
        &[("login_hint", "a\0b")],
    );
    let refused = app.get(&path).send().await;
    assert_eq!(refused.status, 303, "{}", refused.text);
    let query = location_query(&refused);
    assert_eq!(query["error"], "invalid_request");
    assert_eq!(
        query["error_description"],
        "login_hint holds a control character"
    );
    let login = app
        .post("/login")
        .form(&[("csrf_token", "x"), ("login", "a\0b"), ("password", "p")])
        .send()
        .await;
    assert_eq!(login.status, 400, "{}", login.text);
    for path in ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"] {
        let response = app
            .post(path)
            .header("authorization", &super::basic("a\0b", "secret"))
            .form(&[("grant_type", "client_credentials"), ("token", "x")])
            .send()
            .await;
        assert_eq!(response.status, 401, "{path}: {}", response.text);
        assert_eq!(response.json()["error"], "invalid_client", "{path}");
    }
}

async fn a_code_used_twice_revokes_the_tokens_of_the_first_use(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let user = app.user().await;
    let mut browser = Browser::new(&app);
    let path = authorize_path(
        client["client_id"].as_str().unwrap(),
        "openid offline_access",
        &[],
    );
    let back = browser.authorize(&path, &user).await;
    let code = location_query(&back)["code"].clone();

    let first = redeem(&app, &client, &code, VERIFIER).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let tokens = first.json();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(introspect(&app, &client, access).await["active"], true);

    let replay = redeem(&app, &client, &code, VERIFIER).await;
    assert_eq!(replay.status, 400, "{}", replay.text);
    assert_eq!(replay.json()["error"], "invalid_grant");
    assert_eq!(
        introspect(&app, &client, access).await,
        json!({"active": false})
    );
    let refreshed = app
        .post("/oauth2/token")
        .header(
            "authorization",
            &super::basic(
                client["client_id"].as_str().unwrap(),
                client["client_secret"].as_str().unwrap(),
            ),
        )
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await;
    assert_eq!(refreshed.status, 400, "{}", refreshed.text);
}

async fn a_code_is_bound_to_its_verifier_and_expires_after_a_minute(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let other = confidential_client(&app, &admin, true).await;
    let user = app.user().await;
    let mut browser = Browser::new(&app);
    let path = authorize_path(client["client_id"].as_str().unwrap(), "openid", &[]);

    let code = location_query(&browser.authorize(&path, &user).await)["code"].clone();
    let wrong = redeem(
        &app,
        &client,
        &code,
        "another-verifier-another-verifier-another-verifier",
    )
    .await;
    assert_eq!(wrong.json()["error"], "invalid_grant", "{}", wrong.text);

    let code = location_query(&browser.authorize(&path, &user).await)["code"].clone();
    let stolen = redeem(&app, &other, &code, VERIFIER).await;
    assert_eq!(
        stolen.json()["error"],
        "invalid_grant",
        "another client's code"
    );

    let code = location_query(&browser.authorize(&path, &user).await)["code"].clone();
    app.clock.advance(chrono::Duration::seconds(61));
    let late = redeem(&app, &client, &code, VERIFIER).await;
    assert_eq!(late.json()["error"], "invalid_grant", "a code lives 60 s");

    let code = location_query(&browser.authorize(&path, &user).await)["code"].clone();
    let elsewhere = app
        .post("/oauth2/token")
        .header(
            "authorization",
            &super::basic(
                client["client_id"].as_str().unwrap(),
                client["client_secret"].as_str().unwrap(),
            ),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example/other"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await;
    assert_eq!(
        elsewhere.json()["error"],
        "invalid_grant",
        "bound to its redirect_uri"
    );
    let bad_secret = app
        .post("/oauth2/token")
        .header(
            "authorization",
            &super::basic(client["client_id"].as_str().unwrap(), "wrong"),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
        ])
        .send()
        .await;
    assert_eq!(bad_secret.status, 401);
    assert_eq!(bad_secret.json()["error"], "invalid_client");
    assert!(
        bad_secret
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Basic"))
    );
}

async fn a_wrong_redirect_uri_or_client_gets_an_error_page_not_a_redirect(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let client_id = client["client_id"].as_str().unwrap();
    let mut browser = Browser::new(&app);
    for path in [
        authorize_path(client_id, "openid", &[]).replace(
            &form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>(),
            "https%3A%2F%2Fevil.example%2Fcallback",
        ),
        // A prefix, a trailing slash, another case: exact matching only.
        authorize_path(client_id, "openid", &[]).replace("callback", "callback%2F"),
        authorize_path(client_id, "openid", &[]).replace("app.example", "APP.example"),
        authorize_path("no-such-client", "openid", &[]),
    ] {
        let response = browser.get(&path).await;
        assert_eq!(response.status, 400, "{path}: {}", response.text);
        assert!(response.header("location").is_none(), "{path}");
        assert!(
            response
                .header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
    }
}

async fn public_clients_must_use_pkce(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = register_client(
        &app,
        &admin,
        json!({"name": "Phone app", "type": "public", "redirect_uris": [REDIRECT_URI], "first_party": true}),
    )
    .await;
    assert!(
        client.get("client_secret").is_none(),
        "a public client has no secret"
    );
    let client_id = client["client_id"].as_str().unwrap();
    let user = app.user().await;
    let mut browser = Browser::new(&app);

    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid")
        .append_pair("state", "s1");
    let without = browser
        .get(&format!("/oauth2/authorize?{}", query.finish()))
        .await;
    assert_eq!(without.status, 303, "{}", without.text);
    let error = location_query(&without);
    assert_eq!(error["error"], "invalid_request");
    assert_eq!(error["state"], "s1");
    let plain = browser
        .get(&authorize_path(client_id, "openid", &[]).replace("S256", "plain"))
        .await;
    assert_eq!(location_query(&plain)["error"], "invalid_request");

    let back = browser
        .authorize(&authorize_path(client_id, "openid", &[]), &user)
        .await;
    let code = location_query(&back)["code"].clone();
    let no_verifier = app
        .post("/oauth2/token")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", client_id),
        ])
        .send()
        .await;
    assert_eq!(no_verifier.status, 400, "{}", no_verifier.text);
    let back = browser
        .authorize(&authorize_path(client_id, "openid", &[]), &user)
        .await;
    let code = location_query(&back)["code"].clone();
    let ok = app
        .post("/oauth2/token")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", client_id),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(challenge(VERIFIER).len(), 43);
}

async fn other_errors_redirect_with_error_and_state(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let client_id = client["client_id"].as_str().unwrap();
    let mut browser = Browser::new(&app);
    let cases = [
        (
            authorize_path(client_id, "openid", &[])
                .replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            // Only a scope the client is not registered for: nothing left to grant.
            authorize_path(client_id, "payments:write", &[]),
            "invalid_scope",
        ),
        (
            authorize_path(client_id, "openid", &[("prompt", "none")]),
            "login_required",
        ),
    ];
    for (path, expected) in cases {
        let response = browser.get(&path).await;
        assert_eq!(response.status, 303, "{path}: {}", response.text);
        assert!(
            response
                .header("location")
                .unwrap()
                .starts_with(REDIRECT_URI)
        );
        let query = location_query(&response);
        assert_eq!(query["error"], expected, "{path}");
        assert_eq!(query["state"], "st-123");
        assert!(query.contains_key("error_description"));
    }
}

async fn forms_without_the_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, false).await;
    let user = app.user().await;
    let mut browser = Browser::new(&app);
    let first = browser
        .get(&authorize_path(
            client["client_id"].as_str().unwrap(),
            "openid",
            &[],
        ))
        .await;
    let page = browser.follow(&first).await;
    let return_to = hidden(&page.text, "return_to").unwrap();
    for csrf in ["", "forged-token-forged-token-forged-token-x"] {
        let response = browser
            .post(
                "/login",
                &[
                    ("csrf_token", csrf),
                    ("return_to", &return_to),
                    ("login", &user.username),
                    ("password", &user.password),
                ],
            )
            .await;
        assert_eq!(response.status, 403, "{}", response.text);
        assert!(!browser.has_cookie("roster"), "not signed in");
    }
    // The consent form too.
    let signed_in = browser
        .submit_login(&page, &user.username, &user.password)
        .await;
    let consent = browser.follow_local(&signed_in).await;
    let mut fields = super::hidden_fields(&consent.text, "/consent");
    fields.retain(|(name, _)| name != "csrf_token");
    let mut pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    pairs.push(("decision", "allow"));
    let forged = browser.post("/consent", &pairs).await;
    assert_eq!(forged.status, 403, "{}", forged.text);
    assert!(forged.header("location").is_none());
}

async fn logout_redirects_only_to_registered_uris(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let client_id = client["client_id"].as_str().unwrap();
    let user = app.user().await;
    let mut browser = Browser::new(&app);
    let back = browser
        .authorize(&authorize_path(client_id, "openid", &[]), &user)
        .await;
    let tokens = redeem(&app, &client, &location_query(&back)["code"], VERIFIER)
        .await
        .json();
    let id_token = tokens["id_token"].as_str().unwrap();

    let open = browser
        .get(&format!(
            "/oauth2/logout?client_id={client_id}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F&id_token_hint={id_token}"
        ))
        .await;
    assert!(
        open.header("location")
            .is_none_or(|l| !l.contains("evil.example")),
        "{:?}",
        open.header("location")
    );
    assert_eq!(open.status, 400, "{}", open.text);

    // Without a hint naming this browser's session, a confirmation form comes first
    // (another site cannot sign the user out with a link).
    let page = browser.get("/oauth2/logout").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("action=\"/oauth2/logout\""));
    assert!(browser.has_cookie("roster"), "still signed in");
    // With the ID token as hint and a registered URI: signed out, back with the state.
    let out = browser
        .get(&format!(
            "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fsigned-out&state=bye"
        ))
        .await;
    assert_eq!(out.status, 303, "{}", out.text);
    assert_eq!(
        out.header("location"),
        Some("https://app.example/signed-out?state=bye")
    );
    assert!(!browser.has_cookie("roster"), "the browser session is gone");
    assert_eq!(
        introspect(&app, &client, tokens["access_token"].as_str().unwrap()).await["active"],
        false
    );
}
