//! Every account page speaks the account's language (`locale` "de"): its German words
//! are on it, and none of its English ones; and what the code says (refusals, notices)
//! is German too. The pages before signing in: [`super::before_sign_in`].

use serde_json::json;

use crate::console::{signed_in, submit};
use crate::helpers::{Backend, DEFAULT_PASSWORD, Session, TestApp, TestResponse};
use crate::oidc::{Browser, confidential_client, sign_in_through};
use crate::on_both_engines;

on_both_engines!(
    choosing_a_language_on_the_profile_turns_the_pages_to_it,
    the_overview_profile_and_delete_pages_speak_the_accounts_language,
    the_preferences_form_speaks_german_down_to_its_rules_and_mistakes,
    the_security_page_and_its_refusals_speak_german,
    the_sessions_applications_and_payment_pages_speak_german,
    badges_and_goals_speak_german_with_statuses_in_words,
);

/// A new user whose account speaks German, signed in on a browser that asks for English
/// (the account's language wins over the browser's).
async fn german_user(app: &TestApp) -> (Session, Browser<'_>) {
    let user = app.user().await;
    let set = app
        .put("/api/v1/users/me")
        .bearer(&user.access_token)
        .json(json!({"locale": "de"}))
        .send()
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let browser = signed_in(app, &user).await.speaking("en-US,en;q=0.9");
    (user, browser)
}

/// Asserts that `page` answered `status` in German: `<html lang="de">`, each of `german`
/// on it, none of `english`.
pub(super) fn assert_german(page: &TestResponse, status: u16, german: &[&str], english: &[&str]) {
    assert_eq!(page.status, status, "{}", page.text);
    assert!(page.text.contains("<html lang=\"de\">"), "{}", page.text);
    for word in german {
        assert!(page.text.contains(word), "no {word:?} in {}", page.text);
    }
    for word in english {
        assert!(
            !page.text.contains(word),
            "English {word:?} in {}",
            page.text
        );
    }
}

/// `path` on `browser`, asserted to be German as [`assert_german`] says, with 200.
pub(super) async fn german_page(
    browser: &mut Browser<'_>,
    path: &str,
    german: &[&str],
    english: &[&str],
) -> TestResponse {
    let page = browser.get(path).await;
    assert_german(&page, 200, german, english);
    page
}

/// Posts the profile's account form of `page` unchanged but for the language `locale`,
/// and follows the answer to the page that says it was saved.
async fn choose_language(
    app: &TestApp,
    user: &Session,
    browser: &mut Browser<'_>,
    page: &TestResponse,
    locale: &str,
) -> TestResponse {
    let me = app
        .get("/api/v1/auth/me")
        .bearer(&user.access_token)
        .send()
        .await
        .json();
    let fields = [
        ("username", user.username.as_str()),
        ("email", me["email"].as_str().unwrap()),
        ("full_name", me["full_name"].as_str().unwrap_or_default()),
        ("locale", locale),
    ];
    let saved = submit(browser, page, "/account/profile/account", &fields).await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    browser.follow(&saved).await
}

async fn choosing_a_language_on_the_profile_turns_the_pages_to_it(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await.speaking("en");
    let page = browser.get("/account/profile").await;
    assert!(page.text.contains("<html lang=\"en\">"));
    let german = choose_language(&app, &user, &mut browser, &page, "de").await;
    assert_german(
        &german,
        200,
        &[
            "Ihr Konto wurde gespeichert.",
            "<option value=\"de\" lang=\"de\" selected>",
        ],
        &["Your account was saved.", "Save account"],
    );
    german_page(
        &mut browser,
        "/account/sessions",
        &["Wo Sie angemeldet sind"],
        &["Where you are signed in"],
    )
    .await;
    // Back to the browser's language.
    let english = choose_language(&app, &user, &mut browser, &german, "").await;
    assert!(
        english.text.contains("<html lang=\"en\">"),
        "{}",
        english.text
    );
    assert!(english.text.contains("Your account was saved."));
}

