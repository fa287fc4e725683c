//! The admin pages (`/admin`): only administrators see them; the user search pages like
//! `GET /api/v1/users`; the account page changes, revokes and resets as the admin API
//! does, audited the same; clients are registered (secret shown once), rotated and
//! deleted; the audit log filters; no post without the form's token changes anything.

use serde_json::{Value, json};

use crate::helpers::{Backend, Session, TestApp, TestResponse};
use crate::mfa::enrol_totp;
use crate::oidc::{Browser, basic};
use crate::on_both_engines;

use super::{signed_in, submit};

on_both_engines!(
    only_administrators_see_the_admin_pages,
    the_user_search_filters_and_pages_like_the_api,
    deactivating_a_user_on_the_page_signs_them_out_everywhere,
    role_and_tier_changes_are_audited,
    the_last_administrator_cannot_demote_themselves_on_the_page,
    revoking_sessions_and_resetting_second_factors,
    a_client_created_on_the_page_shows_its_secret_once_and_it_works,
    editing_and_deleting_a_client_on_the_page,
    the_audit_page_filters_by_user_and_event,
    posts_without_the_form_token_are_refused_and_change_nothing,
);

/// The paths of the links in a page that start with `prefix`, in order.
fn links(page: &TestResponse, prefix: &str) -> Vec<String> {
    let marker = format!("href=\"{prefix}");
    page.text
        .match_indices(&marker)
        .map(|(at, _)| {
            let start = at + "href=\"".len();
            let end = page.text[start..].find('"').unwrap() + start;
            unescape(&page.text[start..end])
        })
        .collect()
}

/// The "Next page" link of a page, if any.
fn next_link(page: &TestResponse) -> Option<String> {
    let end = page.text.find("\" rel=\"next\"")?;
    let start = page.text[..end].rfind("href=\"")? + "href=\"".len();
    Some(unescape(&page.text[start..end]))
}

/// `text` as the templates write it (HTML-escaped, `/` too), up to a closing tag.
fn escaped(text: &str) -> String {
    let (value, tag) = text.split_at(text.rfind("</").unwrap_or(text.len()));
    format!("{}{tag}", value.replace('/', "&#x2f;"))
}

/// An attribute's text as the browser reads it.
fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/").replace("&amp;", "&")
}

async fn api_get(app: &TestApp, admin: &Session, path: &str) -> Value {
    let response = app.get(path).bearer(&admin.access_token).send().await;
    assert_eq!(response.status, 200, "{path}: {}", response.text);
    response.json()
}

/// The audit events of `user_id` named `event`, through the API.
async fn audited(app: &TestApp, admin: &Session, user_id: &str, event: &str) -> Vec<Value> {
    let path = format!("/api/v1/admin/audit?user_id={user_id}&event={event}");
    api_get(app, admin, &path).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn only_administrators_see_the_admin_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    let anonymous = app.get("/admin").send().await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(
        anonymous.header("location"),
        Some("/login?return_to=%2Fadmin%2Fusers")
    );
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let own = browser.get("/account").await;
    for path in [
        "/admin".to_owned(),
        "/admin/users".to_owned(),
        format!("/admin/users/{}", user.user_id),
        "/admin/clients".to_owned(),
        "/admin/audit".to_owned(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 403, "{path}: {}", page.text);
        assert!(!page.text.contains(&user.username), "{path}");
    }
    let attempt = submit(
        &mut browser,
        &own,
        &format!("/admin/users/{}", user.user_id),
        &[("role", "admin"), ("tier", "basic"), ("is_active", "true"), ("email_verified", "true")],
    )
    .await;
    assert_eq!(attempt.status, 403);
    let me = api_get(&app, &user, "/api/v1/users/me").await;
    assert_eq!(me["role"], "user");

    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await;
    let page = browser.get("/admin").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("href=\"/admin\" aria-current=\"page\">Administration</a>"));
    for path in ["/admin/clients", "/admin/audit"] {
        assert_eq!(browser.get(path).await.status, 200, "{path}");
    }
    let nobody = browser
        .get("/admin/users/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(nobody.status, 404);
    assert_eq!(browser.get("/admin/users/not-an-id").await.status, 404);
}

