//! The pages before signing in (signing up, a forgotten password) speak the browser's
//! language (`Accept-Language: de`).

use super::german::{assert_german, german_page};
use crate::console::submit;
use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::oidc::Browser;
use crate::on_both_engines;

on_both_engines!(signing_up_and_a_forgotten_password_follow_the_browsers_language);

async fn signing_up_and_a_forgotten_password_follow_the_browsers_language(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut browser = Browser::new(&app).speaking("de-DE,de;q=0.9,en;q=0.5");
    let page = german_page(
        &mut browser,
        "/account/signup",
        &[
            "<h1>Ein Konto anlegen</h1>",
            "Benutzername",
            "Sie haben schon ein Konto?",
        ],
        &["Create the account", "Username", "Already have an account?"],
    )
    .await;
    let done = submit(
        &mut browser,
        &page,
        "/account/signup",
        &[
            ("username", "erika"),
            ("email", "erika@example.com"),
            ("full_name", ""),
            ("password", DEFAULT_PASSWORD),
            ("confirm_password", DEFAULT_PASSWORD),
        ],
    )
    .await;
    assert_german(
        &done,
        201,
        &[
            "Das Konto <strong>erika</strong> ist angelegt",
            "Sehen Sie in Ihre E-Mails",
        ],
        &["is created", "Check your email"],
    );
    let page = german_page(
        &mut browser,
        "/account/forgot-password",
        &[
            "<h1>Passwort vergessen?</h1>",
            "Link senden",
            "Zurück zur Anmeldung",
        ],
        &["Send the link", "Back to sign in", "Forgot your password"],
    )
    .await;
    let sent = submit(
        &mut browser,
        &page,
        "/account/forgot-password",
        &[("email", "erika@example.com")],
    )
    .await;
    assert_german(
        &sent,
        202,
        &["Wenn ein Konto diese Adresse hat"],
        &["If an account has this address"],
    );
}
