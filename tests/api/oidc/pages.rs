//! The sign-in pages' hardening as the router shows it (the browser tests show the same
//! rules enforced by Chromium): the policy that lets a sign-in end at its client and
//! nowhere else, the referrer policy that keeps the browser's `Origin` on form posts, the
//! rate limit on the form posts, the passkey endpoint's CSRF check, and housekeeping.

use serde_json::json;

use super::{
    Browser, REDIRECT_URI, authorize_path, basic, confidential_client, hidden, register_client,
};
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(
    the_sign_in_page_lets_its_forms_lead_only_to_the_requesting_clients_origin,
    sign_in_posts_and_the_token_endpoint_spend_the_login_budget,
    passkey_options_need_the_pages_csrf_token_and_a_sign_in_in_progress,
    expired_codes_and_revoked_client_tokens_are_purged,
);

async fn the_sign_in_page_lets_its_forms_lead_only_to_the_requesting_clients_origin(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, false).await;
    let client_id = client["client_id"].as_str().unwrap();
    let mut browser = Browser::new(&app);
    let first = browser.get(&authorize_path(client_id, "openid", &[])).await;
    let page = browser.follow(&first).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(
        csp.contains("form-action 'self' https://app.example;"),
        "{csp}"
    );
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    // The shared WebAuthn helpers first: deferred scripts run in document order.
    assert!(page.text.contains(
        "<script src=\"/assets/webauthn.js\" defer></script><script src=\"/assets/passkey.js\" defer></script>"
    ));
    assert!(
        page.text
            .contains("id=\"passkey-form\" method=\"post\" action=\"/login\" hidden")
    );

    // A return_to naming an unregistered address admits no other origin.
    let forged = authorize_path(client_id, "openid", &[]).replace(
        &form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>(),
        "https%3A%2F%2Fevil.example%2Fcb",
    );
    let mut query = form_urlencoded::Serializer::new(String::from("/login?"));
    query.append_pair("return_to", &forged);
    let page = app.get(&query.finish()).send().await;
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("form-action 'self';"), "{csp}");
    assert!(!csp.contains("evil.example"), "{csp}");

    // The one script: this origin's, not sniffable as anything else.
    let script = app.get("/assets/passkey.js").send().await;
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(script.header("x-content-type-options"), Some("nosniff"));
    assert!(script.text.contains("navigator.credentials.get"));
    let helpers = app.get("/assets/webauthn.js").send().await;
    assert_eq!(helpers.status, 200);
    assert_eq!(
        helpers.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(helpers.text.contains("parseRequestOptionsFromJSON"));
}

