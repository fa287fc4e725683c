//! The client registry's admin API: secrets shown once and stored hashed, every failing
//! field named, deletion kills the client's tokens, rotation voids the old secret.

use serde_json::json;

use super::{REDIRECT_URI, basic, confidential_client, introspect, sign_in_through};
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(
    an_admin_registers_reads_changes_and_deletes_a_client,
    the_secret_is_shown_once_stored_hashed_and_rotates,
    bad_registrations_name_every_field,
    only_administrators_manage_clients,
);

async fn an_admin_registers_reads_changes_and_deletes_a_client(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let id = client["client_id"].as_str().unwrap();
    assert_eq!(client["type"], "confidential");
    assert_eq!(client["redirect_uris"], json!([REDIRECT_URI]));
    assert_eq!(
        client["scopes"],
        json!(["openid", "profile", "email", "offline_access"])
    );
    assert_eq!(
        client["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(client["id_token_signed_response_alg"], "RS256");

    let read = app
        .get(&format!("/api/v1/admin/clients/{id}"))
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(read.status, 200);
    assert!(
        read.json().get("client_secret").is_none(),
        "never shown again"
    );
    let listed = app
        .get("/api/v1/admin/clients")
        .bearer(&admin.access_token)
        .send()
        .await
        .json();
    assert_eq!(listed["items"][0]["client_id"], id, "{listed}");

    let changed = app
        .patch(&format!("/api/v1/admin/clients/{id}"))
        .bearer(&admin.access_token)
        .json(json!({"name": "Study Spots 2", "scopes": ["openid", "spots:read"]}))
        .send()
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json()["name"], "Study Spots 2");
    assert_eq!(
        changed.json()["redirect_uris"],
        json!([REDIRECT_URI]),
        "unchanged"
    );

    let user = app.user().await;
    let tokens = sign_in_through(&app, &client, &user, "openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/oauth2/userinfo")
            .bearer(access)
            .send()
            .await
            .status,
        200
    );
    let deleted = app
        .delete(&format!("/api/v1/admin/clients/{id}"))
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(
        app.get("/oauth2/userinfo")
            .bearer(access)
            .send()
            .await
            .status,
        401,
        "its tokens die"
    );
    let gone = app
        .get(&format!("/api/v1/admin/clients/{id}"))
        .bearer(&admin.access_token)
        .send()
        .await;
    gone.problem(404);
}

async fn the_secret_is_shown_once_stored_hashed_and_rotates(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    assert!(secret.len() >= 43, "256 bits");
    // Only a hash is kept: 32 bytes, not the secret's text.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oauth_clients WHERE secret_hash IS NOT NULL")
            .await,
        1
    );

    let rotated = app
        .post(&format!("/api/v1/admin/clients/{id}/secret"))
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let new_secret = rotated.json()["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    let old = app
        .post("/oauth2/introspect")
        .header("authorization", &basic(id, secret))
        .form(&[("token", "x")])
        .send()
        .await;
    assert_eq!(old.status, 401, "the old secret stops working");
    let mut with_new = client.clone();
    with_new["client_secret"] = json!(new_secret);
    assert_eq!(
        introspect(&app, &with_new, "x").await,
        json!({"active": false})
    );

    let public = super::register_client(
        &app,
        &admin,
        json!({"name": "Phone", "type": "public", "redirect_uris": ["com.example.app:/cb"]}),
    )
    .await;
    let refused = app
        .post(&format!(
            "/api/v1/admin/clients/{}/secret",
            public["client_id"].as_str().unwrap()
        ))
        .bearer(&admin.access_token)
        .send()
        .await;
    refused.problem(409);
}

async fn bad_registrations_name_every_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let response = app
        .post("/api/v1/admin/clients")
        .bearer(&admin.access_token)
        .json(json!({"name": "", "type": "secret", "redirect_uris": ["https://app.example/cb#frag", "http://evil.example/cb"],
                     "grant_types": ["implicit"], "id_token_signed_response_alg": "none"}))
        .send()
        .await;
    let fields = response.failing_fields();
    for field in [
        "name",
        "type",
        "redirect_uris[0]",
        "redirect_uris[1]",
        "grant_types[0]",
        "id_token_signed_response_alg",
    ] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
    let unknown = app
        .post("/api/v1/admin/clients")
        .bearer(&admin.access_token)
        .json(json!({"name": "x", "type": "public", "redirect_uris": [REDIRECT_URI], "colour": "red"}))
        .send()
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.text);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oauth_clients").await,
        0,
        "nothing half-written"
    );
}

async fn only_administrators_manage_clients(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let response = app
        .post("/api/v1/admin/clients")
        .bearer(&user.access_token)
        .json(json!({"name": "x", "type": "public", "redirect_uris": [REDIRECT_URI]}))
        .send()
        .await;
    response.problem(403);
    app.get("/api/v1/admin/clients").send().await.problem(401);
}
