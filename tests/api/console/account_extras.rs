//! The payment page (`/account/payment`), the statistics on the overview (`/account`)
//! and the members' search (`/account/people`): each does and shows what its JSON
//! endpoint does, and the API shows the effect.

use serde_json::{Value, json};

use crate::helpers::{Backend, DEFAULT_PASSWORD, Session, TestApp, TestResponse};
use crate::on_both_engines;

use super::{signed_in, submit};

on_both_engines!(
    payment_info_is_stored_replaced_and_removed_on_the_page_and_never_shown_whole,
    the_overview_shows_the_accounts_statistics,
    only_premium_members_and_admins_search_people_on_the_page,
    posts_without_the_csrf_token_are_refused_and_change_nothing,
);

async fn api_get(app: &TestApp, user: &Session, path: &str) -> TestResponse {
    app.get(path).bearer(&user.access_token).send().await
}

/// The payment events of `user` in the audit log, oldest first, through the admin API.
async fn payment_audit(app: &TestApp, admin: &Session, user: &Session) -> Vec<String> {
    let path = format!(
        "/api/v1/admin/audit?user_id={}&event=payment_info_change",
        user.user_id
    );
    let log = api_get(app, admin, &path).await;
    assert_eq!(log.status, 200, "{}", log.text);
    let mut actions: Vec<String> = log.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["detail"]["action"].as_str().unwrap().to_owned())
        .collect();
    actions.sort_by_key(|action| {
        ["stored", "replaced", "deleted"]
            .iter()
            .position(|a| a == action)
    });
    actions
}

/// The text of the element with `id` (up to its closing tag).
fn element_text(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no #{id}")) + marker.len();
    let end = html[start..].find("</").unwrap() + start;
    html[start..end].to_owned()
}

/// The "Next page" link of a page, as the browser reads it.
fn next_link(page: &TestResponse) -> Option<String> {
    let end = page.text.find("\" rel=\"next\"")?;
    let start = page.text[..end].rfind("href=\"")? + "href=\"".len();
    Some(
        page.text[start..end]
            .replace("&#x2f;", "/")
            .replace("&amp;", "&"),
    )
}

async fn payment_info_is_stored_replaced_and_removed_on_the_page_and_never_shown_whole(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get("/account/payment").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("No payment information is stored."));
    assert!(page.text.contains("aria-current=\"page\">Payment</a>"));
    assert!(
        page.text
            .contains("name=\"payment_token\" type=\"password\" autocomplete=\"off\"")
    );

    // A token the API would refuse: its message next to the field, nothing typed shown back.
    let bad = "tok with space";
    let refused = submit(
        &mut browser,
        &page,
        "/account/payment",
        &[("payment_token", bad)],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("aria-invalid=\"true\""));
    assert!(
        refused
            .text
            .contains("aria-describedby=\"payment_token-hint payment_token-error\"")
    );
    assert!(
        refused
            .text
            .contains("Must not contain spaces or control characters.")
    );
    assert!(!refused.text.contains(bad) && !refused.text.contains("tok with"));
    let short = submit(
        &mut browser,
        &page,
        "/account/payment",
        &[("payment_token", "abc")],
    )
    .await;
    assert_eq!(short.status, 422);
    assert!(short.text.contains("Must be 8 to 256 characters."));
    assert_eq!(
        api_get(&app, &user, "/api/v1/users/me/payment-info")
            .await
            .status,
        404
    );

    let first = "tok_visa_4242424242424242";
    let stored = submit(
        &mut browser,
        &page,
        "/account/payment",
        &[("payment_token", first)],
    )
    .await;
    assert_eq!(stored.status, 303, "{}", stored.text);
    assert_eq!(
        stored.header("location"),
        Some("/account/payment?done=payment-stored")
    );
    let page = browser.get("/account/payment?done=payment-stored").await;
    assert!(page.text.contains("Your payment token was stored."));
    assert!(
        page.text
            .contains("Stored, ending in <strong>4242</strong>")
    );
    assert!(!page.text.contains(first) && !page.text.contains("4242424242"));
    let api = api_get(&app, &user, "/api/v1/users/me/payment-info").await;
    assert_eq!(api.status, 200, "{}", api.text);
    let info = api.json();
    assert_eq!(info["has_payment_info"], true);
    assert_eq!(info["token_hint"], "4242");
    let changed = &info["updated_at"].as_str().unwrap()[..19];
    assert!(
        page.text.contains(&format!(
            "<dd><span class=\"when\"><time datetime=\"{changed}"
        )),
        "{info}"
    );

    // Replaced: the API shows the new hint, the page never the token.
    let second = "tok_mastercard_5555444433331111";
    let replaced = submit(
        &mut browser,
        &page,
        "/account/payment",
        &[("payment_token", second)],
    )
    .await;
    assert_eq!(
        replaced.header("location"),
        Some("/account/payment?done=payment-replaced")
    );
    let page = browser.get("/account/payment?done=payment-replaced").await;
    assert!(page.text.contains("<strong>1111</strong>"));
    assert!(!page.text.contains(second) && !page.text.contains(first));
    let info = api_get(&app, &user, "/api/v1/users/me/payment-info")
        .await
        .json();
    assert_eq!(info["token_hint"], "1111");

    // What the API stores, the page shows.
    let put = app
        .put("/api/v1/users/me/payment-info")
        .bearer(&user.access_token)
        .json(json!({"payment_token": "tok_amex_378282246310005"}))
        .send()
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let page = browser.get("/account/payment").await;
    assert!(page.text.contains("<strong>0005</strong>"));
    assert!(!page.text.contains("tok_amex"));

    let removed = submit(&mut browser, &page, "/account/payment/remove", &[]).await;
    assert_eq!(
        removed.header("location"),
        Some("/account/payment?done=payment-removed")
    );
    let page = browser.get("/account/payment?done=payment-removed").await;
    assert!(page.text.contains("Your payment information was removed."));
    assert!(page.text.contains("No payment information is stored."));
    assert_eq!(
        api_get(&app, &user, "/api/v1/users/me/payment-info")
            .await
            .status,
        404
    );

    // Audited as the API audits: stored, replaced (twice: page and API), deleted.
    assert_eq!(
        payment_audit(&app, &admin, &user).await,
        ["stored", "replaced", "replaced", "deleted"]
    );
}

