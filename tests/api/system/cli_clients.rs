//! `roster clients create|list|delete`, run as an operator would run them, against the
//! database of a running application: what the command line registers works at the
//! token endpoint, what it deletes stops working there.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::cli::{roster, text};
use crate::helpers::{Backend, TestApp};
use crate::oidc::{REDIRECT_URI, basic, introspect, sign_in_through};
use crate::on_both_engines;

on_both_engines!(
    a_confidential_client_created_on_the_command_line_gets_tokens_with_its_secret,
    the_list_shows_every_client_and_never_a_secret,
    deleting_a_client_revokes_its_sessions_and_its_secret,
    refused_arguments_are_named_by_their_flags,
);

/// The value of a `name: value` line of the command's output.
fn line_value(output: &str, name: &str) -> String {
    let prefix = format!("{name}: ");
    output
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} in {output}"))
        .to_owned()
}

/// Registers a confidential client on the command line; its id and secret as the admin
/// API would answer them.
fn create_confidential(app: &TestApp, name: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "clients",
        "create",
        "--name",
        name,
        "--type",
        "confidential",
        "--redirect-uri",
        REDIRECT_URI,
    ];
    args.extend_from_slice(extra);
    let output = roster(app, &args, &[], None);
    let printed = text(&output);
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains("shown only this once"), "{printed}");
    json!({
        "client_id": line_value(&printed, "client_id"),
        "client_secret": line_value(&printed, "client_secret"),
    })
}

async fn userinfo_status(app: &TestApp, access_token: &str) -> u16 {
    app.get("/oauth2/userinfo")
        .bearer(access_token)
        .send()
        .await
        .status
        .as_u16()
}

