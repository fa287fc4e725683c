//! The third review's findings against the OpenID provider, each a regression test: a
//! consent form that could be made to grant, application tokens with Roster's audience,
//! `prompt=none` answering for whoever is signed in, a `GET` sign-out whose tokens lived
//! on, another client's token revoked with a `200`, unknown scopes refused, discovery
//! promising `select_account`, and first-party applications missing from the list of
//! applications holding a user's tokens.

use serde_json::Value;

use super::{
    Browser, REDIRECT_URI, VERIFIER, authorize_path, basic, confidential_client, hidden_fields,
    location_query, redeem, register_client, sign_in_through,
};
use crate::helpers::{Backend, Session, TestApp, TestResponse, claims};
use crate::on_both_engines;

on_both_engines!(
    a_deny_stays_a_deny_whatever_the_authorization_url_carries,
    a_consent_id_is_single_use_bound_to_its_browser_and_alone_in_its_form,
    third_party_tokens_carry_their_own_audience_and_first_party_tokens_roster_s,
    prompt_none_answers_only_for_the_user_the_hint_names,
    a_get_sign_out_ends_the_application_s_tokens_on_the_next_request,
    revoking_another_client_s_token_is_unauthorized_client,
    scopes_roster_does_not_offer_are_ignored_and_the_granted_scope_returned,
    discovery_lists_only_prompt_values_that_work,
    the_applications_list_names_first_party_applications_holding_tokens,
);

/// Signs `user` in on `browser` through `path` up to the consent page.
async fn consent_page(browser: &mut Browser<'_>, path: &str, user: &Session) -> TestResponse {
    let first = browser.get(path).await;
    let page = browser.follow(&first).await;
    let signed_in = browser
        .submit_login(&page, &user.username, &user.password)
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    let consent = browser.follow_local(&signed_in).await;
    assert_eq!(consent.status, 200, "{}", consent.text);
    assert!(
        consent.text.contains("action=\"/consent\""),
        "{}",
        consent.text
    );
    consent
}

fn client_id(client: &Value) -> &str {
    client["client_id"].as_str().unwrap()
}

async fn a_deny_stays_a_deny_whatever_the_authorization_url_carries(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, false).await;
    let user = app.user().await;
    let mut browser = Browser::new(&app);
    let path = authorize_path(
        client_id(&client),
        "openid offline_access",
        &[("decision", "allow"), ("consent_id", "forged")],
    );
    let consent = consent_page(&mut browser, &path, &user).await;
    let denied = browser.submit_consent(&consent, "deny").await;
    assert_eq!(denied.status, 303, "{}", denied.text);
    let query = location_query(&denied);
    assert_eq!(query["error"], "access_denied");
    assert!(!query.contains_key("code"));
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_grants").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_codes").await, 0);
}