async fn the_user_search_filters_and_pages_like_the_api(backend: Backend) {
    let app = TestApp::with_cheap_hashing(backend).await;
    let admin = app.admin().await;
    for i in 0..25 {
        app.register(&format!("pager_{i:02}"), crate::helpers::DEFAULT_PASSWORD)
            .await;
    }
    let mut browser = signed_in(&app, &admin).await;

    let mut path = Some("/admin/users?q=pager&limit=10".to_owned());
    let mut api_path = Some("/api/v1/users?q=pager&limit=10".to_owned());
    let mut seen = Vec::new();
    let mut pages = 0;
    while let (Some(page_path), Some(api)) = (path.take(), api_path.take()) {
        let page = browser.get(&page_path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let answer = api_get(&app, &admin, &api).await;
        let expected: Vec<String> = answer["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| format!("/admin/users/{}", u["id"].as_str().unwrap()))
            .collect();
        assert_eq!(links(&page, "/admin/users/"), expected);
        for user in answer["items"].as_array().unwrap() {
            assert!(page.text.contains(user["email"].as_str().unwrap()));
        }
        seen.extend(expected);
        pages += 1;
        path = next_link(&page);
        api_path = answer["next_cursor"]
            .as_str()
            .map(|cursor| format!("/api/v1/users?q=pager&limit=10&cursor={cursor}"));
        assert_eq!(path.is_some(), api_path.is_some());
        if let Some(next) = &path {
            assert!(next.starts_with("/admin/users?q=pager&limit=10&cursor="), "{next}");
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 25);

    // Filters: the role, the status.
    let admins = browser.get("/admin/users?role=admin&tier=&is_active=").await;
    assert_eq!(admins.status, 200, "{}", admins.text);
    assert_eq!(
        links(&admins, "/admin/users/"),
        [format!("/admin/users/{}", admin.user_id)]
    );
    let target = seen[3].trim_start_matches("/admin/users/").to_owned();
    let response = app
        .patch(&format!("/api/v1/admin/users/{target}"))
        .bearer(&admin.access_token)
        .json(json!({"is_active": false}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let inactive = browser.get("/admin/users?is_active=false").await;
    assert_eq!(links(&inactive, "/admin/users/"), [format!("/admin/users/{target}")]);

    // A bad filter is named on the form, with what was typed kept.
    let short = browser.get("/admin/users?q=pa&role=nobody").await;
    assert_eq!(short.status, 422, "{}", short.text);
    assert!(short.text.contains("id=\"q\" name=\"q\" value=\"pa\""));
    assert!(short.text.contains("aria-invalid=\"true\" aria-describedby=\"q-error\""));
    assert!(short.text.contains("id=\"role-error\""));
}

async fn deactivating_a_user_on_the_page_signs_them_out_everywhere(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let mut theirs = signed_in(&app, &user).await;
    let mut browser = signed_in(&app, &admin).await;
    let path = format!("/admin/users/{}", user.user_id);
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains(&user.username));
    let fields = [
        ("role", "user"),
        ("tier", "basic"),
        ("is_active", "false"),
        ("email_verified", "false"),
    ];

    // Not without "I am sure".
    let unsure = submit(&mut browser, &page, &path, &fields).await;
    assert_eq!(unsure.status, 422, "{}", unsure.text);
    assert!(unsure.text.contains("id=\"confirm-error\""));
    assert_eq!(api_get(&app, &user, "/api/v1/users/me").await["is_active"], true);

    let mut sure = fields.to_vec();
    sure.push(("confirm", "yes"));
    let done = submit(&mut browser, &page, &path, &sure).await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(done.header("location"), Some(format!("{path}?done=account-saved").as_str()));
    let shown = browser.follow(&done).await;
    assert!(shown.text.contains("The account was changed."));
    assert!(shown.text.contains("no (deactivated)"));

    let refused = app.get("/api/v1/users/me").bearer(&user.access_token).send().await;
    assert_eq!(refused.status, 401);
    let account = theirs.get("/account").await;
    assert_eq!(account.status, 303);
    assert!(account.header("location").unwrap().starts_with("/login"));
    let by_admin = api_get(&app, &admin, &format!("/api/v1/users/{}", user.user_id)).await;
    assert_eq!(by_admin["is_active"], false);
    let status = audited(&app, &admin, &user.user_id, "status_change").await;
    assert_eq!(status.len(), 1, "{status:?}");
    assert_eq!(status[0]["actor_id"], admin.user_id.as_str());
    assert_eq!(status[0]["detail"]["to"], false);
}

async fn role_and_tier_changes_are_audited(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &admin).await;
    let path = format!("/admin/users/{}", user.user_id);
    let page = browser.get(&path).await;
    let done = submit(
        &mut browser,
        &page,
        &path,
        &[("role", "admin"), ("tier", "premium"), ("is_active", "true"), ("email_verified", "false")],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.text);

    let seen = api_get(&app, &admin, &format!("/api/v1/users/{}", user.user_id)).await;
    assert_eq!((seen["role"].as_str(), seen["tier"].as_str()), (Some("admin"), Some("premium")));
    let roles = audited(&app, &admin, &user.user_id, "role_change").await;
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0]["detail"], json!({"from": "user", "to": "admin"}));
    assert_eq!(roles[0]["actor_id"], admin.user_id.as_str());
    let tiers = audited(&app, &admin, &user.user_id, "tier_change").await;
    assert_eq!(tiers.len(), 1);
    assert_eq!(tiers[0]["detail"], json!({"from": "basic", "to": "premium", "via": "admin"}));
    // Fields left as they were record nothing.
    assert!(audited(&app, &admin, &user.user_id, "status_change").await.is_empty());

    // The account page shows the events, detail as escaped JSON text.
    let page = browser.get(&path).await;
    assert!(page.text.contains("role_change"));
    assert!(page.text.contains("{&quot;from&quot;:&quot;user&quot;,&quot;to&quot;:&quot;admin&quot;}"));
}

async fn the_last_administrator_cannot_demote_themselves_on_the_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await;
    let path = format!("/admin/users/{}", admin.user_id);
    let page = browser.get(&path).await;
    let refused = submit(
        &mut browser,
        &page,
        &path,
        &[("role", "user"), ("tier", "basic"), ("is_active", "true"), ("email_verified", "true")],
    )
    .await;
    // As the API: 409, nothing changed.
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(refused.text.contains("last active administrator"));
    assert_eq!(api_get(&app, &admin, "/api/v1/users/me").await["role"], "admin");
    assert!(audited(&app, &admin, &admin.user_id, "role_change").await.is_empty());

    // With another administrator, they may step down (the page then leads away).
    let other = app.user().await;
    app.patch(&format!("/api/v1/admin/users/{}", other.user_id))
        .bearer(&admin.access_token)
        .json(json!({"role": "admin"}))
        .send()
        .await;
    let page = browser.get(&path).await;
    let stepped_down = submit(
        &mut browser,
        &page,
        &path,
        &[("role", "user"), ("tier", "basic"), ("is_active", "true"), ("email_verified", "true")],
    )
    .await;
    assert_eq!(stepped_down.status, 303, "{}", stepped_down.text);
    assert_eq!(stepped_down.header("location"), Some("/account"));
    assert_eq!(browser.get(&path).await.status, 403);
}

