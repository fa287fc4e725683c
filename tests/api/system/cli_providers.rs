//! `roster providers add|list|remove`, run as an operator would run them, against the
//! database of a running application: what the command line adds is a button on the
//! sign-in page, what it removes is gone; refused arguments are named by their flags.

use super::cli::{roster, text};
use crate::federation::fake::FakeProvider;
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(
    a_provider_added_on_the_command_line_is_offered_until_removed,
    refused_provider_arguments_are_named_by_their_flags,
    an_apple_provider_takes_its_key_from_a_file,
);

const SECRET: (&str, &str) = (
    "ROSTER_PROVIDER_CLIENT_SECRET",
    "a-secret-from-the-environment",
);

async fn a_provider_added_on_the_command_line_is_offered_until_removed(backend: Backend) {
    let app = TestApp::new(backend).await;
    let fake = FakeProvider::start().await;
    let args = [
        "providers",
        "add",
        "--slug",
        "fake",
        "--kind",
        "oidc",
        "--display-name",
        "Fake ID",
        "--client-id",
        "roster-client",
        "--issuer",
        &fake.issuer,
    ];
    let added = roster(&app, &args, &[SECRET], None);
    let printed = text(&added);
    assert!(added.status.success(), "{printed}");
    assert!(printed.contains("at /login/fake"), "{printed}");
    assert!(!printed.contains(SECRET.1), "{printed}");

    let listed = roster(&app, &["providers", "list"], &[], None);
    let printed = text(&listed);
    assert!(listed.status.success(), "{printed}");
    assert!(printed.contains("\tfake\toidc\t"), "{printed}");
    assert!(!printed.contains(SECRET.1), "{printed}");
    let page = app.get("/login").send().await;
    assert!(page.text.contains("href=\"/login/fake\""), "{}", page.text);

    let removed = roster(&app, &["providers", "remove", "fake"], &[], None);
    assert!(removed.status.success(), "{}", text(&removed));
    let page = app.get("/login").send().await;
    assert!(!page.text.contains("/login/fake"), "{}", page.text);
    let again = roster(&app, &["providers", "remove", "fake"], &[], None);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
}

async fn refused_provider_arguments_are_named_by_their_flags(backend: Backend) {
    let app = TestApp::new(backend).await;
    let args = [
        "providers",
        "add",
        "--slug",
        "Not A Slug",
        "--kind",
        "saml",
        "--display-name",
        "Fake",
        "--client-id",
        "roster-client",
        "--scope",
        "email",
    ];
    // No secret in the environment, an empty line on standard input.
    let refused = roster(&app, &args, &[], Some("\n"));
    let printed = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{printed}");
    for flag in [
        "--slug",
        "--kind",
        "--scope",
        "ROSTER_PROVIDER_CLIENT_SECRET",
    ] {
        assert!(
            printed.contains(&format!("  {flag}")),
            "{flag} in {printed}"
        );
    }
    let listed = roster(&app, &["providers", "list"], &[], None);
    assert!(
        text(&listed).contains("no identity providers"),
        "{}",
        text(&listed)
    );
}

async fn an_apple_provider_takes_its_key_from_a_file(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (pem, _) = crate::federation::apple::team_key();
    let key_file = app.data_dir().join("AuthKey_KEY9876543.p8");
    std::fs::write(&key_file, &pem).unwrap();
    let key_path = key_file.to_str().unwrap();
    let args = |team_id: &'static str| {
        vec![
            "providers".to_owned(),
            "add".into(),
            "--slug".into(),
            "apple".into(),
            "--kind".into(),
            "apple".into(),
            "--display-name".into(),
            "Apple".into(),
            "--client-id".into(),
            "com.example.web".into(),
            "--team-id".into(),
            team_id.into(),
            "--key-id".into(),
            "KEY9876543".into(),
            "--private-key-file".into(),
            key_path.to_owned(),
        ]
    };
    let wrong = args("team");
    let wrong: Vec<&str> = wrong.iter().map(String::as_str).collect();
    let refused = roster(&app, &wrong, &[], None);
    let printed = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{printed}");
    assert!(printed.contains("--team-id"), "{printed}");
    let right = args("TEAM123456");
    let right: Vec<&str> = right.iter().map(String::as_str).collect();
    let added = roster(&app, &right, &[], None);
    let printed = text(&added);
    assert!(added.status.success(), "{printed}");
    assert!(printed.contains("added apple provider"), "{printed}");
    assert!(!printed.contains("PRIVATE KEY"), "{printed}");
    let listed = roster(&app, &["providers", "list"], &[], None);
    let printed = text(&listed);
    assert!(
        printed.contains("\tapple\tapple\thttps://appleid.apple.com\tauthoritative\t"),
        "{printed}"
    );
}
