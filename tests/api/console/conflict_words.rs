//! A form refused because it conflicts with what is stored (a taken username or address,
//! a provider's slug, a badge's name, the last administrator) says why in the reader's
//! language (`Why` of `ApiError::Conflict`, `locales/*/conflicts.ftl`), and so does a URL
//! the parser refuses (`url-problem-*`); the JSON API keeps its English `detail` and
//! `message` word for word.

use serde_json::{Value, json};

use crate::console::{signed_in, submit};
use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp, TestResponse};
use crate::oidc::Browser;
use crate::on_both_engines;

on_both_engines!(
    a_taken_username_and_address_are_refused_in_german_on_the_signup_page,
    a_registered_address_is_refused_in_german_on_the_profile_page,
    a_taken_provider_slug_is_refused_in_german_on_the_provider_form,
    a_taken_badge_name_is_refused_in_german_on_the_achievements_page,
    the_last_administrator_is_kept_in_german_on_the_account_page,
    a_url_the_parser_refuses_is_refused_in_german_on_the_webhook_form,
);

pub(super) const GERMAN: &str = "de-DE,de;q=0.9";

/// `page` is a German page answered with `status`, holding `german` and not `english`.
pub(super) fn in_german(page: &TestResponse, status: u16, german: &str, english: &str) {
    assert_eq!(page.status, status, "{}", page.text);
    assert!(page.text.contains("<html lang=\"de\">"), "{}", page.text);
    assert!(page.text.contains(german), "no {german:?} in {}", page.text);
    assert!(
        !page.text.contains(english),
        "English {english:?} in {}",
        page.text
    );
}

/// The API's 409 `answer` names `field` and says `detail`, in English, in its `detail`
/// and in the field's `message`, whatever language was asked for.
fn api_conflict(answer: &TestResponse, field: &str, detail: &str) {
    let body: Value = answer.problem(409);
    assert_eq!(body["detail"], detail, "{body}");
    assert_eq!(body["errors"], json!([{"field": field, "message": detail}]));
}

async fn a_taken_username_and_address_are_refused_in_german_on_the_signup_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let existing = app.user().await;
    let taken_email = format!("{}@example.com", existing.username);
    let mut browser = Browser::new(&app).speaking(GERMAN);
    let page = browser.get("/account/signup").await;
    let signup = |username, email| {
        [
            ("username", username),
            ("email", email),
            ("full_name", "Neu"),
            ("password", DEFAULT_PASSWORD),
            ("confirm_password", DEFAULT_PASSWORD),
        ]
    };

    let form = signup(existing.username.as_str(), "neu@example.com");
    let taken = submit(&mut browser, &page, "/account/signup", &form).await;
    in_german(
        &taken,
        409,
        "Dieser Benutzername ist bereits vergeben.",
        "already taken",
    );
    let form = signup("new_member", taken_email.as_str());
    let registered = submit(&mut browser, &page, "/account/signup", &form).await;
    in_german(
        &registered,
        409,
        "Diese E-Mail-Adresse ist bereits registriert.",
        "already registered",
    );

    let register = |body: Value| {
        app.post("/api/v1/auth/register")
            .header("accept-language", "de")
            .json(body)
    };
    let api = register(
        json!({"username": existing.username, "email": "neu@example.com",
                             "password": DEFAULT_PASSWORD}),
    )
    .send()
    .await;
    api_conflict(&api, "username", "this username is already taken");
    let api = register(json!({"username": "new_member", "email": taken_email,
                             "password": DEFAULT_PASSWORD}))
    .send()
    .await;
    api_conflict(&api, "email", "this email is already registered");
}

async fn a_registered_address_is_refused_in_german_on_the_profile_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let other = app.user().await;
    let taken_email = format!("{}@example.com", other.username);
    let mut browser = signed_in(&app, &user).await.speaking(GERMAN);
    let page = browser.get("/account/profile").await;
    let refused = submit(
        &mut browser,
        &page,
        "/account/profile/account",
        &[
            ("username", user.username.as_str()),
            ("full_name", "Test User"),
            ("email", taken_email.as_str()),
            ("current_password", user.password.as_str()),
        ],
    )
    .await;
    in_german(
        &refused,
        409,
        "Diese E-Mail-Adresse ist bereits registriert.",
        "already registered",
    );
    assert!(
        refused.text.contains("id=\"email-error\""),
        "{}",
        refused.text
    );
}

