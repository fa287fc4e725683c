//! The admin pages (`/admin`): only administrators see them; the user search pages like
//! `GET /api/v1/users`; the account page changes, revokes and resets as the admin API
//! does, audited the same. Clients (`clients`), the audit log (`audit`), forged posts
//! (`forgery`), an account page's sections and confirmations (`user_page`), the pages in
//! German (`german`) and webhooks (`webhooks`, `webhook_deliveries`, their shared steps in
//! `webhook_pages`) have their own files; the helpers here serve them all.

use serde_json::{Value, json};

use crate::helpers::{Backend, Session, TestApp, TestResponse};
use crate::mfa::enrol_totp;
use crate::on_both_engines;

use super::{signed_in, submit};

mod audit;
mod changes;
mod clients;
mod forgery;
mod german;
mod invitations;
mod user_page;
mod webhook_deliveries;
mod webhook_pages;
mod webhooks;

on_both_engines!(
    only_administrators_see_the_admin_pages,
    the_user_search_filters_and_pages_like_the_api,
    deactivating_a_user_on_the_page_signs_them_out_everywhere,
    role_and_tier_changes_are_audited,
    the_last_administrator_cannot_demote_themselves_on_the_page,
    revoking_sessions_and_resetting_second_factors,
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

/// The links of a page to accounts' pages (not to `/admin/users/new`), in order.
fn account_links(page: &TestResponse) -> Vec<String> {
    links(page, "/admin/users/")
        .into_iter()
        .filter(|link| link != "/admin/users/new")
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
        "/admin/webhooks".to_owned(),
        "/admin/audit".to_owned(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 403, "{path}: {}", page.text);
        // The frame names the signed-in user; the page itself shows nothing of accounts.
        let content = &page.text[page.text.find("<main").expect("the page")..];
        assert!(!content.contains(&user.username), "{path}");
    }
    let attempt = submit(
        &mut browser,
        &own,
        &format!("/admin/users/{}", user.user_id),
        &[
            ("role", "admin"),
            ("tier", "basic"),
            ("is_active", "true"),
            ("email_verified", "true"),
        ],
    )
    .await;
    assert_eq!(attempt.status, 403);
    let me = api_get(&app, &user, "/api/v1/users/me").await;
    assert_eq!(me["role"], "user");

    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await;
    let page = browser.get("/admin").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text
            .contains("href=\"/admin\" aria-current=\"page\">Administration</a>")
    );
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

    // The API lists in creation order; the console the same accounts newest first.
    let mut api_path = Some("/api/v1/users?q=pager&limit=10".to_owned());
    let mut oldest_first = Vec::new();
    while let Some(api) = api_path.take() {
        let answer = api_get(&app, &admin, &api).await;
        for user in answer["items"].as_array().unwrap() {
            let id = user["id"].as_str().unwrap();
            oldest_first.push((format!("/admin/users/{id}"), user["email"].clone()));
        }
        api_path = answer["next_cursor"]
            .as_str()
            .map(|cursor| format!("/api/v1/users?q=pager&limit=10&cursor={cursor}"));
    }
    let newest_first: Vec<_> = oldest_first.iter().rev().cloned().collect();
    let mut path = Some("/admin/users?q=pager&limit=10".to_owned());
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(page_path) = path.take() {
        let page = browser.get(&page_path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let accounts = account_links(&page);
        let expected = &newest_first[seen.len()..(seen.len() + 10).min(newest_first.len())];
        assert_eq!(
            accounts,
            expected
                .iter()
                .map(|(link, _)| link.clone())
                .collect::<Vec<_>>()
        );
        for (_, email) in expected {
            assert!(page.text.contains(email.as_str().unwrap()));
        }
        seen.extend(accounts);
        pages += 1;
        path = next_link(&page);
        if let Some(next) = &path {
            assert!(
                next.starts_with("/admin/users?q=pager&limit=10&cursor="),
                "{next}"
            );
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 25);

    // Filters: the role, the status.
    let admins = browser
        .get("/admin/users?role=admin&tier=&is_active=")
        .await;
    assert_eq!(admins.status, 200, "{}", admins.text);
    assert_eq!(
        account_links(&admins),
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
    assert_eq!(account_links(&inactive), [format!("/admin/users/{target}")]);

    // A bad filter is named on the form, with what was typed kept.
    let short = browser.get("/admin/users?q=pa&role=nobody").await;
    assert_eq!(short.status, 422, "{}", short.text);
    assert!(short.text.contains("id=\"q\" name=\"q\" value=\"pa\""));
    assert!(
        short
            .text
            .contains("aria-invalid=\"true\" aria-describedby=\"q-error\"")
    );
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
    // The danger zone's form: only the status, with "I am sure".
    let fields = [("is_active", "false")];

    // Not without "I am sure".
    let unsure = submit(&mut browser, &page, &path, &fields).await;
    assert_eq!(unsure.status, 422, "{}", unsure.text);
    assert!(unsure.text.contains("id=\"confirm-error\""));
    assert_eq!(
        api_get(&app, &user, "/api/v1/users/me").await["is_active"],
        true
    );
    // The role form shown again keeps the account's own values.
    assert!(
        unsure
            .text
            .contains("<option value=\"user\" selected>User</option>")
    );

    let mut sure = fields.to_vec();
    sure.push(("confirm", "yes"));
    let done = submit(&mut browser, &page, &path, &sure).await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(
        done.header("location"),
        Some(format!("{path}?done=account-saved").as_str())
    );
    let shown = browser.follow(&done).await;
    assert!(shown.text.contains("The account was changed."));
    assert!(
        shown
            .text
            .contains("id=\"account-status\">Deactivated</dd>")
    );
    assert!(shown.text.contains("Reactivate the account"));

    let refused = app
        .get("/api/v1/users/me")
        .bearer(&user.access_token)
        .send()
        .await;
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
        &[
            ("role", "admin"),
            ("tier", "premium"),
            ("is_active", "true"),
            ("email_verified", "false"),
        ],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.text);

    let seen = api_get(&app, &admin, &format!("/api/v1/users/{}", user.user_id)).await;
    assert_eq!(
        (seen["role"].as_str(), seen["tier"].as_str()),
        (Some("admin"), Some("premium"))
    );
    let roles = audited(&app, &admin, &user.user_id, "role_change").await;
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0]["detail"], json!({"from": "user", "to": "admin"}));
    assert_eq!(roles[0]["actor_id"], admin.user_id.as_str());
    let tiers = audited(&app, &admin, &user.user_id, "tier_change").await;
    assert_eq!(tiers.len(), 1);
    assert_eq!(
        tiers[0]["detail"],
        json!({"from": "basic", "to": "premium", "via": "admin"})
    );
    // Fields left as they were record nothing.
    assert!(
        audited(&app, &admin, &user.user_id, "status_change")
            .await
            .is_empty()
    );

    // The account page shows the events in words, the detail as labelled fields.
    let page = browser.get(&path).await;
    assert!(page.text.contains("Role changed"));
    assert!(!page.text.contains("role_change"));
    assert!(
        page.text
            .contains("<dt>From</dt><dd>user</dd><dt>To</dt><dd>admin</dd>")
    );
    assert!(!page.text.contains("&quot;from&quot;"));
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
        &[
            ("role", "user"),
            ("tier", "basic"),
            ("is_active", "true"),
            ("email_verified", "true"),
        ],
    )
    .await;
    // As the API: 409, nothing changed.
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(refused.text.contains("last active administrator"));
    assert_eq!(
        api_get(&app, &admin, "/api/v1/users/me").await["role"],
        "admin"
    );
    assert!(
        audited(&app, &admin, &admin.user_id, "role_change")
            .await
            .is_empty()
    );

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
        &[
            ("role", "user"),
            ("tier", "basic"),
            ("is_active", "true"),
            ("email_verified", "true"),
        ],
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
    assert!(page.text.contains("id=\"second-factor-totp\">yes</dd>"));

    // Second factors: not without "I am sure"; then gone, and audited.
    let reset = format!("{path}/mfa/reset");
    let unsure = submit(&mut browser, &page, &reset, &[]).await;
    assert_eq!(unsure.status, 422);
    assert!(unsure.text.contains("id=\"mfa_confirm-error\""));
    assert_eq!(api_get(&app, &user, "/api/v1/auth/mfa").await["totp"], true);
    let done = submit(&mut browser, &page, &reset, &[("confirm", "yes")]).await;
    assert_eq!(
        done.header("location"),
        Some(format!("{path}?done=second-factors-reset").as_str())
    );
    assert_eq!(
        api_get(&app, &user, "/api/v1/auth/mfa").await["totp"],
        false
    );
    let events = audited(&app, &admin, &user.user_id, "mfa_reset").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail"], json!({"had_second_factors": true}));

    // Sessions: listed, then revoked everywhere.
    let page = browser.get(&path).await;
    assert!(!page.text.contains("No live session."));
    let revoke = format!("{path}/revoke-sessions");
    assert_eq!(submit(&mut browser, &page, &revoke, &[]).await.status, 422);
    assert_eq!(
        app.get("/api/v1/users/me")
            .bearer(&user.access_token)
            .send()
            .await
            .status,
        200
    );
    let done = submit(&mut browser, &page, &revoke, &[("confirm", "yes")]).await;
    assert_eq!(
        done.header("location"),
        Some(format!("{path}?done=sessions-revoked").as_str())
    );
    assert_eq!(
        app.get("/api/v1/users/me")
            .bearer(&user.access_token)
            .send()
            .await
            .status,
        401
    );
    let page = browser.follow(&done).await;
    assert!(page.text.contains("No live session."));
    let events = audited(&app, &admin, &user.user_id, "session_revoked").await;
    assert_eq!(events[0]["detail"]["by"], "admin");
    // The account stays active: a password alone signs it in again.
    app.login(&user.username, &user.password).await;
}
