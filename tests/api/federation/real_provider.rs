//! Against a real OpenID provider nobody here wrote (`oidc-provider-mock`, authlib):
//! sign-up, signing in again, and a provider sign-in in the middle of Roster's own
//! OpenID flow, so that every application signing in through Roster gets it.

use serde_json::json;

use super::mock::MockProvider;
use super::{PUBLIC_URL, callback_path, depart, scalar, text};
use crate::helpers::{Backend, TestApp};
use crate::oidc::{
    Browser, REDIRECT_URI, VERIFIER, authorize_path, confidential_client, location_query, redeem,
};
use crate::on_both_engines;

on_both_engines!(
    a_real_provider_signs_a_new_user_up_and_then_in_again,
    a_real_provider_signs_in_inside_rosters_own_openid_flow,
);

async fn with_mock(app: &TestApp) -> MockProvider {
    let admin = app.admin().await;
    let mock = MockProvider::added_to(app, &admin).await;
    mock.set_user(
        "alice-sub",
        json!({
            "email": "Alice@Example.com",
            "email_verified": true,
            "preferred_username": "alice",
            "name": "Alice Liddell",
        }),
    )
    .await;
    mock
}

async fn a_real_provider_signs_a_new_user_up_and_then_in_again(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mock = with_mock(&app).await;
    for round in 1..=2 {
        let mut browser = Browser::new(&app);
        let authorize = depart(&mut browser, "mock", None).await;
        assert!(authorize.starts_with(&mock.issuer), "{authorize}");
        let back = mock.sign_in(&authorize, "alice-sub").await;
        assert!(
            back.starts_with(&format!("{PUBLIC_URL}/login/mock/callback?")),
            "{back}"
        );
        let signed_in = browser.get(&callback_path(&back)).await;
        assert_eq!(signed_in.status, 303, "round {round}: {}", signed_in.text);
        assert_eq!(signed_in.header("location"), Some("/account"));
        assert!(browser.has_cookie("roster"), "round {round}");
    }
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM users WHERE username = 'alice' AND email = 'alice@example.com' AND email_verified AND full_name = 'Alice Liddell'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM user_identities").await,
        1
    );
    assert_eq!(
        text(&app, "SELECT subject FROM user_identities").await,
        "alice-sub"
    );
    assert_eq!(
        text(&app, "SELECT issuer FROM user_identities").await,
        mock.issuer
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM sessions WHERE amr = 'fed'").await,
        2
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM audit_events a JOIN users u ON u.id = a.user_id WHERE a.event = 'register' AND u.username = 'alice'"
        )
        .await,
        1
    );
}

async fn a_real_provider_signs_in_inside_rosters_own_openid_flow(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mock = with_mock(&app).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let client_id = client["client_id"].as_str().unwrap();
    let mut browser = Browser::new(&app);
    let request = authorize_path(client_id, "openid email", &[]);
    let to_login = browser.get(&request).await;
    let page = browser.follow(&to_login).await;
    assert_eq!(page.status, 200, "{}", page.text);
    // The button carries the authorization request along, and needs no script.
    let start = page
        .text
        .find("href=\"/login/mock?return_to=")
        .expect("the button");
    let href = &page.text[start + "href=\"".len()..];
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
    let leave = browser.get(&href).await;
    assert_eq!(leave.status, 303, "{}", leave.text);
    let back = mock
        .sign_in(leave.header("location").unwrap(), "alice-sub")
        .await;
    let signed_in = browser.get(&callback_path(&back)).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    assert_eq!(signed_in.header("location"), Some(request.as_str()));
    let to_client = browser.follow(&signed_in).await;
    assert_eq!(to_client.status, 303, "{}", to_client.text);
    let location = to_client.header("location").unwrap();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    let code = &location_query(&to_client)["code"];
    let tokens = redeem(&app, &client, code, VERIFIER).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let id_token = tokens.json()["id_token"].as_str().unwrap().to_owned();
    let claims = crate::helpers::claims(&id_token);
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["amr"], json!(["fed"]));
}