async fn the_overview_profile_and_delete_pages_speak_the_accounts_language(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (user, mut browser) = german_user(&app).await;
    german_page(
        &mut browser,
        "/account",
        &[
            "<h1>Ihr Konto</h1>",
            "Ihr Konto in Zahlen",
            "Aktive Sitzungen",
            "Anmeldungen insgesamt",
            "Mitglied seit",
            "gerade eben",
            "Wo Sie angemeldet sind",
            "0 Tage",
        ],
        &[
            "Your account",
            "Active sessions",
            "Total sign-ins",
            "Member since",
            "just now",
            "Where you are signed in",
            "Longest streak",
        ],
    )
    .await;
    let profile = german_page(
        &mut browser,
        "/account/profile",
        &[
            "<h1>Ihr Profil</h1>",
            "Konto speichern",
            "Profil speichern",
            "Sprache der Seiten und E-Mails",
            "<option value=\"de\" lang=\"de\" selected>Deutsch</option>",
            "Lieferadresse",
            "Mitgliedschaft",
            "Sie sind Basis-Mitglied.",
        ],
        &[
            "Save account",
            "Save profile",
            "Language of pages and emails",
            "Shipping address",
            "Membership",
            "Every field is optional",
            "basic</strong> member",
        ],
    )
    .await;
    // What the code says: a notice, and a wrong password next to its field.
    let saved = choose_language(&app, &user, &mut browser, &profile, "de").await;
    assert_german(
        &saved,
        200,
        &["Ihr Konto wurde gespeichert."],
        &["Your account was saved."],
    );
    let page = german_page(
        &mut browser,
        "/account/delete",
        &[
            "<h1>Ihr Konto löschen</h1>",
            "Mein Konto löschen",
            "Mein Konto behalten",
        ],
        &[
            "Delete my account",
            "Keep my account",
            "This cannot be undone",
        ],
    )
    .await;
    let refused = submit(
        &mut browser,
        &page,
        "/account/delete",
        &[("password", "wrong")],
    )
    .await;
    assert_german(
        &refused,
        400,
        &["Dieses Passwort ist nicht richtig."],
        &["is not correct"],
    );
}

async fn the_preferences_form_speaks_german_down_to_its_rules_and_mistakes(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, mut browser) = german_user(&app).await;
    let page = german_page(
        &mut browser,
        "/account/preferences",
        &[
            "<h1>Ihre Einstellungen</h1>",
            "Einstellungen speichern",
            "Auf die Standardwerte zurücksetzen",
            "Mehr als 0, höchstens 1000.",
            "Standard: 5.",
            "Standard: an.",
        ],
        &[
            "Save preferences",
            "Reset to the defaults",
            "Default:",
            "More than 0",
            "at most",
        ],
    )
    .await;
    let refused = submit(
        &mut browser,
        &page,
        "/account/preferences",
        &[("pref.max_distance_km", "weit")],
    )
    .await;
    assert_german(
        &refused,
        422,
        &["aria-invalid=\"true\"", "Muss eine Zahl sein"],
        &["Must be a number"],
    );
}

async fn the_security_page_and_its_refusals_speak_german(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, mut browser) = german_user(&app).await;
    let english = [
        "Change the password",
        "Second factors",
        "Set up an authenticator app",
        "Recovery codes",
        "New password",
        "You have no passkey.",
    ];
    let page = german_page(
        &mut browser,
        "/account/security",
        &[
            "<h1>Anmeldung und Sicherheit</h1>",
            "Passwort ändern",
            "Zweite Faktoren",
            "Authenticator-App einrichten",
            "Wiederherstellungscodes",
            "Sie haben keinen Passkey.",
        ],
        &english,
    )
    .await;
    let differ = submit(
        &mut browser,
        &page,
        "/account/security/password",
        &[
            ("current_password", DEFAULT_PASSWORD),
            ("new_password", "Another-Horse-Battery-8"),
            ("confirm_password", "Another-Horse-Battery-9"),
        ],
    )
    .await;
    assert_german(
        &differ,
        422,
        &["Die beiden neuen Passwörter unterscheiden sich"],
        &english,
    );
    let wrong = submit(
        &mut browser,
        &page,
        "/account/security/password",
        &[
            ("current_password", "not-my-password"),
            ("new_password", "Another-Horse-Battery-8"),
            ("confirm_password", "Another-Horse-Battery-8"),
        ],
    )
    .await;
    assert_german(
        &wrong,
        400,
        &["Ihr aktuelles Passwort ist nicht richtig."],
        &english,
    );
    // A rule of the password policy, in German words.
    let weak = submit(
        &mut browser,
        &page,
        "/account/security/password",
        &[
            ("current_password", DEFAULT_PASSWORD),
            ("new_password", "alllowercase"),
            ("confirm_password", "alllowercase"),
        ],
    )
    .await;
    assert_german(&weak, 422, &["Großbuchstaben"], &["upper-case letter."]);
    let started = submit(&mut browser, &page, "/account/security/totp", &[]).await;
    assert_german(
        &started,
        200,
        &[
            "aria-label=\"QR-Code des Einrichtungsschlüssels\"",
            "Einrichtung abschließen",
        ],
        &["QR code of the set-up key", "Finish setting up"],
    );
}

