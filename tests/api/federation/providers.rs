//! The admin API of identity providers: what it takes, checks, stores (the secret only
//! sealed) and shows (never the secret), and the sign-in page's buttons it drives.

use serde_json::json;

use super::fake::{CLIENT_SECRET, FakeProvider};
use super::{add_provider, oidc_provider, scalar};
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(
    providers_are_added_listed_changed_and_removed_without_showing_their_secret,
    provider_input_is_checked_naming_every_failing_field,
    presets_fill_in_endpoints_and_trust,
);

async fn providers_are_added_listed_changed_and_removed_without_showing_their_secret(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let fake = FakeProvider::start().await;
    let added = add_provider(
        &app,
        &admin,
        oidc_provider("acme", &fake.issuer, "verified"),
    )
    .await;
    // Kind oidc: the endpoints come from the issuer's discovery document.
    assert_eq!(added["issuer"], fake.issuer);
    assert_eq!(added["token_endpoint"], format!("{}/token", fake.issuer));
    assert_eq!(added["jwks_uri"], format!("{}/jwks", fake.issuer));
    assert_eq!(added["enabled"], true);
    assert_eq!(added["allow_signup"], true);
    assert_eq!(added["scopes"], json!(["openid", "email", "profile"]));
    assert!(added.get("client_secret").is_none(), "{added}");
    assert!(!added.to_string().contains(CLIENT_SECRET));
    // Sealed at rest: the stored bytes are not the secret.
    let id = added["id"].as_str().unwrap();
    let stored = scalar(
        &app,
        &format!(
            "SELECT COUNT(*) FROM identity_providers WHERE slug = 'acme' AND client_id = 'roster-client' AND LENGTH(client_secret_sealed) > {}",
            CLIENT_SECRET.len()
        ),
    )
    .await;
    assert_eq!(stored, 1);

    let duplicate = app
        .post("/api/v1/admin/identity-providers")
        .bearer(&admin.access_token)
        .json(oidc_provider("acme", &fake.issuer, "verified"))
        .send()
        .await;
    assert_eq!(duplicate.fields(409), ["slug"]);

    let list = app
        .get("/api/v1/admin/identity-providers")
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.json()["items"][0]["slug"], "acme");
    assert!(!list.text.contains(CLIENT_SECRET));
    let one = app
        .get(&format!("/api/v1/admin/identity-providers/{id}"))
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(one.json()["display_name"], "Sign-in acme");

    // The sign-in page shows a button per enabled provider, a plain link.
    let page = app.get("/login").send().await;
    assert!(
        page.text.contains("href=\"/login/acme\"")
            && page.text.contains("Sign in with Sign-in acme"),
        "{}",
        page.text
    );
    let hidden = app
        .patch(&format!("/api/v1/admin/identity-providers/{id}"))
        .bearer(&admin.access_token)
        .json(json!({"enabled": false, "display_name": "Acme ID", "client_secret": "rotated"}))
        .send()
        .await;
    assert_eq!(hidden.status, 200, "{}", hidden.text);
    assert_eq!(hidden.json()["enabled"], false);
    assert_eq!(hidden.json()["display_name"], "Acme ID");
    assert!(!hidden.text.contains("rotated"));
    let page = app.get("/login").send().await;
    assert!(!page.text.contains("/login/acme"), "{}", page.text);
    // Neither can a hidden provider be used by its address.
    let refused = app.get("/login/acme").send().await;
    assert_eq!(refused.status, 404);
    // What cannot change is refused by name.
    let fixed = app
        .patch(&format!("/api/v1/admin/identity-providers/{id}"))
        .bearer(&admin.access_token)
        .json(json!({"issuer": "https://elsewhere.example"}))
        .send()
        .await;
    assert_eq!(fixed.status, 422, "{}", fixed.text);

    let user = app.user().await;
    let forbidden = app
        .get("/api/v1/admin/identity-providers")
        .bearer(&user.access_token)
        .send()
        .await;
    assert_eq!(forbidden.status, 403);

    let removed = app
        .delete(&format!("/api/v1/admin/identity-providers/{id}"))
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    let gone = app
        .get(&format!("/api/v1/admin/identity-providers/{id}"))
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(gone.status, 404);
    let audited = scalar(
        &app,
        "SELECT COUNT(*) FROM audit_events WHERE event IN ('identity_provider_added', 'identity_provider_changed', 'identity_provider_removed')",
    )
    .await;
    assert_eq!(audited, 3);
    let leaked = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM audit_events WHERE CAST(detail AS TEXT) LIKE '%{CLIENT_SECRET}%' OR CAST(detail AS TEXT) LIKE '%rotated%'"),
    )
    .await;
    assert_eq!(leaked, 0);
}

