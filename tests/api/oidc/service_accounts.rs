//! Service accounts: a confidential client with `client_credentials` gets a token of
//! its own (`sub` = the client id) for the API scopes an administrator gave it.

use serde_json::json;

use super::{basic, introspect, register_client};
use crate::helpers::{Backend, TestApp, claims};
use crate::on_both_engines;

on_both_engines!(
    a_service_gets_a_token_for_its_api_scopes,
    client_credentials_needs_a_confidential_client_that_may_use_it,
    a_deleted_services_tokens_are_inactive_at_introspection,
);

async fn a_deleted_services_tokens_are_inactive_at_introspection(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let service = register_client(
        &app,
        &admin,
        json!({"name": "Billing", "type": "confidential", "redirect_uris": [],
               "grant_types": ["client_credentials"], "scopes": ["orders:read"]}),
    )
    .await;
    let auditor = register_client(
        &app,
        &admin,
        json!({"name": "Auditor", "type": "confidential", "redirect_uris": [],
               "grant_types": ["client_credentials"], "scopes": ["orders:read"]}),
    )
    .await;
    let id = service["client_id"].as_str().unwrap();
    let issued = app
        .post("/oauth2/token")
        .header(
            "authorization",
            &basic(id, service["client_secret"].as_str().unwrap()),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .json();
    let access = issued["access_token"].as_str().unwrap();
    assert_eq!(introspect(&app, &auditor, access).await["active"], true);

    let deleted = app
        .delete(&format!("/api/v1/admin/clients/{id}"))
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(
        introspect(&app, &auditor, access).await,
        json!({"active": false})
    );
}

async fn a_service_gets_a_token_for_its_api_scopes(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let service = register_client(
        &app,
        &admin,
        json!({"name": "Billing", "type": "confidential", "redirect_uris": [],
               "grant_types": ["client_credentials"], "scopes": ["orders:read", "orders:write"]}),
    )
    .await;
    let id = service["client_id"].as_str().unwrap();
    let secret = service["client_secret"].as_str().unwrap();

    // client_secret_post this time.
    let response = app
        .post("/oauth2/token")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", "orders:read"),
        ])
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let tokens = response.json();
    assert!(tokens.get("refresh_token").is_none() && tokens.get("id_token").is_none());
    assert_eq!(tokens["scope"], "orders:read");
    let access = tokens["access_token"].as_str().unwrap();
    let token_claims = claims(access);
    assert_eq!(token_claims["sub"], id);
    assert_eq!(token_claims["scope"], "orders:read");

    let seen = introspect(&app, &service, access).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["sub"], id);
    // Not a user: the account API and userinfo refuse it.
    assert_eq!(
        app.get("/api/v1/users/me")
            .bearer(access)
            .send()
            .await
            .status,
        401
    );
    assert_eq!(
        app.get("/oauth2/userinfo")
            .bearer(access)
            .send()
            .await
            .status,
        401
    );

    // All its scopes when none is asked for; never one it was not given.
    let all = app
        .post("/oauth2/token")
        .header("authorization", &basic(id, secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .json();
    assert_eq!(all["scope"], "orders:read orders:write");
    let more = app
        .post("/oauth2/token")
        .header("authorization", &basic(id, secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "users:delete"),
        ])
        .send()
        .await;
    assert_eq!(more.status, 400);
    assert_eq!(more.json()["error"], "invalid_scope");

    // Revoked, it is dead for introspection at once.
    let revoked = app
        .post("/oauth2/revoke")
        .header("authorization", &basic(id, secret))
        .form(&[("token", access)])
        .send()
        .await;
    assert_eq!(revoked.status, 200);
    assert_eq!(
        introspect(&app, &service, access).await,
        json!({"active": false})
    );
}

async fn client_credentials_needs_a_confidential_client_that_may_use_it(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let web = register_client(
        &app,
        &admin,
        json!({"name": "Web", "type": "confidential", "redirect_uris": ["https://app.example/callback"]}),
    )
    .await;
    let response = app
        .post("/oauth2/token")
        .header(
            "authorization",
            &basic(
                web["client_id"].as_str().unwrap(),
                web["client_secret"].as_str().unwrap(),
            ),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(response.json()["error"], "unauthorized_client");
    let unknown = app
        .post("/oauth2/token")
        .form(&[("grant_type", "password"), ("client_id", "x")])
        .send()
        .await;
    assert!(
        matches!(unknown.status.as_u16(), 400 | 401),
        "{}",
        unknown.text
    );
    assert!(matches!(
        unknown.json()["error"].as_str(),
        Some("unsupported_grant_type" | "invalid_client")
    ));
    // A public client may not even register for it (it has no secret to prove).
    let refused = app
        .post("/api/v1/admin/clients")
        .bearer(&admin.access_token)
        .json(json!({"name": "CLI", "type": "public", "redirect_uris": ["http://127.0.0.1/cb"], "grant_types": ["client_credentials"]}))
        .send()
        .await;
    assert_eq!(refused.fields(422), vec!["grant_types".to_owned()]);
}