async fn the_sessions_applications_and_payment_pages_speak_german(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, false).await;
    let (user, mut browser) = german_user(&app).await;
    sign_in_through(&app, &client, &user, "openid profile").await;
    german_page(
        &mut browser,
        "/account/sessions",
        &[
            "<table class=\"stacked\">",
            "data-label=\"Gerät\"",
            "data-label=\"Zuletzt verwendet\"",
            "(dieser Browser)",
            "Überall sonst abmelden",
            "gerade eben",
        ],
        &[
            "Device",
            "Last used",
            "(this browser)",
            "Sign out everywhere else",
            "just now",
        ],
    )
    .await;
    german_page(
        &mut browser,
        "/account/applications",
        &[
            "Sie haben ihr erlaubt:",
            "Ihren Namen, Benutzernamen und Ihr Bild sehen",
            "Zugriff entziehen",
            "Erlaubt ",
        ],
        &[
            "You allowed it to",
            "see your name",
            "Withdraw access",
            "Allowed on",
        ],
    )
    .await;
    let payment = german_page(
        &mut browser,
        "/account/payment",
        &[
            "<h1>Zahlungsdaten</h1>",
            "Es sind keine Zahlungsdaten gespeichert.",
            "Token speichern",
        ],
        &[
            "No payment information is stored.",
            "Store token",
            "characters, no spaces",
        ],
    )
    .await;
    let stored = submit(
        &mut browser,
        &payment,
        "/account/payment",
        &[("payment_token", "tok_4242424242424242")],
    )
    .await;
    let stored = browser.follow(&stored).await;
    assert_german(
        &stored,
        200,
        &[
            "Ihr Zahlungstoken wurde gespeichert.",
            "Gespeichert, endet auf <strong>4242</strong>",
        ],
        &["was stored", "Stored, ending in", "Last changed"],
    );
    // A basic member is told, in German, that searching needs premium.
    let people = browser.get("/account/people").await;
    assert_german(
        &people,
        403,
        &[
            "Die Suche nach Mitgliedern braucht Premium",
            "Sie sind Basis-Mitglied.",
        ],
        &["needs premium", "premium feature"],
    );
}

async fn badges_and_goals_speak_german_with_statuses_in_words(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (user, mut browser) = german_user(&app).await;
    for (path, body) in [
        (
            "badges",
            json!({"name": "Gold", "icon_url": "https://img.example/gold.png"}),
        ),
        (
            "goals",
            json!({"title": "Rust lernen", "status": "in-progress"}),
        ),
    ] {
        let made = app
            .post(&format!("/api/v1/users/{}/{path}", user.user_id))
            .bearer(&user.access_token)
            .json(body)
            .send()
            .await;
        assert_eq!(made.status, 201, "{}", made.text);
    }
    german_page(
        &mut browser,
        "/account/achievements",
        &[
            "<h1>Abzeichen und Ziele</h1>",
            "alt=\"Gold\"",
            "erreicht ",
            "<span class=\"goal-status\">in Arbeit</span>",
            "Serie von 0 Tagen",
            ">nicht begonnen</option>",
            "Heute einchecken",
            "Abzeichen hinzufügen",
        ],
        &[
            ">Icon</a>",
            "achieved <span",
            ">in-progress<",
            ">not-started<",
            "in progress",
            "streak",
            "Check in today",
            "Add the badge",
        ],
    )
    .await;
}
