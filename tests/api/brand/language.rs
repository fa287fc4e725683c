//! The language of pages and mails: the account's `locale` (set on `/me`, shown in the
//! admin's answers, refused when not supported), else the browser's `Accept-Language`,
//! else English; mails in the account's language, else English.

use serde_json::json;

use crate::console::signed_in;
use crate::helpers::{Backend, TestApp, TestResponse};
use crate::on_both_engines;

on_both_engines!(
    accept_language_chooses_the_language_of_the_sign_in_page,
    the_accounts_locale_beats_accept_language,
    the_locale_is_a_field_of_the_account_checked_against_the_supported_languages,
);

/// The sign-in page as a browser speaking `accept_language` sees it.
async fn sign_in_page(app: &TestApp, accept_language: Option<&str>) -> TestResponse {
    let mut request = app.get("/login");
    if let Some(languages) = accept_language {
        request = request.header("accept-language", languages);
    }
    let page = request.send().await;
    assert_eq!(page.status, 200, "{}", page.text);
    page
}

async fn accept_language_chooses_the_language_of_the_sign_in_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    for accept_language in [
        Some("de"),
        Some("de-AT,de;q=0.9,en;q=0.5"),
        Some("fr-FR, de;q=0.7, en;q=0.3"),
    ] {
        let page = sign_in_page(&app, accept_language).await;
        assert!(
            page.text.starts_with("<!DOCTYPE html>\n<html lang=\"de\">"),
            "{accept_language:?}: {}",
            page.text
        );
        assert!(
            page.text.contains("<title>Anmelden · Roster</title>"),
            "{}",
            page.text
        );
        assert!(page.text.contains("Passwort vergessen?"));
        assert!(
            page.text
                .contains(">Benutzername oder E-Mail-Adresse</label>")
        );
        assert_eq!(page.header("vary"), Some("accept-language"));
    }
    for accept_language in [None, Some("en-GB,de;q=0.5"), Some("fr"), Some("de;q=0, en")] {
        let page = sign_in_page(&app, accept_language).await;
        assert!(
            page.text.contains("<html lang=\"en\">"),
            "{accept_language:?}"
        );
        assert!(page.text.contains("<title>Sign in · Roster</title>"));
    }
    let discovery = app
        .get("/.well-known/openid-configuration")
        .send()
        .await
        .json();
    assert_eq!(discovery["ui_locales_supported"], json!(["en", "de"]));
}

async fn the_accounts_locale_beats_accept_language(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let set = |locale: serde_json::Value| {
        app.patch("/api/v1/users/me")
            .bearer(&user.access_token)
            .json(json!({ "locale": locale }))
            .send()
    };
    assert_eq!(set(json!("de")).await.status, 200);
    let mut browser = signed_in(&app, &user).await;
    browser = browser.speaking("en-US,en;q=0.9");
    let page = browser.get("/account").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("<html lang=\"de\">"), "{}", page.text);

    // Cleared, the browser's language applies again.
    assert_eq!(set(json!(null)).await.status, 200);
    let page = browser.get("/account").await;
    assert!(page.text.contains("<html lang=\"en\">"), "{}", page.text);
    let mut browser = browser.speaking("de");
    let page = browser.get("/account").await;
    assert!(page.text.contains("<html lang=\"de\">"), "{}", page.text);
}

async fn the_locale_is_a_field_of_the_account_checked_against_the_supported_languages(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let me = app
        .get("/api/v1/users/me")
        .bearer(&user.access_token)
        .send()
        .await;
    assert_eq!(me.json()["locale"], json!(null));

    for bad in [
        json!("fr"),
        json!("DE"),
        json!("de-DE"),
        json!(""),
        json!(7),
    ] {
        let response = app
            .patch("/api/v1/users/me")
            .bearer(&user.access_token)
            .json(json!({ "locale": bad }))
            .send()
            .await;
        assert_eq!(response.fields(422), ["locale"], "{bad}: {}", response.text);
    }
    let response = app
        .patch("/api/v1/users/me")
        .bearer(&user.access_token)
        .json(json!({"locale": "de"}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.json()["locale"], "de");
    let me = app
        .get("/api/v1/auth/me")
        .bearer(&user.access_token)
        .send()
        .await;
    assert_eq!(me.json()["locale"], "de");
    let seen = app
        .get(&format!("/api/v1/users/{}", user.user_id))
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert_eq!(seen.json()["locale"], "de");

    let openapi = app.get("/openapi.json").send().await.json();
    let schemas = &openapi["components"]["schemas"];
    assert!(
        schemas["User"]["properties"]["locale"].is_object(),
        "{}",
        schemas["User"]
    );
    assert!(schemas["AccountUpdate"]["properties"]["locale"].is_object());
}