async fn a_consent_id_is_single_use_bound_to_its_browser_and_alone_in_its_form(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, false).await;
    let user = app.user().await;
    let mut browser = Browser::new(&app);
    let path = authorize_path(client_id(&client), "openid email", &[]);
    let consent = consent_page(&mut browser, &path, &user).await;
    let fields = hidden_fields(&consent.text, "/consent");
    let names: Vec<&str> = fields.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["csrf_token", "consent_id"], "only the id travels");
    let value = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let (csrf, id) = (value("csrf_token"), value("consent_id"));

    // A repeated field, or one more, is refused and spends nothing.
    let twice = [
        ("csrf_token", csrf.as_str()),
        ("consent_id", id.as_str()),
        ("decision", "deny"),
        ("decision", "allow"),
    ];
    let extra = [
        ("csrf_token", csrf.as_str()),
        ("consent_id", id.as_str()),
        ("decision", "allow"),
        ("scope", "openid email"),
    ];
    for form in [&twice[..], &extra[..]] {
        let refused = browser.post("/consent", form).await;
        assert_eq!(refused.status, 400, "{}", refused.text);
        assert!(refused.header("location").is_none());
    }

    // Another browser (another user's session) cannot use this id.
    let other = app.user().await;
    let mut stranger = Browser::new(&app);
    let theirs = consent_page(&mut stranger, &path, &other).await;
    let their_csrf = super::hidden(&theirs.text, "csrf_token").unwrap();
    let stolen = stranger
        .post(
            "/consent",
            &[
                ("csrf_token", &their_csrf),
                ("consent_id", &id),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(stolen.status, 400, "{}", stolen.text);
    assert!(stolen.header("location").is_none());

    // Its own browser allows once; the same form again is spent.
    let allowed = browser.submit_consent(&consent, "allow").await;
    assert_eq!(allowed.status, 303, "{}", allowed.text);
    assert!(location_query(&allowed).contains_key("code"));
    let again = browser.submit_consent(&consent, "allow").await;
    assert_eq!(again.status, 400, "{}", again.text);
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_codes").await, 1);
}

async fn third_party_tokens_carry_their_own_audience_and_first_party_tokens_roster_s(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let roster_audience = claims(&admin.access_token)["aud"].clone();
    let user = app.user().await;

    let third = confidential_client(&app, &admin, false).await;
    let tokens = sign_in_through(&app, &third, &user, "openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["aud"], client_id(&third));
    assert_ne!(claims(access)["aud"], roster_audience);
    // Roster's own endpoints made for application tokens take it.
    let info = app.get("/oauth2/userinfo").bearer(access).send().await;
    assert_eq!(info.status, 200, "{}", info.text);
    assert_eq!(
        super::introspect(&app, &third, access).await["active"],
        true
    );
    // The account API does not.
    let me = app.get("/api/v1/auth/me").bearer(access).send().await;
    assert_eq!(me.status, 401);

    let first = confidential_client(&app, &admin, true).await;
    let tokens = sign_in_through(&app, &first, &user, "openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["aud"], roster_audience);
    assert_eq!(claims(access)["client_id"], client_id(&first));

    // client_credentials: the same rule.
    let service = register_client(
        &app,
        &admin,
        serde_json::json!({
            "name": "Reports", "type": "confidential", "redirect_uris": [],
            "grant_types": ["client_credentials"], "scopes": ["reports:read"],
        }),
    )
    .await;
    let response = app
        .post("/oauth2/token")
        .header(
            "authorization",
            &basic(
                client_id(&service),
                service["client_secret"].as_str().unwrap(),
            ),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let access = response.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&access)["aud"], client_id(&service));
    assert_eq!(
        super::introspect(&app, &service, &access).await["active"],
        true
    );
}

async fn prompt_none_answers_only_for_the_user_the_hint_names(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let (alice, bob) = (app.user().await, app.user().await);
    let alice_hint = sign_in_through(&app, &client, &alice, "openid").await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut browser = Browser::new(&app);
    let path = authorize_path(client_id(&client), "openid", &[]);
    let back = browser.authorize(&path, &bob).await;
    assert!(location_query(&back).contains_key("code"));
    let bob_hint = {
        let code = &location_query(&back)["code"];
        redeem(&app, &client, code, VERIFIER).await.json()["id_token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let silent = |hint: &str| {
        authorize_path(
            client_id(&client),
            "openid",
            &[("prompt", "none"), ("id_token_hint", hint)],
        )
    };
    for (hint, why) in [
        (alice_hint.as_str(), "another user's ID token"),
        ("not.a.token", "a garbage hint"),
        (
            bob.access_token.as_str(),
            "an access token, not an ID token",
        ),
    ] {
        let answer = browser.get(&silent(hint)).await;
        assert_eq!(answer.status, 303, "{why}: {}", answer.text);
        let query = location_query(&answer);
        assert_eq!(query["error"], "login_required", "{why}");
        assert!(!query.contains_key("code"), "{why}");
    }
    let answer = browser.get(&silent(&bob_hint)).await;
    assert!(
        location_query(&answer).contains_key("code"),
        "{}",
        answer.text
    );
}

async fn a_get_sign_out_ends_the_application_s_tokens_on_the_next_request(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let user = app.user().await;
    // Several rounds: without the sync a GET's revocation was missed most of the time,
    // not always.
    for round in 0..5 {
        let mut browser = Browser::new(&app);
        let path = authorize_path(client_id(&client), "openid", &[]);
        let back = browser.authorize(&path, &user).await;
        let tokens = redeem(&app, &client, &location_query(&back)["code"], VERIFIER)
            .await
            .json();
        let access = tokens["access_token"].as_str().unwrap();
        let info = app.get("/oauth2/userinfo").bearer(access).send().await;
        assert_eq!(info.status, 200, "round {round}: {}", info.text);
        let hint = tokens["id_token"].as_str().unwrap();
        let out = browser
            .get(&format!("/oauth2/logout?id_token_hint={hint}"))
            .await;
        assert_eq!(out.status, 200, "round {round}: {}", out.text);
        let info = app.get("/oauth2/userinfo").bearer(access).send().await;
        assert_eq!(
            info.status, 401,
            "round {round}: the token outlived the sign-out"
        );
    }
}

async fn revoking_another_client_s_token_is_unauthorized_client(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let owner = confidential_client(&app, &admin, true).await;
    let other = confidential_client(&app, &admin, true).await;
    let tokens = sign_in_through(&app, &owner, &user, "openid offline_access").await;
    let revoke_as = |client: &Value, token: &str| {
        app.post("/oauth2/revoke")
            .header(
                "authorization",
                &basic(client_id(client), client["client_secret"].as_str().unwrap()),
            )
            .form(&[("token", token)])
            .send()
    };
    for kind in ["access_token", "refresh_token"] {
        let token = tokens[kind].as_str().unwrap();
        let refused = revoke_as(&other, token).await;
        assert_eq!(refused.status, 400, "{kind}: {}", refused.text);
        assert_eq!(refused.json()["error"], "unauthorized_client", "{kind}");
    }
    // Roster's own login token is no client's either.
    let refused = revoke_as(&other, &user.access_token).await;
    assert_eq!(refused.json()["error"], "unauthorized_client");
    // Nothing was revoked: the owner's token still works; unknown tokens stay 200.
    let access = tokens["access_token"].as_str().unwrap();
    let info = app.get("/oauth2/userinfo").bearer(access).send().await;
    assert_eq!(info.status, 200, "{}", info.text);
    assert_eq!(revoke_as(&other, "no-such-token").await.status, 200);
    assert_eq!(revoke_as(&owner, access).await.status, 200);
    let info = app.get("/oauth2/userinfo").bearer(access).send().await;
    assert_eq!(info.status, 401);
}

async fn scopes_roster_does_not_offer_are_ignored_and_the_granted_scope_returned(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let user = app.user().await;
    let tokens = sign_in_through(&app, &client, &user, "openid email phone address").await;
    assert_eq!(tokens["scope"], "email openid");
    // A request left with nothing Roster offers is still refused.
    let mut browser = Browser::new(&app);
    let path = authorize_path(client_id(&client), "phone address", &[]);
    let answer = browser.get(&path).await;
    assert_eq!(location_query(&answer)["error"], "invalid_scope");
    assert!(answer.header("location").unwrap().starts_with(REDIRECT_URI));
}

async fn discovery_lists_only_prompt_values_that_work(backend: Backend) {
    let app = TestApp::new(backend).await;
    let discovery = app
        .get("/.well-known/openid-configuration")
        .send()
        .await
        .json();
    assert_eq!(
        discovery["prompt_values_supported"],
        serde_json::json!(["none", "login", "consent"])
    );
}

async fn the_applications_list_names_first_party_applications_holding_tokens(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let first = confidential_client(&app, &admin, true).await;
    let third = confidential_client(&app, &admin, false).await;
    sign_in_through(&app, &first, &user, "openid offline_access").await;
    sign_in_through(&app, &third, &user, "openid").await;
    let list = |app: &TestApp| {
        app.get("/api/v1/users/me/grants")
            .bearer(&user.access_token)
            .send()
    };
    let items = list(&app).await.json()["items"].as_array().unwrap().clone();
    let named = |id: &str| items.iter().find(|g| g["client_id"] == id).cloned();
    let mine = named(client_id(&first)).expect("the first-party application is listed");
    assert_eq!(mine["first_party"], true);
    assert_eq!(mine["consented"], false);
    assert_eq!(mine["active_sessions"], 1);
    assert_eq!(mine["scope"], "offline_access openid");
    let theirs = named(client_id(&third)).expect("the consented application is listed");
    assert_eq!(theirs["consented"], true);
    // Withdrawing the first-party application ends its tokens and takes it off the list.
    let withdrawn = app
        .delete(&format!("/api/v1/users/me/grants/{}", client_id(&first)))
        .bearer(&user.access_token)
        .send()
        .await;
    assert_eq!(withdrawn.status, 204, "{}", withdrawn.text);
    let items = list(&app).await.json()["items"].as_array().unwrap().clone();
    assert!(items.iter().all(|g| g["client_id"] != client_id(&first)));
}