async fn revoking_sessions_and_resetting_second_factors(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    enrol_totp(&app, &user).await;
    let mut browser = signed_in(&app, &admin).await;
    let path = format!("/admin/users/{}", user.user_id);
    let page = browser.get(&path).await;
    assert!(page.text.contains("Authenticator app: yes"));

    // Second factors: not without "I am sure"; then gone, and audited.
    let reset = format!("{path}/mfa/reset");
    let unsure = submit(&mut browser, &page, &reset, &[]).await;
    assert_eq!(unsure.status, 422);
    assert!(unsure.text.contains("id=\"mfa_confirm-error\""));
    assert_eq!(api_get(&app, &user, "/api/v1/auth/mfa").await["totp"], true);
    let done = submit(&mut browser, &page, &reset, &[("confirm", "yes")]).await;
    assert_eq!(done.header("location"), Some(format!("{path}?done=second-factors-reset").as_str()));
    assert_eq!(api_get(&app, &user, "/api/v1/auth/mfa").await["totp"], false);
    let events = audited(&app, &admin, &user.user_id, "mfa_reset").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail"], json!({"had_second_factors": true}));

    // Sessions: listed, then revoked everywhere.
    let page = browser.get(&path).await;
    assert!(!page.text.contains("No live session."));
    let revoke = format!("{path}/revoke-sessions");
    assert_eq!(submit(&mut browser, &page, &revoke, &[]).await.status, 422);
    assert_eq!(app.get("/api/v1/users/me").bearer(&user.access_token).send().await.status, 200);
    let done = submit(&mut browser, &page, &revoke, &[("confirm", "yes")]).await;
    assert_eq!(done.header("location"), Some(format!("{path}?done=sessions-revoked").as_str()));
    assert_eq!(app.get("/api/v1/users/me").bearer(&user.access_token).send().await.status, 401);
    let page = browser.follow(&done).await;
    assert!(page.text.contains("No live session."));
    let events = audited(&app, &admin, &user.user_id, "session_revoked").await;
    assert_eq!(events[0]["detail"]["by"], "admin");
    // The account stays active: a password alone signs it in again.
    app.login(&user.username, &user.password).await;
}

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