async fn sign_in_posts_and_the_token_endpoint_spend_the_login_budget(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("RATE_LIMIT_AUTH_PER_MINUTE", "3")
        .start()
        .await;
    let ip = "198.51.100.7";
    // Showing the page is free.
    for _ in 0..5 {
        let page = app.get("/login").from_ip(ip).send().await;
        assert_eq!(page.status, 200);
    }
    let page = app.get("/login").from_ip(ip).send().await;
    let csrf = hidden(&page.text, "csrf_token").unwrap();
    let cookie = page
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    let post = || {
        app.post("/login")
            .header("cookie", &cookie)
            .form(&[
                ("csrf_token", &csrf),
                ("login", "nobody"),
                ("password", "Wrong-password-1"),
            ])
            .from_ip(ip)
    };
    for _ in 0..2 {
        assert_eq!(post().send().await.status, 401);
    }
    let token = app
        .post("/oauth2/token")
        .form(&[("grant_type", "client_credentials")])
        .from_ip(ip)
        .send()
        .await;
    assert_ne!(token.status, 429, "{}", token.text);
    let limited = post().send().await;
    let problem = limited.problem(429);
    assert_eq!(problem["type"], "urn:roster:problem:rate-limited");
    assert!(limited.header("retry-after").is_some());
    let token = app
        .post("/oauth2/token")
        .form(&[("grant_type", "client_credentials")])
        .from_ip(ip)
        .send()
        .await;
    assert_eq!(token.status, 429, "{}", token.text);
    // So do the console's public forms (sign-up, forgot password).
    for path in ["/account/signup", "/account/forgot-password"] {
        let page = app
            .post(path)
            .form(&[("csrf_token", "x")])
            .from_ip(ip)
            .send()
            .await;
        assert_eq!(page.status, 429, "{path}: {}", page.text);
    }
    // A browser's form navigation (it asks for HTML) gets a page instead, with the same
    // status and wait; the pages' scripts and API clients keep the problem+json above.
    for path in ["/login", "/account/signup"] {
        let page = app
            .post(path)
            .header("cookie", &cookie)
            .header(
                "accept",
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            )
            .form(&[("csrf_token", &csrf)])
            .from_ip(ip)
            .send()
            .await;
        assert_eq!(page.status, 429, "{path}: {}", page.text);
        assert_eq!(
            page.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        assert_eq!(page.header("retry-after"), limited.header("retry-after"));
        assert!(page.text.contains("Too many attempts"), "{}", page.text);
        assert!(page.header("content-security-policy").is_some());
    }
    // Another address has its own budget.
    let elsewhere = app.get("/login").from_ip("198.51.100.8").send().await;
    assert_eq!(elsewhere.status, 200);
}

async fn passkey_options_need_the_pages_csrf_token_and_a_sign_in_in_progress(backend: Backend) {
    let app = TestApp::new(backend).await;
    let page = app.get("/login").send().await;
    let csrf = hidden(&page.text, "csrf_token").unwrap();
    let cookie = page
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();

    let forged = app
        .post("/login/passkey-options")
        .header("cookie", &cookie)
        .form(&[("csrf_token", "forged"), ("purpose", "login")])
        .send()
        .await;
    assert_eq!(forged.problem(403)["status"], 403);
    let other_site = app
        .post("/login/passkey-options")
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", &csrf), ("purpose", "login")])
        .send()
        .await;
    assert_eq!(other_site.status, 403);

    let login = app
        .post("/login/passkey-options")
        .header("cookie", &cookie)
        .header("origin", "http://roster.test")
        .form(&[("csrf_token", &csrf), ("purpose", "login")])
        .send()
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    let options = login.json();
    assert!(options["challenge_id"].is_string());
    assert_eq!(options["publicKey"]["userVerification"], "required");
    assert_eq!(login.header("cache-control"), Some("no-store"));

    // The second factor's options need the challenge of a password step in progress.
    let no_sign_in = app
        .post("/login/passkey-options")
        .header("cookie", &cookie)
        .form(&[("csrf_token", &csrf), ("purpose", "second_factor")])
        .send()
        .await;
    assert_eq!(
        no_sign_in.problem(400)["type"],
        "urn:roster:problem:invalid-token"
    );
    let unknown = app
        .post("/login/passkey-options")
        .header("cookie", &cookie)
        .form(&[("csrf_token", &csrf), ("purpose", "anything")])
        .send()
        .await;
    assert_eq!(unknown.fields(422), ["purpose"]);
}

async fn expired_codes_and_revoked_client_tokens_are_purged(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let client_id = client["client_id"].as_str().unwrap();
    let user = app.user().await;
    let mut browser = Browser::new(&app);
    let back = browser
        .authorize(&authorize_path(client_id, "openid", &[]), &user)
        .await;
    assert_eq!(back.status, 303, "{}", back.text);
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_codes").await, 1);
    let service = register_client(
        &app,
        &admin,
        json!({"name": "Billing", "type": "confidential", "redirect_uris": [],
               "grant_types": ["client_credentials"], "scopes": ["orders:read"]}),
    )
    .await;
    let auth = basic(
        service["client_id"].as_str().unwrap(),
        service["client_secret"].as_str().unwrap(),
    );
    let issued = app
        .post("/oauth2/token")
        .header("authorization", &auth)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    assert_eq!(issued.status, 200, "{}", issued.text);
    let access = issued.json()["access_token"].as_str().unwrap().to_owned();
    let revoked = app
        .post("/oauth2/revoke")
        .header("authorization", &auth)
        .form(&[("token", &access)])
        .send()
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oauth_revoked_tokens").await,
        1
    );

    // Within its day after expiry a code is kept (a late second use still revokes).
    app.clock.advance(chrono::Duration::hours(2));
    roster::maintenance::purge(&app.state).await.unwrap();
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_codes").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oauth_revoked_tokens").await,
        0
    );

    app.clock.advance(chrono::Duration::days(1));
    roster::maintenance::purge(&app.state).await.unwrap();
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_codes").await, 0);
}
