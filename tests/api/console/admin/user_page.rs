//! An account's admin page: its sections with in-page links at the top, the danger zone
//! last with every destructive action in it, and none of them done without "I am sure".

use super::api_get;
use crate::console::{signed_in, submit};
use crate::helpers::{Backend, TestApp};
use crate::mfa::enrol_totp;
use crate::on_both_engines;

on_both_engines!(
    an_account_page_is_in_sections_with_the_danger_zone_last,
    no_destructive_action_happens_without_the_confirmation,
);

/// The sections of the page, in order, by their heading's id.
const SECTIONS: [&str; 6] = [
    "profile",
    "security",
    "sessions",
    "applications",
    "audit",
    "danger",
];

async fn an_account_page_is_in_sections_with_the_danger_zone_last(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &admin).await;
    let path = format!("/admin/users/{}", user.user_id);
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.text);

    // Links to each section first, then the sections in order.
    let mut last = 0;
    for section in SECTIONS {
        let link = page
            .text
            .find(&format!("<a href=\"#{section}\">"))
            .unwrap_or_else(|| panic!("no link to #{section}"));
        let heading = page
            .text
            .find(&format!("<h2 id=\"{section}\">"))
            .unwrap_or_else(|| panic!("no section {section}"));
        assert!(link < heading, "{section}");
        assert!(heading > last, "{section} out of order");
        last = heading;
    }
    // Every destructive form is in the danger zone, each with its "I am sure".
    let danger = &page.text[last..];
    for action in ["revoke-sessions", "mfa/reset", "delete"] {
        let form = format!("action=\"/admin/users/{}/{action}\"", user.user_id);
        assert!(danger.contains(&form), "{action} not in the danger zone");
        assert!(!page.text[..last].contains(&form), "{action} before it");
    }
    assert!(danger.contains("name=\"is_active\" value=\"false\""));
    assert!(!page.text[..last].contains("name=\"is_active\""));
    assert_eq!(danger.matches("name=\"confirm\"").count(), 4);
    assert!(danger.contains("Deactivate the account"));
    // The reset link's button stays with the security section.
    let reset = format!("action=\"{path}/password-reset\"");
    assert!(page.text[..last].contains(&reset));
    assert!(page.text.contains("Send a password reset link"));
    // The user list offers the invitation.
    let users = browser.get("/admin/users").await;
    assert!(users.text.contains("href=\"/admin/users/new\""));
    assert!(users.text.contains("Invite someone"));
    // Sessions and events read as words and times, the applications as a section.
    assert!(page.text.contains("<table class=\"stacked\">"));
    assert!(page.text.contains("<time datetime="));
    assert!(
        page.text
            .contains("No application holds access to this account.")
    );
}

async fn no_destructive_action_happens_without_the_confirmation(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let user = app.user().await;
    enrol_totp(&app, &user).await;
    let mut browser = signed_in(&app, &admin).await;
    let path = format!("/admin/users/{}", user.user_id);
    let page = browser.get(&path).await;

    let attempts = [
        (path.clone(), vec![("is_active", "false")], "confirm"),
        (format!("{path}/revoke-sessions"), vec![], "revoke_confirm"),
        (format!("{path}/mfa/reset"), vec![], "mfa_confirm"),
        (format!("{path}/delete"), vec![], "delete_confirm"),
    ];
    for (action, fields, checkbox) in &attempts {
        let unsure = submit(&mut browser, &page, action, fields).await;
        assert_eq!(unsure.status, 422, "{action}: {}", unsure.text);
        assert!(
            unsure.text.contains(&format!("id=\"{checkbox}-error\"")),
            "{action}"
        );
        assert!(unsure.text.contains("tick this"), "{action}");
    }
    // Nothing happened: active, signed in, second factor kept, the account there.
    let me = api_get(&app, &user, "/api/v1/users/me").await;
    assert_eq!(me["is_active"], true);
    assert_eq!(api_get(&app, &user, "/api/v1/auth/mfa").await["totp"], true);
    let account = api_get(&app, &admin, &format!("/api/v1/users/{}", user.user_id)).await;
    assert_eq!(account["username"], user.username.as_str());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event IN ('status_change', 'mfa_reset', 'session_revoked', 'user_deleted')")
            .await,
        0
    );
}
