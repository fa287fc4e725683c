//! The owner's identities: listed with their provider, address there, when linked and
//! last used; removed (audited and mailed), except the account's last way to sign in.

use serde_json::json;

use super::{scalar, with_fake};
use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::oidc::Browser;
use crate::on_both_engines;

on_both_engines!(owners_list_and_remove_identities_but_never_the_last_way_to_sign_in);

async fn owners_list_and_remove_identities_but_never_the_last_way_to_sign_in(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let fake = with_fake(&app, &admin, "authoritative").await;

    // jane has a password; her verified address links the authoritative identity.
    app.register("jane", DEFAULT_PASSWORD).await;
    app.exec("UPDATE users SET email_verified = TRUE WHERE username = 'jane'")
        .await;
    let jane = app.login("jane", DEFAULT_PASSWORD).await;
    let mut browser = Browser::new(&app);
    let signed_in = fake
        .sign_in(&mut browser, "fake", "jane-1", "jane@example.com")
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);

    // ada's account was made through the provider: the identity is all she has.
    let mut ada_browser = Browser::new(&app);
    let signed_in = fake
        .sign_in(&mut ada_browser, "fake", "ada-1", "ada@example.com")
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    // An API token of the session her browser sign-in started (as a login would give).
    let ada_token = session_token(&app, "ada@example.com").await;

    let listed = app
        .get("/api/v1/users/me/identities")
        .bearer(&jane.access_token)
        .send()
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let items = listed.json()["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
    let identity = &items[0];
    assert_eq!(identity["provider"], "fake");
    assert_eq!(identity["provider_name"], "Sign-in fake");
    assert_eq!(identity["issuer"], fake.issuer);
    assert_eq!(identity["email"], "jane@example.com");
    assert!(identity["linked_at"].is_string() && identity["last_used_at"].is_string());
    assert!(identity.get("subject").is_none(), "{identity}");
    assert_eq!(listed.json()["next_cursor"], json!(null));
    let jane_identity = identity["id"].as_str().unwrap().to_owned();

    let ada_listed = app
        .get("/api/v1/users/me/identities")
        .bearer(&ada_token)
        .send()
        .await;
    assert_eq!(ada_listed.status, 200, "{}", ada_listed.text);
    let ada_identity = ada_listed.json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Nobody removes another's identity; ada cannot remove her last way to sign in.
    let foreign = app
        .delete(&format!("/api/v1/users/me/identities/{ada_identity}"))
        .bearer(&jane.access_token)
        .send()
        .await;
    assert_eq!(foreign.status, 404, "{}", foreign.text);
    let last = app
        .delete(&format!("/api/v1/users/me/identities/{ada_identity}"))
        .bearer(&ada_token)
        .send()
        .await;
    assert_eq!(last.fields(409), ["identity_id"]);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM user_identities").await,
        2
    );

    // jane keeps her password, so her identity may go.
    let removed = app
        .delete(&format!("/api/v1/users/me/identities/{jane_identity}"))
        .bearer(&jane.access_token)
        .send()
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    let listed = app
        .get("/api/v1/users/me/identities")
        .bearer(&jane.access_token)
        .send()
        .await;
    assert_eq!(listed.json()["items"], json!([]));
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM audit_events a JOIN users u ON u.id = a.user_id WHERE a.event = 'identity_unlinked' AND u.username = 'jane'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'identity_unlinked' AND recipient = 'jane@example.com'"
        )
        .await,
        1
    );
    let unauthenticated = app.get("/api/v1/users/me/identities").send().await;
    assert_eq!(unauthenticated.status, 401);
}

/// An access token for the live session of the account with `email`.
async fn session_token(app: &TestApp, email: &str) -> String {
    let user_id = roster::accounts::model::find_login_candidate(&app.state.db, email)
        .await
        .unwrap()
        .expect("the account")
        .user
        .id;
    let user = roster::accounts::model::find_user(&app.state.db, user_id)
        .await
        .unwrap()
        .expect("the account");
    let sessions =
        roster::auth::sessions::active_sessions(&app.state.db, user.id, app.state.clock.now())
            .await
            .unwrap();
    let session = sessions.first().expect("a session");
    let authentication = roster::tokens::access::Authentication {
        time: app.state.clock.now(),
        methods: "fed".to_owned(),
    };
    app.state
        .tokens
        .issue(&user, session.id, &authentication, app.state.clock.now())
        .unwrap()
}
