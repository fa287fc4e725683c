//! The public pages and the mails in German: what a German-speaking browser sees on the
//! sign-in, second-factor, consent, reset and message pages (the words the code puts on
//! them too, such as the password rules), and what an account with `locale` `de` gets
//! in its mails.

use serde_json::json;

use crate::helpers::{Backend, TestApp, TestResponse};
use crate::mail::link_pages::{form_credentials, post_form};
use crate::mail::smtp_sink::{Mode, SmtpSink};
use crate::mail::support::{email_of, mail_app, request_reset};
use crate::on_both_engines;

on_both_engines!(
    a_german_browser_gets_german_pages_with_german_messages,
    an_account_with_locale_de_gets_german_mails,
);

/// `GET path` as a browser that prefers German.
async fn german(app: &TestApp, path: &str) -> TestResponse {
    app.get(path)
        .header("accept-language", "de-DE,de;q=0.9,en;q=0.5")
        .send()
        .await
}

#[track_caller]
fn assert_german(page: &TestResponse, words: &[&str]) {
    assert!(page.text.contains("<html lang=\"de\">"), "{}", page.text);
    for word in words {
        assert!(page.text.contains(word), "{word:?} in {}", page.text);
    }
}

async fn a_german_browser_gets_german_pages_with_german_messages(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;

    // A page that only says something, with the words the code chose.
    let dead = german(&app, "/verify-email?token=nope").await;
    assert_eq!(dead.status, 400);
    assert_german(
        &dead,
        &[
            "<title>E-Mail-Adresse bestätigen · Roster</title>",
            "Dieser Link ist ungültig, wurde bereits verwendet oder ist abgelaufen.",
        ],
    );

    // The sign-in page's refusal, in German.
    let page = german(&app, "/login").await;
    let (csrf, cookie) = form_credentials(&page);
    let refused = post_form(
        &app,
        "/login",
        Some(&cookie),
        &[
            ("csrf_token", &csrf),
            ("return_to", ""),
            ("login", "nobody"),
            ("password", "wrong-Password-1"),
        ],
    )
    .header("accept-language", "de")
    .send()
    .await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    assert_german(
        &refused,
        &["Benutzername, E-Mail-Adresse oder Passwort sind nicht richtig."],
    );

    // The reset form, its rules and the password policy's words.
    let session = app.user().await;
    let email = email_of(&session);
    request_reset(&app, &email).await;
    let token = sink.wait_for(&email, "Reset your Roster password", 1).await[0].token();
    let form = german(&app, &format!("/reset-password?token={token}")).await;
    assert_eq!(form.status, 200);
    assert_german(
        &form,
        &[
            "<title>Neues Passwort wählen · Roster</title>",
            &format!(
                "Wählen Sie ein neues Passwort für <strong>{}</strong>.",
                session.username
            ),
            ">Neues Passwort</label>",
            "Neues Passwort festlegen</button>",
        ],
    );
    let (csrf, cookie) = form_credentials(&form);
    let weak = post_form(
        &app,
        "/reset-password",
        Some(&cookie),
        &[
            ("token", &token),
            ("csrf_token", &csrf),
            ("new_password", "kurz"),
            ("confirm_password", "kurz"),
        ],
    )
    .header("accept-language", "de")
    .send()
    .await;
    assert_eq!(weak.status, 422, "{}", weak.text);
    assert_german(
        &weak,
        &[
            "Das Passwort wurde nicht geändert:",
            "Das Passwort muss mindestens 8 Zeichen lang sein.",
            "Das Passwort muss einen Großbuchstaben enthalten.",
        ],
    );

    // Too many attempts: the rate limit's page speaks German too.
    let limited = TestApp::builder(backend)
        .env("RATE_LIMIT_AUTH_PER_MINUTE", "1")
        .start()
        .await;
    let mut last = None;
    for _ in 0..3 {
        let page = german(&limited, "/login").await;
        let (csrf, cookie) = form_credentials(&page);
        let answer = post_form(
            &limited,
            "/login",
            Some(&cookie),
            &[
                ("csrf_token", &csrf),
                ("return_to", ""),
                ("login", "x"),
                ("password", "y"),
            ],
        )
        .header("accept-language", "de")
        .header("accept", "text/html")
        .send()
        .await;
        last = Some(answer);
    }
    let limited_page = last.unwrap();
    assert_eq!(limited_page.status, 429, "{}", limited_page.text);
    assert_german(
        &limited_page,
        &["<title>Zu viele Versuche · Roster</title>"],
    );
}