async fn the_overview_shows_the_accounts_statistics(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    // A profile field and a goal, through the API.
    let profile = app
        .put("/api/v1/users/me/profile")
        .bearer(&user.access_token)
        .json(json!({"occupation": "Engineer"}))
        .send()
        .await;
    assert!(profile.status.is_success(), "{}", profile.text);
    app.clock.advance(chrono::Duration::minutes(5));
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get("/account").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let stats: Value = api_get(&app, &user, "/api/v1/users/me/stats").await.json();
    assert_eq!(stats["total_logins"], 2, "{stats}");
    let shown = |id: &str| element_text(&page.text, id);
    assert_eq!(
        shown("stat-active-sessions"),
        stats["active_sessions"].to_string()
    );
    assert_eq!(shown("stat-total-logins"), "2");
    // Times as a `<time>` of the exact moment and how long ago.
    let moment = |field: &str| format!("datetime=\"{}", &stats[field].as_str().unwrap()[..19]);
    assert!(shown("stat-last-login").contains(&moment("last_login_at")));
    assert!(
        page.text.contains("just now</span></span></dd>"),
        "{}",
        page.text
    );
    assert!(shown("stat-member-since").contains(&moment("member_since")));
    assert!(
        page.text.contains("5 minutes ago</span></span></dd>"),
        "{}",
        page.text
    );
    assert_eq!(
        shown("stat-profile-completeness"),
        format!("{}%", stats["profile_completeness"])
    );
    assert_eq!(stats["profile_completeness"], 22, "{stats}");
    assert_eq!(shown("stat-badges"), stats["badges"].to_string());
    assert_eq!(
        shown("stat-goals"),
        format!(
            "{} of {} completed",
            stats["goals_completed"], stats["goals_total"]
        )
    );
    assert_eq!(
        shown("stat-longest-streak"),
        format!("{} days", stats["longest_streak"])
    );
}

