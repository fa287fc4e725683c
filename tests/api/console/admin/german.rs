//! Every admin page speaks German to an administrator whose browser asks for it (or whose
//! account's `locale` is `de`): its own words German, none of its English ones left.

use serde_json::json;

use super::webhook_pages::{PUBLIC_TARGET, code_text, made_by_api, make_on_page};
use crate::console::{signed_in, submit};
use crate::helpers::{Backend, TestApp, TestResponse};
use crate::on_both_engines;

on_both_engines!(
    the_admin_pages_speak_german_to_a_german_browser,
    the_user_search_speaks_the_administrators_own_language,
);

/// `page` is German: each of `german` is on it, none of `english`.
fn assert_german(what: &str, page: &TestResponse, german: &[&str], english: &[&str]) {
    assert!(
        page.status == 200 || page.status == 201,
        "{what}: {}",
        page.text
    );
    assert!(page.text.contains("<html lang=\"de\">"), "{what}");
    for word in german {
        assert!(page.text.contains(word), "{what} lacks {word:?}");
    }
    for word in english {
        assert!(!page.text.contains(word), "{what} still says {word:?}");
    }
}

async fn the_admin_pages_speak_german_to_a_german_browser(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let webhook = made_by_api(
        &app,
        &admin.access_token,
        json!({"url": PUBLIC_TARGET, "events": ["user.*"], "description": "CRM"}),
    )
    .await;
    let mut browser = signed_in(&app, &admin).await.speaking("de-DE,de;q=0.9");

    let users = browser.get("/admin/users").await;
    assert_german(
        "the user search",
        &users,
        &[
            "Jemanden einladen",
            "Konten, neueste zuerst",
            "Letzte Anmeldung",
            "Filter anwenden",
            "Benutzer</a>",
        ],
        &[
            "Invite someone",
            "Accounts, newest first",
            "Last sign-in",
            "Apply the filters",
            "Find accounts",
        ],
    );

    let account = browser.get(&format!("/admin/users/{}", user.user_id)).await;
    assert_german(
        "an account's page",
        &account,
        &[
            "Auf dieser Seite",
            "Anmeldung und Sicherheit",
            "Gefahrenbereich",
            "Konto deaktivieren",
            "Überall abmelden",
            "Link zum Zurücksetzen des Passworts senden",
            "data-label=\"Ereignis\">Angemeldet<",
            "data-label=\"Ereignis\">Registriert<",
        ],
        &[
            "Danger zone",
            "Deactivate the account",
            "Sign out everywhere",
            "Send a password reset link",
            "data-label=\"Event\">Signed in<",
            "Last sign-in",
            "I am sure",
            "Live sessions",
        ],
    );

    let invite = browser.get("/admin/users/new").await;
    assert_german(
        "the invitation",
        &invite,
        &["Einladung senden", "Vollständiger Name (freiwillig)"],
        &["Send the invitation", "Full name (optional)", "Username"],
    );
    let refused = submit(
        &mut browser,
        &invite,
        "/admin/users/new",
        &[
            ("username", "ivy"),
            ("email", "ivy@example.com"),
            ("role", "owner"),
        ],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused
            .text
            .contains("muss Benutzer oder Administrator sein")
    );
    assert!(!refused.text.contains("must be user or administrator"));

    let clients = browser.get("/admin/clients").await;
    assert_german(
        "the applications",
        &clients,
        &[
            "Eine Anwendung registrieren",
            "Keine Anwendung ist registriert.",
            "Weiterleitungsadressen",
        ],
        &[
            "Register an application",
            "No application is registered.",
            "Redirect URIs",
            "Grant types",
        ],
    );
    let registered = submit(
        &mut browser,
        &clients,
        "/admin/clients",
        &[
            ("name", "Billing"),
            ("type", "confidential"),
            ("grant_client_credentials", "on"),
            ("scopes", "orders:read"),
        ],
    )
    .await;
    assert_german(
        "a new client's secret",
        &registered,
        &[
            "Die Anwendung Billing wurde registriert.",
            "Kopieren Sie das Geheimnis jetzt",
        ],
        &["was registered", "Copy the secret now", "All applications"],
    );
    let client_id = code_text(&registered, "client-id").expect("the client id");
    let client = browser.get(&format!("/admin/clients/{client_id}")).await;
    assert_german(
        "a client's page",
        &client,
        &[
            "Einstellungen",
            "Gefahrenbereich",
            "Anwendung löschen",
            "Client-Zugangsdaten",
        ],
        &[
            "Settings",
            "Danger zone",
            "Delete the application",
            "Registered",
        ],
    );
    let unsure = submit(
        &mut browser,
        &client,
        &format!("/admin/clients/{client_id}/delete"),
        &[],
    )
    .await;
    assert_eq!(unsure.status, 422);
    assert!(unsure.text.contains("Kreuzen Sie dies zur Bestätigung an"));
    assert!(!unsure.text.contains("tick this to confirm"));

    let providers = browser.get("/admin/providers").await;
    assert_german(
        "the sign-in providers",
        &providers,
        &[
            "Einen Anbieter hinzufügen",
            "Kein anderer Anbieter ist eingerichtet",
            "Anbieter hinzufügen",
        ],
        &[
            "Add a provider",
            "no other provider is set up",
            "Button text",
        ],
    );

    let audit = browser.get("/admin/audit").await;
    assert_german(
        "the audit log",
        &audit,
        &[
            "Ereignisse, neueste zuerst",
            "Angemeldet",
            "Ereignisse pro Seite",
            "Einzelheiten",
        ],
        &[
            "Events, newest first",
            "data-label=\"Event\"",
            "Events per page",
            "Detail<",
        ],
    );

    let webhooks = browser.get("/admin/webhooks").await;
    assert_german(
        "the webhooks",
        &webhooks,
        &[
            "Webhooks, älteste zuerst",
            "Einen Webhook anlegen",
            "aktiv",
            "Ereignisarten",
        ],
        &[
            "Webhooks, oldest first",
            "Make a webhook",
            "Event types",
            ">active<",
        ],
    );
    let page = browser.get(&format!("/admin/webhooks/{webhook}")).await;
    assert_german(
        "a webhook's page",
        &page,
        &[
            "Zustellungen",
            "Testereignis senden",
            "Keine Zustellung.",
            "Webhook löschen",
            "Gefahrenbereich",
        ],
        &[
            "Deliveries",
            "Send a test event",
            "No delivery.",
            "Delete the webhook",
            "Danger zone",
        ],
    );
    let status = browser
        .get(&format!("/admin/webhooks/{webhook}?status=dead"))
        .await;
    assert!(
        status.text.contains("Keine Zustellung ist aufgegeben."),
        "{}",
        status.text
    );
    let made = make_on_page(
        &mut browser,
        &[("url", PUBLIC_TARGET), ("events", "user.*")],
    )
    .await;
    assert_german(
        "a new webhook's secret",
        &made,
        &[
            "Der Webhook wurde angelegt",
            "Signaturgeheimnis",
            "Alle Webhooks",
        ],
        &["The webhook was made", "Signing secret", "All webhooks"],
    );
}

async fn the_user_search_speaks_the_administrators_own_language(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let german = app
        .patch("/api/v1/users/me")
        .bearer(&admin.access_token)
        .json(json!({"locale": "de"}))
        .send()
        .await;
    assert_eq!(german.status, 200, "{}", german.text);
    // The account's language beats the browser's.
    let mut browser = signed_in(&app, &admin).await.speaking("en");
    let users = browser.get("/admin/users?is_active=maybe").await;
    assert_eq!(users.status, 422, "{}", users.text);
    assert!(users.text.contains("<html lang=\"de\">"));
    assert!(users.text.contains("muss wahr oder falsch sein"));
    assert!(users.text.contains("Jemanden einladen"));
    assert!(!users.text.contains("Invite someone"));
}
