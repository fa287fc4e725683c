//! No admin form changes anything when posted without its CSRF token.

use serde_json::json;

use super::api_get;
use super::clients::service_token;
use crate::console::signed_in;
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(posts_without_the_form_token_are_refused_and_change_nothing);

async fn posts_without_the_form_token_are_refused_and_change_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &admin).await;
    let service = crate::oidc::register_client(
        &app,
        &admin,
        json!({"name": "Billing", "type": "confidential", "redirect_uris": [],
               "grant_types": ["client_credentials"], "scopes": ["orders:read"]}),
    )
    .await;
    let id = service["client_id"].as_str().unwrap();
    let account = format!("/admin/users/{}", user.user_id);
    let client = format!("/admin/clients/{id}");
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            account.clone(),
            vec![
                ("role", "admin"),
                ("tier", "premium"),
                ("is_active", "false"),
                ("email_verified", "true"),
                ("confirm", "yes"),
            ],
        ),
        (
            format!("{account}/revoke-sessions"),
            vec![("confirm", "yes")],
        ),
        (format!("{account}/mfa/reset"), vec![("confirm", "yes")]),
        (
            "/admin/clients".to_owned(),
            vec![
                ("name", "Forged"),
                ("type", "public"),
                ("redirect_uris", "https://evil.example/cb"),
                ("grant_authorization_code", "on"),
            ],
        ),
        (
            client.clone(),
            vec![
                ("name", "Renamed"),
                ("type", "confidential"),
                ("grant_client_credentials", "on"),
                ("scopes", "orders:read"),
            ],
        ),
        (format!("{client}/secret"), vec![("confirm", "yes")]),
        (format!("{client}/delete"), vec![("confirm", "yes")]),
    ];
    for (path, fields) in &posts {
        for token in [None, Some("forged")] {
            let mut form = fields.clone();
            if let Some(token) = token {
                form.push(("csrf_token", token));
            }
            let response = browser.post(path, &form).await;
            assert_eq!(response.status, 403, "{path} {token:?}: {}", response.text);
        }
    }
    let seen = api_get(&app, &admin, &format!("/api/v1/users/{}", user.user_id)).await;
    assert_eq!(
        (
            seen["role"].as_str(),
            seen["tier"].as_str(),
            seen["is_active"].as_bool()
        ),
        (Some("user"), Some("basic"), Some(true))
    );
    assert_eq!(
        app.get("/api/v1/users/me")
            .bearer(&user.access_token)
            .send()
            .await
            .status,
        200
    );
    let clients = api_get(&app, &admin, "/api/v1/admin/clients").await;
    assert_eq!(clients["items"].as_array().unwrap().len(), 1);
    assert_eq!(clients["items"][0]["name"], "Billing");
    let secret = service["client_secret"].as_str().unwrap();
    assert_eq!(service_token(&app, id, secret).await.status, 200);
    let events = api_get(
        &app,
        &admin,
        &format!("/api/v1/admin/audit?user_id={}", user.user_id),
    )
    .await;
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor_id"] != admin.user_id.as_str())
    );
}