async fn provider_input_is_checked_naming_every_failing_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let post = |body| {
        app.post("/api/v1/admin/identity-providers")
            .bearer(&admin.access_token)
            .json(body)
    };
    let bad = post(json!({
        "slug": "Not a slug",
        "kind": "saml",
        "display_name": "",
        "client_id": "",
        "scopes": ["email", "two words"],
        "trust_email": "always",
    }))
    .send()
    .await;
    let mut fields = bad.fields(422);
    fields.sort();
    fields.dedup();
    assert_eq!(
        fields,
        [
            "client_id",
            "client_secret",
            "display_name",
            "kind",
            "scopes",
            "scopes[1]",
            "slug",
            "trust_email"
        ]
    );
    // An issuer must be https except on a loopback host.
    let plain = post(oidc_provider("plain", "http://id.example.com", "verified"))
        .send()
        .await;
    assert_eq!(plain.fields(422), ["issuer"]);
    // Kind oidc needs an issuer whose discovery document can be read.
    let unknown = post(json!({
        "slug": "nowhere", "kind": "oidc", "display_name": "Nowhere",
        "client_id": "a", "client_secret": "b",
    }))
    .send()
    .await;
    assert_eq!(unknown.fields(422), ["issuer"]);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        post(oidc_provider(
            "closed",
            &format!("http://127.0.0.1:{port}"),
            "verified",
        ))
        .send()
        .await
    };
    assert_eq!(closed.fields(422), ["issuer"]);
    assert!(closed.text.contains("discovery"), "{}", closed.text);
    // Reserved names and unknown fields.
    let reserved = post(json!({
        "slug": "link", "kind": "google", "display_name": "Google",
        "client_id": "a", "client_secret": "b",
    }))
    .send()
    .await;
    assert_eq!(reserved.fields(422), ["slug"]);
    let unknown_field = post(json!({
        "slug": "g", "kind": "google", "display_name": "Google",
        "client_id": "a", "client_secret": "b", "enabled": true,
    }))
    .send()
    .await;
    assert_eq!(unknown_field.status, 422, "{}", unknown_field.text);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM identity_providers").await,
        0
    );
}

async fn presets_fill_in_endpoints_and_trust(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let google = add_provider(
        &app,
        &admin,
        json!({"slug": "google", "kind": "google", "display_name": "Google",
               "client_id": "a.apps.googleusercontent.com", "client_secret": "b"}),
    )
    .await;
    assert_eq!(google["issuer"], "https://accounts.google.com");
    assert_eq!(google["trust_email"], "authoritative");
    assert_eq!(
        google["token_endpoint"],
        "https://oauth2.googleapis.com/token"
    );
    let gitlab = add_provider(
        &app,
        &admin,
        json!({"slug": "gitlab", "kind": "gitlab", "display_name": "GitLab",
               "client_id": "a", "client_secret": "b", "allow_signup": false}),
    )
    .await;
    assert_eq!(gitlab["trust_email"], "verified");
    assert_eq!(gitlab["allow_signup"], false);
    assert_eq!(
        gitlab["jwks_uri"],
        "https://gitlab.com/oauth/discovery/keys"
    );
    let github = add_provider(
        &app,
        &admin,
        json!({"slug": "github", "kind": "github", "display_name": "GitHub",
               "client_id": "a", "client_secret": "b"}),
    )
    .await;
    assert_eq!(github["issuer"], "https://github.com");
    assert_eq!(github["userinfo_endpoint"], "https://api.github.com/user");
    assert_eq!(github["jwks_uri"], serde_json::Value::Null);
    // Apple takes its key and the ids that name it instead of a client secret.
    for (kind, fields) in [
        ("apple", &["client_secret", "key_id", "team_id"][..]),
        ("microsoft", &["issuer"][..]),
    ] {
        let refused = app
            .post("/api/v1/admin/identity-providers")
            .bearer(&admin.access_token)
            .json(json!({"slug": kind, "kind": kind, "display_name": kind,
                         "client_id": "a", "client_secret": "b"}))
            .send()
            .await;
        assert_eq!(refused.fields(422), fields, "{kind}: {}", refused.text);
    }
}
