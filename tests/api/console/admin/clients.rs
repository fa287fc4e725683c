//! The OpenID clients on the admin pages: registered with the secret shown once (and
//! working at the token endpoint), rotated, edited and deleted, as the admin API does.

use serde_json::json;

use super::{api_get, escaped};
use crate::console::{signed_in, submit};
use crate::helpers::{Backend, TestApp, TestResponse};
use crate::oidc::{Browser, basic};
use crate::on_both_engines;

on_both_engines!(
    a_client_created_on_the_page_shows_its_secret_once_and_it_works,
    editing_and_deleting_a_client_on_the_page,
);

/// Registers a client on the page; the answer page.
async fn register_on_page(browser: &mut Browser<'_>, fields: &[(&str, &str)]) -> TestResponse {
    let page = browser.get("/admin/clients").await;
    submit(browser, &page, "/admin/clients", fields).await
}

/// The text of `<code id="ID">...</code>` in a page.
fn code(page: &TestResponse, id: &str) -> Option<String> {
    let marker = format!("<code id=\"{id}\">");
    let start = page.text.find(&marker)? + marker.len();
    let end = page.text[start..].find("</code>")? + start;
    Some(page.text[start..end].to_owned())
}

pub(super) async fn service_token(app: &TestApp, id: &str, secret: &str) -> TestResponse {
    app.post("/oauth2/token")
        .header("authorization", &basic(id, secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
}

async fn a_client_created_on_the_page_shows_its_secret_once_and_it_works(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await;

    // Mistakes are named next to their fields, with the input kept; nothing registered.
    let refused = register_on_page(
        &mut browser,
        &[
            ("name", "Billing"),
            ("type", "public"),
            ("redirect_uris", "https://ok.example/cb\nnot a uri"),
            ("grant_client_credentials", "on"),
            ("scopes", "orders:read"),
        ],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("id=\"redirect_uris-error\""));
    assert!(refused.text.contains("entry 2:"));
    assert!(refused.text.contains("id=\"grant_types-error\""));
    assert!(
        refused
            .text
            .contains(&escaped("https://ok.example/cb\nnot a uri</textarea>"))
    );
    assert_eq!(
        api_get(&app, &admin, "/api/v1/admin/clients").await["items"],
        json!([])
    );

    let created = register_on_page(
        &mut browser,
        &[
            ("name", "Billing"),
            ("type", "confidential"),
            ("redirect_uris", ""),
            ("grant_client_credentials", "on"),
            ("scopes", "orders:read orders:write"),
            ("id_token_signed_response_alg", "RS256"),
        ],
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let id = code(&created, "client-id").expect("the client id");
    let secret = code(&created, "client-secret").expect("the secret, once");
    let token = service_token(&app, &id, &secret).await;
    assert_eq!(token.status, 200, "{}", token.text);
    assert_eq!(token.json()["scope"], "orders:read orders:write");

    // Never again: not on the list, not on its page.
    let client = api_get(&app, &admin, &format!("/api/v1/admin/clients/{id}")).await;
    assert_eq!(client["grant_types"], json!(["client_credentials"]));
    for path in ["/admin/clients".to_owned(), format!("/admin/clients/{id}")] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.text.contains(&id));
        assert!(!page.text.contains(&secret), "{path}");
    }
    let events = api_get(&app, &admin, "/api/v1/admin/audit?event=client_created").await;
    assert_eq!(events["items"][0]["actor_id"], admin.user_id.as_str());
    assert!(!events.to_string().contains(&secret));

    // A new secret, once; the old one stops working.
    let page = browser.get(&format!("/admin/clients/{id}")).await;
    let rotate = format!("/admin/clients/{id}/secret");
    assert_eq!(submit(&mut browser, &page, &rotate, &[]).await.status, 422);
    assert_eq!(service_token(&app, &id, &secret).await.status, 200);
    let rotated = submit(&mut browser, &page, &rotate, &[("confirm", "yes")]).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_secret = code(&rotated, "client-secret").expect("the new secret");
    assert_ne!(new_secret, secret);
    assert_eq!(service_token(&app, &id, &secret).await.status, 401);
    assert_eq!(service_token(&app, &id, &new_secret).await.status, 200);
}

async fn editing_and_deleting_a_client_on_the_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await;
    let created = register_on_page(
        &mut browser,
        &[
            ("name", "Study Spots"),
            ("type", "confidential"),
            ("redirect_uris", "https://app.example/callback"),
            ("grant_authorization_code", "on"),
            ("grant_refresh_token", "on"),
            ("scopes", "openid profile"),
        ],
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = code(&created, "client-id").unwrap();
    let path = format!("/admin/clients/{id}");

    let page = browser.get(&path).await;
    assert!(
        page.text
            .contains(&escaped("https://app.example/callback</textarea>"))
    );
    let saved = submit(
        &mut browser,
        &page,
        &path,
        &[
            ("name", "Study Spots 2"),
            ("type", "confidential"),
            (
                "redirect_uris",
                "https://app.example/callback\nhttps://app.example/other",
            ),
            ("post_logout_redirect_uris", "https://app.example/bye"),
            ("grant_authorization_code", "on"),
            ("scopes", "openid profile email"),
            ("first_party", "on"),
            ("id_token_signed_response_alg", "EdDSA"),
        ],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    let shown = browser.follow(&saved).await;
    assert!(
        shown
            .text
            .contains("The application&#39;s settings were saved.")
    );
    let client = api_get(&app, &admin, &format!("/api/v1/admin/clients/{id}")).await;
    assert_eq!(client["name"], "Study Spots 2");
    assert_eq!(
        client["redirect_uris"],
        json!(["https://app.example/callback", "https://app.example/other"])
    );
    assert_eq!(
        client["post_logout_redirect_uris"],
        json!(["https://app.example/bye"])
    );
    assert_eq!(client["grant_types"], json!(["authorization_code"]));
    assert_eq!(client["scopes"], json!(["openid", "profile", "email"]));
    assert_eq!(
        (
            client["first_party"].as_bool(),
            client["id_token_signed_response_alg"].as_str()
        ),
        (Some(true), Some("EdDSA"))
    );

    let page = browser.get(&path).await;
    let unsure = submit(&mut browser, &page, &format!("{path}/delete"), &[]).await;
    assert_eq!(unsure.status, 422);
    assert!(unsure.text.contains("id=\"delete_confirm-error\""));
    let deleted = submit(
        &mut browser,
        &page,
        &format!("{path}/delete"),
        &[("confirm", "yes")],
    )
    .await;
    assert_eq!(
        deleted.header("location"),
        Some("/admin/clients?done=client-deleted")
    );
    let list = browser.follow(&deleted).await;
    assert!(list.text.contains("The application was deleted"));
    assert!(!list.text.contains(&id));
    assert_eq!(
        app.get(&format!("/api/v1/admin/clients/{id}"))
            .bearer(&admin.access_token)
            .send()
            .await
            .status,
        404
    );
    assert_eq!(browser.get(&path).await.status, 404);
    let events = api_get(&app, &admin, "/api/v1/admin/audit?event=client_deleted").await;
    assert_eq!(events["items"][0]["actor_id"], admin.user_id.as_str());
    let events = api_get(&app, &admin, "/api/v1/admin/audit?event=client_updated").await;
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
}
