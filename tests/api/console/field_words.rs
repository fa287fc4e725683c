//! A form refused for a bad value names the broken rule in the reader's language
//! (`FieldError::words`, `locales/*/fields.ftl`), while the JSON API keeps its English
//! `message` word for word.

use serde_json::{Value, json};

use crate::console::{signed_in, submit};
use crate::helpers::{Backend, TestApp, TestResponse};
use crate::oidc::Browser;
use crate::on_both_engines;

on_both_engines!(
    a_too_short_username_is_refused_in_german_on_the_profile_page,
    a_bad_redirect_uri_is_refused_in_german_on_the_client_form,
    a_private_webhook_target_is_refused_in_german_on_the_webhook_form,
    a_blank_badge_name_is_refused_in_german_without_english_words,
);

/// Posts the form `action` of the page at `path` with `fields`; the answer is a 422
/// page in German holding each of `german` and none of `english`.
async fn refused_in_german(
    browser: &mut Browser<'_>,
    (path, action): (&str, &str),
    fields: &[(&str, &str)],
    german: &[&str],
    english: &[&str],
) -> TestResponse {
    let page = browser.get(path).await;
    let refused = submit(browser, &page, action, fields).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused.text.contains("<html lang=\"de\">"),
        "{}",
        refused.text
    );
    for word in german {
        assert!(
            refused.text.contains(word),
            "no {word:?} in {}",
            refused.text
        );
    }
    for word in english {
        assert!(
            !refused.text.contains(word),
            "English {word:?} in {}",
            refused.text
        );
    }
    refused
}

/// The `message` of the API's error at `field` in the 422 problem `body`.
fn api_message(body: &Value, field: &str) -> String {
    let errors = body["errors"].as_array().expect("errors");
    let error = errors
        .iter()
        .find(|e| e["field"] == field)
        .unwrap_or_else(|| panic!("no error at {field} in {body}"));
    error["message"].as_str().unwrap().to_owned()
}

async fn a_too_short_username_is_refused_in_german_on_the_profile_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let me = app
        .get("/api/v1/auth/me")
        .bearer(&user.access_token)
        .send()
        .await
        .json();
    let email = me["email"].as_str().unwrap().to_owned();
    let fields = [
        ("username", "ab"),
        ("email", email.as_str()),
        ("full_name", "Zoë"),
        ("locale", "de"),
    ];

    let mut browser = signed_in(&app, &user).await.speaking("de-DE,de;q=0.9");
    refused_in_german(
        &mut browser,
        ("/account/profile", "/account/profile/account"),
        &fields,
        &["Muss 3 bis 32 Zeichen lang sein."],
        &["Must be 3 to 32 characters", "must be 3 to 32 characters"],
    )
    .await;

    // The same refusal in English to an English browser, and the API's words unchanged.
    let mut english = signed_in(&app, &user).await.speaking("en");
    let page = english.get("/account/profile").await;
    let refused = submit(&mut english, &page, "/account/profile/account", &fields).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused.text.contains("Must be 3 to 32 characters."),
        "{}",
        refused.text
    );
    let api = app
        .patch("/api/v1/users/me")
        .bearer(&user.access_token)
        .header("accept-language", "de")
        .json(json!({"username": "ab"}))
        .send()
        .await;
    assert_eq!(
        api_message(&api.problem(422), "username"),
        "must be 3 to 32 characters"
    );
}

async fn a_bad_redirect_uri_is_refused_in_german_on_the_client_form(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await.speaking("de-DE,de;q=0.9");
    refused_in_german(
        &mut browser,
        ("/admin/clients", "/admin/clients"),
        &[
            ("name", "Billing"),
            ("type", "confidential"),
            (
                "redirect_uris",
                "https://ok.example/cb\nnot-a-uri\nhttp://app.example/cb",
            ),
            ("grant_authorization_code", "on"),
            ("scopes", "openid"),
        ],
        &[
            "Muss eine absolute URL sein.",
            "Muss https verwenden (http nur auf 127.0.0.1, [::1] oder localhost).",
        ],
        &["be an absolute URL", "must use https", "Must use https"],
    )
    .await;

    let api = app
        .post("/api/v1/admin/clients")
        .bearer(&admin.access_token)
        .header("accept-language", "de")
        .json(json!({
            "name": "Billing",
            "type": "confidential",
            "redirect_uris": ["https://ok.example/cb", "not-a-uri"],
        }))
        .send()
        .await;
    assert_eq!(
        api_message(&api.problem(422), "redirect_uris[1]"),
        "must be an absolute URL"
    );
}

async fn a_private_webhook_target_is_refused_in_german_on_the_webhook_form(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await.speaking("de-DE,de;q=0.9");
    refused_in_german(
        &mut browser,
        ("/admin/webhooks", "/admin/webhooks"),
        &[
            ("url", "https://10.1.2.3/hooks"),
            ("events", "user.*"),
            ("description", "Intern"),
        ],
        &["Zeigt auf 10.1.2.3, keine öffentliche Adresse (WEBHOOK_ALLOW_HOSTS kann sie zulassen)."],
        &["which is not a public address", "points at"],
    )
    .await;
    refused_in_german(
        &mut browser,
        ("/admin/webhooks", "/admin/webhooks"),
        &[
            ("url", "https://hooks.example/in#top"),
            ("events", "user.*"),
        ],
        &["Darf kein Fragment (#…) haben."],
        &["must not have a fragment", "Must not have a fragment"],
    )
    .await;

    let api = app
        .post("/api/v1/admin/webhooks")
        .bearer(&admin.access_token)
        .header("accept-language", "de")
        .json(json!({"url": "https://10.1.2.3/hooks", "events": ["user.*"]}))
        .send()
        .await;
    assert_eq!(
        api_message(&api.problem(422), "url"),
        "points at 10.1.2.3, which is not a public address (WEBHOOK_ALLOW_HOSTS may admit it)"
    );
}

async fn a_blank_badge_name_is_refused_in_german_without_english_words(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await.speaking("de-DE,de;q=0.9");
    refused_in_german(
        &mut browser,
        ("/account/achievements", "/account/achievements/badges"),
        &[
            ("name", " "),
            ("icon_url", "ftp://example.com/a.png"),
            ("date_achieved", "2999-01-01"),
        ],
        &[
            "Muss 1 bis 100 Zeichen lang sein (nicht nur Leerzeichen).",
            "Muss eine absolute http- oder https-URL sein.",
            "Darf nicht in der Zukunft liegen.",
        ],
        &[
            "must be 1 to 100",
            "must be an absolute",
            "must not be in the future",
        ],
    )
    .await;
}