async fn a_taken_provider_slug_is_refused_in_german_on_the_provider_form(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let github = json!({"slug": "github", "kind": "github", "display_name": "GitHub",
                        "client_id": "a", "client_secret": "b"});
    let add = || {
        app.post("/api/v1/admin/identity-providers")
            .bearer(&admin.access_token)
            .header("accept-language", "de")
            .json(github.clone())
    };
    let added = add().send().await;
    assert_eq!(added.status, 201, "{}", added.text);

    let mut browser = signed_in(&app, &admin).await.speaking(GERMAN);
    let page = browser.get("/admin/providers").await;
    let refused = submit(
        &mut browser,
        &page,
        "/admin/providers",
        &[
            ("slug", "github"),
            ("kind", "github"),
            ("display_name", "GitHub"),
            ("client_id", "a"),
            ("client_secret", "b"),
            ("trust_email", "verified"),
        ],
    )
    .await;
    in_german(
        &refused,
        422,
        "Es gibt bereits einen Anmeldeanbieter mit diesem Kurznamen.",
        "slug exists already",
    );
    assert!(
        refused.text.contains("id=\"slug-error\""),
        "{}",
        refused.text
    );

    let again = add().send().await;
    api_conflict(&again, "slug", "a provider with this slug exists already");
}

async fn a_taken_badge_name_is_refused_in_german_on_the_achievements_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let award = || {
        app.post(&format!("/api/v1/users/{}/badges", user.user_id))
            .bearer(&user.access_token)
            .header("accept-language", "de")
            .json(json!({"name": "Week of Rust", "date_achieved": "2026-01-02T00:00:00Z"}))
    };
    let awarded = award().send().await;
    assert_eq!(awarded.status, 201, "{}", awarded.text);

    let mut browser = signed_in(&app, &user).await.speaking(GERMAN);
    let page = browser.get("/account/achievements").await;
    let twice = submit(
        &mut browser,
        &page,
        "/account/achievements/badges",
        &[("name", "week of rust")],
    )
    .await;
    in_german(
        &twice,
        409,
        "Dieses Konto hat bereits ein Abzeichen mit diesem Namen.",
        "already has a badge",
    );

    let again = award().send().await;
    api_conflict(
        &again,
        "name",
        "this user already has a badge with this name",
    );
}

async fn the_last_administrator_is_kept_in_german_on_the_account_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await.speaking(GERMAN);
    let path = format!("/admin/users/{}", admin.user_id);
    let page = browser.get(&path).await;
    let refused = submit(
        &mut browser,
        &page,
        &path,
        &[
            ("role", "user"),
            ("tier", "basic"),
            ("is_active", "true"),
            ("email_verified", "true"),
        ],
    )
    .await;
    in_german(
        &refused,
        409,
        "Nichts wurde geändert. Dies ist der letzte aktive Administrator: Machen Sie zuerst ein anderes Konto zum Administrator.",
        "last active administrator",
    );

    let api = app
        .delete("/api/v1/users/me")
        .bearer(&admin.access_token)
        .header("accept-language", "de")
        .json(json!({"password": DEFAULT_PASSWORD}))
        .send()
        .await;
    let body = api.problem(409);
    assert_eq!(
        body["detail"],
        "this is the last active administrator: make another account an administrator first"
    );
    assert!(body.get("errors").is_none(), "{body}");
}

async fn a_url_the_parser_refuses_is_refused_in_german_on_the_webhook_form(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await.speaking(GERMAN);
    let page = browser.get("/admin/webhooks").await;
    let refused = submit(
        &mut browser,
        &page,
        "/admin/webhooks",
        &[
            ("url", "https://hooks.example:99999/in"),
            ("events", "user.*"),
        ],
    )
    .await;
    in_german(
        &refused,
        422,
        "Ist keine URL (ungültige Portnummer).",
        "invalid port number",
    );

    let api = app
        .post("/api/v1/admin/webhooks")
        .bearer(&admin.access_token)
        .header("accept-language", "de")
        .json(json!({"url": "https://hooks.example:99999/in", "events": ["user.*"]}))
        .send()
        .await;
    let body = api.problem(422);
    assert_eq!(
        body["errors"],
        json!([{"field": "url", "message": "is not a URL (invalid port number)"}])
    );
}