async fn service_token(app: &TestApp, id: &str, secret: &str) -> TestResponse {
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
        &[("name", "Billing"), ("type", "public"), ("redirect_uris", "https://ok.example/cb\nnot a uri"),
          ("grant_client_credentials", "on"), ("scopes", "orders:read")],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("id=\"redirect_uris-error\""));
    assert!(refused.text.contains("entry 2:"));
    assert!(refused.text.contains("id=\"grant_types-error\""));
    assert!(refused.text.contains(&escaped("https://ok.example/cb\nnot a uri</textarea>")));
    assert_eq!(api_get(&app, &admin, "/api/v1/admin/clients").await["items"], json!([]));

    let created = register_on_page(
        &mut browser,
        &[("name", "Billing"), ("type", "confidential"), ("redirect_uris", ""),
          ("grant_client_credentials", "on"), ("scopes", "orders:read orders:write"),
          ("id_token_signed_response_alg", "RS256")],
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
        &[("name", "Study Spots"), ("type", "confidential"),
          ("redirect_uris", "https://app.example/callback"),
          ("grant_authorization_code", "on"), ("grant_refresh_token", "on"),
          ("scopes", "openid profile")],
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = code(&created, "client-id").unwrap();
    let path = format!("/admin/clients/{id}");

    let page = browser.get(&path).await;
    assert!(page.text.contains(&escaped("https://app.example/callback</textarea>")));
    let saved = submit(
        &mut browser,
        &page,
        &path,
        &[("name", "Study Spots 2"), ("type", "confidential"),
          ("redirect_uris", "https://app.example/callback\nhttps://app.example/other"),
          ("post_logout_redirect_uris", "https://app.example/bye"),
          ("grant_authorization_code", "on"), ("scopes", "openid profile email"),
          ("first_party", "on"), ("id_token_signed_response_alg", "EdDSA")],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    assert_eq!(browser.follow(&saved).await.text.contains("settings were saved"), true);
    let client = api_get(&app, &admin, &format!("/api/v1/admin/clients/{id}")).await;
    assert_eq!(client["name"], "Study Spots 2");
    assert_eq!(client["redirect_uris"], json!(["https://app.example/callback", "https://app.example/other"]));
    assert_eq!(client["post_logout_redirect_uris"], json!(["https://app.example/bye"]));
    assert_eq!(client["grant_types"], json!(["authorization_code"]));
    assert_eq!(client["scopes"], json!(["openid", "profile", "email"]));
    assert_eq!((client["first_party"].as_bool(), client["id_token_signed_response_alg"].as_str()), (Some(true), Some("EdDSA")));

    let page = browser.get(&path).await;
    let unsure = submit(&mut browser, &page, &format!("{path}/delete"), &[]).await;
    assert_eq!(unsure.status, 422);
    assert!(unsure.text.contains("id=\"delete_confirm-error\""));
    let deleted = submit(&mut browser, &page, &format!("{path}/delete"), &[("confirm", "yes")]).await;
    assert_eq!(deleted.header("location"), Some("/admin/clients?done=client-deleted"));
    let list = browser.follow(&deleted).await;
    assert!(list.text.contains("The application was deleted"));
    assert!(!list.text.contains(&id));
    assert_eq!(app.get(&format!("/api/v1/admin/clients/{id}")).bearer(&admin.access_token).send().await.status, 404);
    assert_eq!(browser.get(&path).await.status, 404);
    let events = api_get(&app, &admin, "/api/v1/admin/audit?event=client_deleted").await;
    assert_eq!(events["items"][0]["actor_id"], admin.user_id.as_str());
    let events = api_get(&app, &admin, "/api/v1/admin/audit?event=client_updated").await;
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
}

async fn the_audit_page_filters_by_user_and_event(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let other = app.user().await;
    let mut browser = signed_in(&app, &admin).await;

    let page = browser.get(&format!("/admin/audit?user_id={}&event=login_success", user.user_id)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let api = api_get(&app, &admin, &format!("/api/v1/admin/audit?user_id={}&event=login_success", user.user_id)).await;
    let count = api["items"].as_array().unwrap().len();
    assert_eq!(count, 1);
    assert_eq!(page.text.matches("<td>login_success</td>").count(), count);
    assert!(page.text.contains(&user.user_id));
    assert!(!page.text.contains(&other.user_id));
    assert!(page.text.contains("<option selected>login_success</option>"));

    // Pages of one, newest first, the filters kept in the next link.
    let first = browser.get(&format!("/admin/audit?user_id={}&limit=1", user.user_id)).await;
    let next = next_link(&first).expect("a next page");
    assert!(next.starts_with(&format!("/admin/audit?user_id={}&limit=1&cursor=", user.user_id)), "{next}");
    let newest = api_get(&app, &admin, &format!("/api/v1/admin/audit?user_id={}&limit=2", user.user_id)).await;
    assert!(first.text.contains(&format!("<td>{}</td>", newest["items"][0]["event"].as_str().unwrap())));
    let second = browser.get(&next).await;
    assert_eq!(second.status, 200);
    assert!(second.text.contains(&format!("<td>{}</td>", newest["items"][1]["event"].as_str().unwrap())));

    let bad = browser.get("/admin/audit?user_id=nobody").await;
    assert_eq!(bad.status, 422);
    assert!(bad.text.contains("id=\"user_id-error\""));
    assert!(bad.text.contains("value=\"nobody\""));
}

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
        (account.clone(), vec![("role", "admin"), ("tier", "premium"), ("is_active", "false"),
                               ("email_verified", "true"), ("confirm", "yes")]),
        (format!("{account}/revoke-sessions"), vec![("confirm", "yes")]),
        (format!("{account}/mfa/reset"), vec![("confirm", "yes")]),
        ("/admin/clients".to_owned(), vec![("name", "Forged"), ("type", "public"),
                                           ("redirect_uris", "https://evil.example/cb"),
                                           ("grant_authorization_code", "on")]),
        (client.clone(), vec![("name", "Renamed"), ("type", "confidential"),
                              ("grant_client_credentials", "on"), ("scopes", "orders:read")]),
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
    assert_eq!((seen["role"].as_str(), seen["tier"].as_str(), seen["is_active"].as_bool()),
               (Some("user"), Some("basic"), Some(true)));
    assert_eq!(app.get("/api/v1/users/me").bearer(&user.access_token).send().await.status, 200);
    let clients = api_get(&app, &admin, "/api/v1/admin/clients").await;
    assert_eq!(clients["items"].as_array().unwrap().len(), 1);
    assert_eq!(clients["items"][0]["name"], "Billing");
    let secret = service["client_secret"].as_str().unwrap();
    assert_eq!(service_token(&app, id, secret).await.status, 200);
    let events = api_get(&app, &admin, &format!("/api/v1/admin/audit?user_id={}", user.user_id)).await;
    assert!(events["items"].as_array().unwrap().iter().all(|e| e["actor_id"] != admin.user_id.as_str()));
}