async fn a_confidential_client_created_on_the_command_line_gets_tokens_with_its_secret(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let client = create_confidential(
        &app,
        "Orders",
        &[
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "client_credentials",
            "--scope",
            "openid",
            "--scope",
            "orders:read",
            "--first-party",
        ],
    );
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();

    let response = app
        .post("/oauth2/token")
        .header("authorization", &basic(id, secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let tokens = response.json();
    assert_eq!(tokens["scope"], "orders:read", "its API scopes, not openid");
    assert_eq!(
        introspect(&app, &client, tokens["access_token"].as_str().unwrap()).await["sub"],
        id
    );
    let wrong = app
        .post("/oauth2/token")
        .header("authorization", &basic(id, "not-the-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_events WHERE event = 'client_created' AND actor_id IS NULL"
        )
        .await,
        1,
        "audited, with no administrator as the actor"
    );

    // --json prints the admin API's answer; a public client has no secret to show.
    let output = roster(
        &app,
        &[
            "clients",
            "create",
            "--json",
            "--name",
            "Phone",
            "--type",
            "public",
            "--redirect-uri",
            "com.example.app:/callback",
        ],
        &[],
        None,
    );
    assert!(output.status.success(), "{}", text(&output));
    let public: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(public["type"], "public");
    assert_eq!(
        public["redirect_uris"],
        json!(["com.example.app:/callback"])
    );
    assert_eq!(
        public["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert!(public.get("client_secret").is_none(), "{public}");
}

async fn the_list_shows_every_client_and_never_a_secret(backend: Backend) {
    let app = TestApp::new(backend).await;
    let empty = roster(&app, &["clients", "list"], &[], None);
    assert!(empty.status.success(), "{}", text(&empty));
    assert!(text(&empty).contains("no clients are registered"));

    let web = create_confidential(&app, "Study Spots", &["--first-party"]);
    let service = create_confidential(&app, "Billing", &["--grant-type", "client_credentials"]);
    let output = roster(&app, &["clients", "list"], &[], None);
    let listed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{}", text(&output));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(
        lines[0], "client_id\tname\ttype\tfirst_party\tredirect_uris",
        "{listed}"
    );
    assert_eq!(lines.len(), 3, "{listed}");
    let row_of = |client: &Value| {
        let id = client["client_id"].as_str().unwrap();
        lines
            .iter()
            .find(|line| line.starts_with(id))
            .unwrap_or_else(|| panic!("{id} in {listed}"))
            .split('\t')
            .collect::<Vec<_>>()
    };
    assert_eq!(
        row_of(&web)[1..],
        ["Study Spots", "confidential", "yes", REDIRECT_URI]
    );
    assert_eq!(
        row_of(&service)[1..],
        ["Billing", "confidential", "no", REDIRECT_URI]
    );

    let output = roster(&app, &["clients", "list", "--json"], &[], None);
    assert!(output.status.success(), "{}", text(&output));
    let clients: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(clients.as_array().unwrap().len(), 2, "{clients}");
    let as_json = text(&output);
    for listed in [listed.as_str(), as_json.as_str()] {
        for client in [&web, &service] {
            let secret = client["client_secret"].as_str().unwrap();
            assert!(!listed.contains(secret), "no secret in {listed}");
        }
        assert!(!listed.contains("secret"), "{listed}");
    }
    // The same registry the admin API manages.
    let admin = app.admin().await;
    let through_api = app
        .get("/api/v1/admin/clients")
        .bearer(&admin.access_token)
        .send()
        .await
        .json();
    assert_eq!(through_api["items"].as_array().unwrap().len(), 2);
}

async fn deleting_a_client_revokes_its_sessions_and_its_secret(backend: Backend) {
    let app = TestApp::new(backend).await;
    let client = create_confidential(&app, "Study Spots", &["--first-party"]);
    let id = client["client_id"].as_str().unwrap();
    let user = app.user().await;
    let tokens = sign_in_through(&app, &client, &user, "openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&app, access).await, 200);

    let output = roster(&app, &["clients", "delete", id], &[], None);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains(&format!("deleted client {id}"))
            && text(&output).contains("revoked its 1 live session"),
        "{}",
        text(&output)
    );
    // The running application learns of the revocation through its change feed.
    let started = Instant::now();
    while userinfo_status(&app, access).await != 401 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the deleted client's token still works after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.get("/api/v1/users/me")
            .bearer(access)
            .send()
            .await
            .status,
        401
    );
    let refused = app
        .post("/oauth2/introspect")
        .header(
            "authorization",
            &basic(id, client["client_secret"].as_str().unwrap()),
        )
        .form(&[("token", access)])
        .send()
        .await;
    assert_eq!(refused.status, 401, "its secret no longer authenticates");
    let listed = roster(&app, &["clients", "list"], &[], None);
    assert!(!text(&listed).contains(id), "{}", text(&listed));

    // Deleting it again, or any unknown id, is an error that says so.
    for unknown in [id, "no-such-client"] {
        let output = roster(&app, &["clients", "delete", unknown], &[], None);
        assert_eq!(output.status.code(), Some(1), "{}", text(&output));
        assert!(
            text(&output).contains(&format!("no client has the id \"{unknown}\"")),
            "{}",
            text(&output)
        );
    }
    let missing = roster(&app, &["clients", "delete"], &[], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("CLIENT_ID"), "{}", text(&missing));
}

async fn refused_arguments_are_named_by_their_flags(backend: Backend) {
    let app = TestApp::new(backend).await;
    let output = roster(
        &app,
        &[
            "clients",
            "create",
            "--name",
            "Phone",
            "--type",
            "public",
            "--redirect-uri",
            "https://app.example/ok",
            "--redirect-uri",
            "http://app.example/cb",
            "--post-logout-redirect-uri",
            "https://app.example/out#frag",
            "--grant-type",
            "client_credentials",
            "--grant-type",
            "password",
            "--scope",
            "openid profile",
        ],
        &[],
        None,
    );
    let refused = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    for expected in [
        "--redirect-uri \"http://app.example/cb\": must use https",
        "--post-logout-redirect-uri \"https://app.example/out#frag\": must not have a fragment",
        "--grant-type \"password\": must be",
        "--grant-type: client_credentials is only for confidential clients",
        "--scope \"openid profile\": must be",
    ] {
        assert!(refused.contains(expected), "{expected} in {refused}");
    }
    assert!(
        !refused.contains("https://app.example/ok"),
        "only the refused values are named: {refused}"
    );
    let output = roster(
        &app,
        &["clients", "create", "--name", " ", "--type", "secretive"],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    for expected in [
        "--name \" \": must be 1 to 100 characters",
        "--type \"secretive\": must be `public` or `confidential`",
        "--redirect-uri: at least one is required with the authorization_code grant",
    ] {
        assert!(
            text(&output).contains(expected),
            "{expected} in {}",
            text(&output)
        );
    }
    // Flags missing altogether: clap names each one.
    let output = roster(&app, &["clients", "create"], &[], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).contains("--name <NAME>") && text(&output).contains("--type <TYPE>"),
        "{}",
        text(&output)
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_clients").await, 0);

    for (help, says) in [
        (&["clients", "--help"][..], "create"),
        (&["clients", "create", "--help"], "shown only this once"),
        (&["clients", "list", "--help"], "Never shows a secret"),
        (&["clients", "delete", "--help"], "CLIENT_ID"),
    ] {
        let output = roster(&app, help, &[], None);
        assert!(
            output.status.success() && text(&output).contains(says),
            "{help:?}: {}",
            text(&output)
        );
    }
}