async fn an_account_with_locale_de_gets_german_mails(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let response = app
        .patch("/api/v1/users/me")
        .bearer(&session.access_token)
        .json(json!({"locale": "de"}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let email = email_of(&session);
    request_reset(&app, &email).await;
    let mail = loop {
        let mails: Vec<_> = sink
            .mails()
            .into_iter()
            .filter(|m| m.is_to(&email) && m.text().contains("zurückzusetzen"))
            .collect();
        if let Some(mail) = mails.into_iter().next() {
            break mail;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let text = mail.text();
    assert!(
        text.starts_with(&format!("Hallo {},", session.username)),
        "{text}"
    );
    assert!(text.contains("innerhalb von 30 Minuten"), "{text}");
    assert!(
        mail.html().contains("<html lang=\"de\">"),
        "{}",
        mail.html()
    );
    assert!(
        mail.html().contains(">Mein Passwort zurücksetzen</a>"),
        "{}",
        mail.html()
    );

    // Every mail's subject and words, through the application's composer.
    let id = uuid::Uuid::parse_str(&session.user_id).unwrap();
    let user = roster::accounts::model::find_user(&app.state.db, id)
        .await
        .unwrap()
        .unwrap();
    let composer = app.state.mail.composer();
    use roster::mail::templates::{PasswordChange, ValidFor};
    let now = chrono::Utc::now();
    for (mail, subject, words) in [
        (
            composer
                .password_reset(&user, "t", ValidFor::Minutes(30))
                .unwrap(),
            "Setzen Sie Ihr Roster-Passwort zurück",
            "innerhalb von 30 Minuten",
        ),
        (
            composer
                .email_verification(&user, "t", ValidFor::Hours(48))
                .unwrap(),
            "Bestätigen Sie Ihre E-Mail-Adresse",
            "innerhalb von 48 Stunden",
        ),
        (
            composer
                .password_changed(&user, PasswordChange::Reset, now)
                .unwrap(),
            "Ihr Roster-Passwort wurde geändert",
            "zurückgesetzt",
        ),
        (
            composer.invitation(&user, "t", ValidFor::Days(7)).unwrap(),
            "Sie wurden zu Roster eingeladen",
            "innerhalb von 7 Tagen",
        ),
        (
            composer
                .identity_change(&user, true, "GitHub", None, now)
                .unwrap(),
            "Ein Konto wurde mit Ihrem Roster-Konto verknüpft",
            "Ihr GitHub-Konto wurde am",
        ),
        (
            composer
                .email_change_notice(&user, "neu@example.com", "t", ValidFor::Days(7), now)
                .unwrap(),
            "Die E-Mail-Adresse Ihres Roster-Kontos wird geändert",
            "neu@example.com",
        ),
    ] {
        assert_eq!(mail.subject, subject);
        assert!(mail.text.contains(words), "{words:?} in {}", mail.text);
        assert!(mail.html.contains(words), "{words:?} in {}", mail.html);
        assert!(!mail.text.contains("Hello"), "{}", mail.text);
    }
    // Without a locale, mails are English whatever the browser said.
    let english = roster::accounts::model::User {
        locale: None,
        ..user
    };
    let mail = composer
        .password_reset(&english, "t", ValidFor::Minutes(30))
        .unwrap();
    assert_eq!(mail.subject, "Reset your Roster password");
    assert!(mail.text.contains("within 30 minutes"), "{}", mail.text);
}
