//! The brand on what people see: its name in page titles, mails and authenticator apps,
//! its logo and colour on the pages (under the strict CSP), and templates of
//! `TEMPLATES_DIR` in place of the built-in ones.

use roster::i18n::Language;

use super::{PNG, SVG, write};
use crate::helpers::{Backend, TestApp};
use crate::mail::smtp_sink::{Mode, SmtpSink};
use crate::mail::support::{email_of, mail_app_with, request_reset};
use crate::on_both_engines;

on_both_engines!(
    the_brand_names_the_pages_the_mails_and_the_authenticator,
    the_logo_is_served_with_its_content_type_and_shown,
    the_colour_reaches_the_pages_as_a_stylesheet_under_the_strict_policy,
    a_template_in_templates_dir_replaces_the_built_in_one,
);

async fn the_brand_names_the_pages_the_mails_and_the_authenticator(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app_with(backend, &sink, &[("BRAND_NAME", "Acme Accounts")]).await;
    let page = app.get("/login").send().await;
    assert!(
        page.text.contains("<title>Sign in · Acme Accounts</title>"),
        "{}",
        page.text
    );

    let session = app.user().await;
    let response = app
        .post("/api/v1/auth/mfa/totp")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let uri = response.json()["otpauth_uri"].as_str().unwrap().to_owned();
    let authenticator = totp_rs::Totp::from_url(&uri).expect("an otpauth URI an app accepts");
    assert_eq!(authenticator.issuer(), Some("Acme Accounts"), "{uri}");
    assert_eq!(authenticator.account_name(), session.username);

    let email = email_of(&session);
    request_reset(&app, &email).await;
    let mail = sink
        .wait_for(&email, "Reset your Acme Accounts password", 1)
        .await
        .remove(0);
    assert!(mail.text().contains("Acme Accounts"), "{}", mail.text());
    assert!(!mail.text().contains("Roster"), "{}", mail.text());
    assert!(!mail.html().contains("Roster"), "{}", mail.html());
    assert_eq!(
        mail.header("from").as_deref(),
        Some("\"Acme Accounts\" <no-reply@localhost>")
    );

    // MAIL_FROM_NAME names the sender instead (the first instance, stopped, sends none).
    let restarted = app
        .restarted_with(&[("MAIL_FROM_NAME", "Acme Support")])
        .await;
    drop(app);
    request_reset(&restarted, &email).await;
    let mails = sink
        .wait_for(&email, "Reset your Acme Accounts password", 2)
        .await;
    assert_eq!(
        mails[1].header("from").as_deref(),
        Some("\"Acme Support\" <no-reply@localhost>")
    );
}

async fn the_logo_is_served_with_its_content_type_and_shown(backend: Backend) {
    let app = TestApp::new(backend).await;
    let page = app.get("/login").send().await;
    assert!(!page.text.contains("/assets/logo"), "{}", page.text);
    assert_eq!(app.get("/assets/logo").send().await.status, 404);

    let svg = write(&app.data_dir(), "brand/logo.svg", SVG);
    let png = write(&app.data_dir(), "brand/logo-file", PNG);
    for (path, content_type) in [(svg, "image/svg+xml"), (png, "image/png")] {
        let app = app
            .restarted_with(&[
                ("BRAND_LOGO", path.to_str().unwrap()),
                ("BRAND_NAME", "Acme"),
            ])
            .await;
        let logo = app.get("/assets/logo").send().await;
        assert_eq!(logo.status, 200);
        assert_eq!(logo.header("content-type"), Some(content_type));
        assert_eq!(logo.header("x-content-type-options"), Some("nosniff"));
        assert!(
            logo.header("content-security-policy")
                .is_some_and(|csp| csp.contains("sandbox")),
            "an SVG opened by itself runs nothing"
        );
        let expected = std::fs::read(&path).unwrap();
        assert_eq!(
            logo.header("content-length"),
            Some(expected.len().to_string().as_str())
        );
        let page = app.get("/login").send().await;
        assert!(
            page.text.contains(r#"<img src="/assets/logo" alt="Acme">"#),
            "{}",
            page.text
        );
    }
}

async fn the_colour_reaches_the_pages_as_a_stylesheet_under_the_strict_policy(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("BRAND_COLOR", "#5A2D82")
        .start()
        .await;
    let css = app.get("/assets/brand.css").send().await;
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.text.contains("--brand: #5a2d82;"), "{}", css.text);
    let roster_css = app.get("/assets/roster.css").send().await;
    assert!(roster_css.text.contains("background: var(--brand);"));

    let page = app.get("/login").send().await;
    assert!(
        page.text
            .contains(r#"<link rel="stylesheet" href="/assets/brand.css">"#)
    );
    assert!(
        !page.text.contains("style="),
        "no inline style: {}",
        page.text
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("style-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");

    // Without BRAND_COLOR, roster.css's own colours apply.
    let plain = app.restarted_with(&[("BRAND_COLOR", "")]).await;
    let css = plain.get("/assets/brand.css").send().await;
    assert_eq!(css.status, 200);
    assert!(!css.text.contains("--brand:"), "{}", css.text);
}

async fn a_template_in_templates_dir_replaces_the_built_in_one(backend: Backend) {
    let app = TestApp::new(backend).await;
    let dir = app.data_dir().join("templates");
    write(
        &dir,
        "web/login.html",
        r#"{% extends "layout.html" %}{% block content %}<p class="house">Welcome to the { house } sign-in, {{ brand }}.</p>
<form method="post" action="/login"><input type="hidden" name="csrf_token" value="{{ csrf_token }}"><button>{{ t("login-submit") }}</button></form>{% endblock %}"#,
    );
    write(
        &dir,
        "mail/password_reset.txt",
        "Dear {{ username }}, the house way to a new password: {{ link }}\n",
    );
    let app = app
        .restarted_with(&[("TEMPLATES_DIR", dir.to_str().unwrap())])
        .await;
    let page = app.get("/login").send().await;
    assert_eq!(page.status, 200);
    assert!(
        page.text
            .contains(r#"<p class="house">Welcome to the { house } sign-in, Roster.</p>"#),
        "{}",
        page.text
    );
    assert!(!page.text.contains("Forgot your password?"));
    let german = app
        .get("/login")
        .header("accept-language", "de")
        .send()
        .await;
    assert!(
        german.text.contains("<button>Anmelden</button>"),
        "{}",
        german.text
    );

    let session = app.user().await;
    let id = uuid::Uuid::parse_str(&session.user_id).unwrap();
    let user = roster::accounts::model::find_user(&app.state.db, id)
        .await
        .unwrap()
        .unwrap();
    let mail = app
        .state
        .mail
        .composer()
        .password_reset(&user, "tok", roster::mail::templates::ValidFor::Minutes(30))
        .unwrap();
    assert_eq!(
        mail.text,
        format!(
            "Dear {}, the house way to a new password: http://roster.test/reset-password?token=tok",
            user.username
        )
    );
    // The HTML part was not replaced.
    assert!(
        mail.html
            .contains("<a href=\"http://roster.test/reset-password?token=tok\">")
    );
    assert_eq!(Language::of_locale(user.locale.as_deref()), None);
}