async fn only_premium_members_and_admins_search_people_on_the_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let member = app.user().await;
    let suffix = &member.username["user_".len()..]; // unique to this test
    let mut zebras = Vec::new();
    for i in 0..3 {
        let name = format!("zebra{i}_{suffix}");
        app.register(&name, DEFAULT_PASSWORD).await;
        zebras.push(name);
    }
    let q = format!("_{suffix}");

    // A basic member is told that searching needs premium, and where to upgrade.
    let mut browser = signed_in(&app, &member).await;
    let nav = browser.get("/account").await;
    assert!(nav.text.contains("href=\"/account/people\""));
    let refused = browser.get(&format!("/account/people?q={q}")).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.text.contains("Searching for people needs premium"));
    assert!(
        refused
            .text
            .contains("href=\"/account/profile#tier-heading\"")
    );
    assert!(!refused.text.contains("zebra0"));
    let api = api_get(&app, &member, &format!("/api/v1/users/search?q={q}")).await;
    assert_eq!(api.status, 403);

    // Upgraded (as the profile page's button does), the same browser searches.
    let upgraded = app
        .post("/api/v1/users/me/upgrade")
        .bearer(&member.access_token)
        .send()
        .await;
    assert_eq!(upgraded.status, 200, "{}", upgraded.text);
    let empty = browser.get("/account/people").await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert!(empty.text.contains("aria-current=\"page\">People</a>"));
    let short = browser.get("/account/people?q=ze").await;
    assert_eq!(short.status, 422, "{}", short.text);
    assert!(short.text.contains("aria-invalid=\"true\""));
    assert!(short.text.contains("Must be 3 to 100 characters."));
    assert!(short.text.contains("value=\"ze\""));

    // Two a page, in the API's order, with a "Next page" link until the last.
    let first = browser.get(&format!("/account/people?q={q}&limit=2")).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let next = next_link(&first).expect("a next page");
    let second = browser.get(&next).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert!(next_link(&second).is_none());
    let api_first = api_get(
        &app,
        &member,
        &format!("/api/v1/users/search?q={q}&limit=2"),
    )
    .await
    .json();
    let cursor = api_first["next_cursor"].as_str().unwrap();
    assert!(
        next.ends_with(&format!("cursor={}", cursor.replace('=', "%3D"))),
        "{next}"
    );
    let api_second = api_get(
        &app,
        &member,
        &format!("/api/v1/users/search?q={q}&limit=2&cursor={cursor}"),
    )
    .await
    .json();
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut on_pages = Vec::new();
    for (page, api) in [(&first, &api_first), (&second, &api_second)] {
        for name in names(api) {
            assert!(
                page.text.contains(&format!("<strong>{name}</strong>")),
                "{name}"
            );
            on_pages.push(name);
        }
    }
    // The member themself matches too (the same suffix); every zebra is found once.
    assert_eq!(on_pages.len(), 4, "{on_pages:?}");
    for zebra in &zebras {
        assert_eq!(
            on_pages.iter().filter(|n| *n == zebra).count(),
            1,
            "{zebra}"
        );
    }
    assert!(first.text.contains("Test User"));

    // An administrator on the basic tier searches too.
    let mut admin_browser = signed_in(&app, &admin).await;
    let found = admin_browser
        .get(&format!("/account/people?q=zebra1_{suffix}"))
        .await;
    assert_eq!(found.status, 200, "{}", found.text);
    assert!(
        found
            .text
            .contains(&format!("<strong>zebra1_{suffix}</strong>"))
    );
    assert!(!found.text.contains("zebra0"));
}

async fn posts_without_the_csrf_token_are_refused_and_change_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let stored = app
        .post("/api/v1/users/me/payment-info")
        .bearer(&user.access_token)
        .json(json!({"payment_token": "tok_visa_4242424242424242"}))
        .send()
        .await;
    assert_eq!(stored.status, 201, "{}", stored.text);
    let mut browser = signed_in(&app, &user).await;
    assert_eq!(browser.get("/account/payment").await.status, 200);
    for (action, fields) in [
        (
            "/account/payment",
            vec![("payment_token", "tok_forged_00000000")],
        ),
        ("/account/payment/remove", vec![]),
    ] {
        let without = browser.post(action, &fields).await;
        assert_eq!(without.status, 403, "{action}: {}", without.text);
        let mut forged = vec![("csrf_token", "forged")];
        forged.extend(fields);
        let wrong = browser.post(action, &forged).await;
        assert_eq!(wrong.status, 403, "{action}: {}", wrong.text);
    }
    let info = api_get(&app, &user, "/api/v1/users/me/payment-info").await;
    assert_eq!(info.status, 200);
    assert_eq!(info.json()["token_hint"], "4242");
}
