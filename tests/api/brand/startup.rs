//! The brand's settings are checked when Roster starts: a colour without enough contrast,
//! a logo that is not a PNG or SVG (or too large, or missing), and a template of
//! `TEMPLATES_DIR` that does not compile or render stop it, naming the variable and the
//! file.

use super::{start_error, write};
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(
    bad_brand_settings_stop_start_up_naming_the_variable,
    a_broken_template_in_templates_dir_stops_start_up_naming_the_file,
    copies_of_every_built_in_template_pass_the_start_up_check,
);

async fn bad_brand_settings_stop_start_up_naming_the_variable(backend: Backend) {
    let app = TestApp::new(backend).await;
    let dir = app.data_dir();
    let gif = write(&dir, "logo.gif", b"GIF89a\x01\x00\x01\x00");
    let html = write(&dir, "logo.svg", "<html><svg></svg></html>");
    let large = write(
        &dir,
        "large.svg",
        format!("<svg>{}</svg>", " ".repeat(600 * 1024)),
    );
    let (gif, html, large) = (
        gif.to_str().unwrap(),
        html.to_str().unwrap(),
        large.to_str().unwrap(),
    );
    for (variable, value, why) in [
        ("BRAND_COLOR", "#ffcc00", "with white button text"),
        ("BRAND_COLOR", "#767676", "with the page background #f6f7f9"),
        ("BRAND_COLOR", "rebeccapurple", "#rrggbb"),
        ("BRAND_LOGO", gif, "neither a PNG nor an SVG"),
        ("BRAND_LOGO", html, "neither a PNG nor an SVG"),
        ("BRAND_LOGO", large, "at most 524288"),
        ("BRAND_LOGO", "/nonexistent/logo.svg", "cannot be read"),
        ("BRAND_NAME", "Acme: Accounts", "':'"),
        ("MAIL_FROM_NAME", "Acme\u{202e}Support", "bidirectional"),
        (
            "TEMPLATES_DIR",
            "/nonexistent/templates",
            "not a readable folder",
        ),
    ] {
        let error = start_error(&app, &[(variable, value)]).await;
        assert!(
            error.contains(variable) && error.contains(why),
            "{variable}={value}: {error}"
        );
    }
    // The contrast limit is WCAG's 4.5:1: a dark enough colour starts.
    let started = app.restarted_with(&[("BRAND_COLOR", "#6b6b6b")]).await;
    assert_eq!(started.get("/assets/brand.css").send().await.status, 200);
}

async fn a_broken_template_in_templates_dir_stops_start_up_naming_the_file(backend: Backend) {
    let app = TestApp::new(backend).await;
    let layout = r#"{% extends "layout.html" %}"#;
    for (name, source, why) in [
        (
            "web/login.html",
            format!(r#"{layout}{{% block content %}}{{{{ t("login-submit" }}}}{{% endblock %}}"#),
            "does not compile",
        ),
        (
            "web/message.html",
            format!(
                r#"{layout}{{% block content %}}{{{{ t("no-such-message") }}}}{{% endblock %}}"#
            ),
            "does not render",
        ),
        (
            "web/console/frame.html",
            format!(
                r#"{layout}{{% block content %}}{{% include "missing.html" %}}{{% endblock %}}"#
            ),
            "does not render",
        ),
        (
            "web/logn.html",
            "<p>a typo</p>".to_owned(),
            "replaces no built-in page template",
        ),
        (
            "mail/password_reset.txt",
            "{{ link|no_such_filter }}".to_owned(),
            "does not",
        ),
        (
            "mail/invitation.html",
            r#"{{ t("no-such-message") }}"#.to_owned(),
            "does not render",
        ),
        (
            "mail/welcome.txt",
            "Hello".to_owned(),
            "replaces no built-in mail template",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), name, &source);
        let error = start_error(&app, &[("TEMPLATES_DIR", dir.path().to_str().unwrap())]).await;
        assert!(
            error.contains("TEMPLATES_DIR")
                && error.contains(&path.display().to_string())
                && error.contains(why),
            "{name}: {error}"
        );
    }
}

/// Copies the files below `from` into `to`, keeping their folders.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) -> usize {
    let mut copied = 0;
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copied += copy_tree(&path, &target);
        } else {
            std::fs::create_dir_all(to).unwrap();
            std::fs::copy(&path, &target).unwrap();
            copied += 1;
        }
    }
    copied
}

/// The check renders a replaced template with sample values: every template the
/// repository ships, the console's too, passes it unchanged.
async fn copies_of_every_built_in_template_pass_the_start_up_check(backend: Backend) {
    let app = TestApp::new(backend).await;
    let repository = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let dir = tempfile::tempdir().unwrap();
    let copied = copy_tree(&repository, dir.path());
    assert!(copied > 50, "{copied} templates");
    let started = app
        .restarted_with(&[("TEMPLATES_DIR", dir.path().to_str().unwrap())])
        .await;
    let page = started
        .get("/login")
        .header("accept-language", "de")
        .send()
        .await;
    assert!(
        page.text.contains("<title>Anmelden · Roster</title>"),
        "{}",
        page.text
    );
}
