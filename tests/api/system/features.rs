//! A deployment shaped to the team (`FEATURES`, `PREMIUM_SELF_SERVICE`): a module left
//! out has no routes, no OpenAPI entry, no console page and no field in other answers,
//! and its stored data is kept for when it comes back.

use serde_json::{Value, json};

use crate::console::signed_in;
use crate::helpers::{Backend, Session, TestApp};
use crate::on_both_engines;

on_both_engines!(
    a_module_left_out_has_no_routes_no_openapi_entry_and_no_fields,
    a_module_left_out_has_no_console_page,
    data_of_a_module_left_out_is_kept_for_when_it_comes_back,
    without_premium_self_service_only_administrators_change_a_tier,
);

/// Every optional route of the contract, by the module it belongs to.
const ROUTES: &[(&str, &str, &str)] = &[
    ("profiles", "GET", "/api/v1/users/me/profile"),
    ("preferences", "GET", "/api/v1/users/me/preferences"),
    ("premium", "POST", "/api/v1/users/me/upgrade"),
    ("premium", "GET", "/api/v1/users/search?q=abc"),
    ("achievements", "GET", "/api/v1/users/{id}/badges"),
    ("achievements", "GET", "/api/v1/users/{id}/goals"),
    ("payment", "POST", "/api/v1/users/me/payment-info"),
];

async fn status_of(app: &TestApp, user: &Session, method: &str, path: &str) -> u16 {
    let path = path.replace("{id}", &user.user_id.to_string());
    let request = match method {
        "GET" => app.get(&path),
        _ => app.post(&path),
    };
    request
        .bearer(&user.access_token)
        .send()
        .await
        .status
        .as_u16()
}

async fn a_module_left_out_has_no_routes_no_openapi_entry_and_no_fields(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("FEATURES", "profiles,payment")
        .start()
        .await;
    let user = app.user().await;
    for (module, method, path) in ROUTES {
        let status = status_of(&app, &user, method, path).await;
        let served = ["profiles", "payment"].contains(module);
        if served {
            assert_ne!(status, 404, "{method} {path}");
        } else {
            assert_eq!(status, 404, "{method} {path} of {module}");
        }
    }
    let doc: Value = app.get("/openapi.json").send().await.json();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/api/v1/users/me/profile"));
    assert!(paths.contains_key("/api/v1/users/me/payment-info"));
    for gone in [
        "/api/v1/users/me/preferences",
        "/api/v1/users/me/upgrade",
        "/api/v1/users/search",
        "/api/v1/users/{user_id}/badges",
    ] {
        assert!(!paths.contains_key(gone), "{gone} is still documented");
    }
    // No tier in the account, no badge or goal figures in the statistics.
    let me = app
        .get("/api/v1/users/me")
        .bearer(&user.access_token)
        .send()
        .await
        .json();
    assert!(me.get("tier").is_none(), "{me}");
    assert!(me.get("role").is_some(), "{me}");
    let stats = app
        .get("/api/v1/users/me/stats")
        .bearer(&user.access_token)
        .send()
        .await
        .json();
    for gone in ["badges", "goals_total", "goals_completed", "longest_streak"] {
        assert!(stats.get(gone).is_none(), "{gone} in {stats}");
    }
    assert!(stats.get("profile_completeness").is_some(), "{stats}");
    // An administrator cannot set a tier that is not served.
    let admin = app.admin().await;
    let refused = app
        .patch(&format!("/api/v1/admin/users/{}", user.user_id))
        .bearer(&admin.access_token)
        .json(json!({"tier": "premium"}))
        .send()
        .await;
    assert_eq!(refused.fields(422), ["tier"]);
    // The public profile has no profile fields once profiles are gone too.
    let bare = app.restarted_with(&[("FEATURES", "none")]).await;
    let public = bare
        .get(&format!("/api/v1/users/{}", user.user_id))
        .send()
        .await
        .json();
    assert!(
        public.get("bio").is_none() && public.get("avatar_url").is_none(),
        "{public}"
    );
    assert_eq!(public["username"], user.username);
}

async fn a_module_left_out_has_no_console_page(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("FEATURES", "preferences")
        .start()
        .await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let overview = browser.get("/account").await;
    assert_eq!(overview.status, 200, "{}", overview.text);
    assert!(overview.text.contains("href=\"/account/preferences\""));
    for gone in [
        "/account/achievements",
        "/account/payment",
        "/account/people",
    ] {
        assert!(
            !overview.text.contains(&format!("href=\"{gone}\"")),
            "{gone} is still linked"
        );
        assert_eq!(browser.get(gone).await.status, 404, "{gone}");
    }
    assert!(
        !overview.text.contains("<dt>Plan</dt>"),
        "{}",
        overview.text
    );
    let profile = browser.get("/account/profile").await;
    assert_eq!(profile.status, 200, "{}", profile.text);
    assert!(!profile.text.contains("Membership"));
    assert!(!profile.text.contains("Save profile"));
    assert!(profile.text.contains("username"));
}

async fn data_of_a_module_left_out_is_kept_for_when_it_comes_back(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let path = format!("/api/v1/users/{}/badges", user.user_id);
    let awarded = app
        .post(&path)
        .bearer(&user.access_token)
        .json(json!({"name": "First steps"}))
        .send()
        .await;
    assert_eq!(awarded.status, 201, "{}", awarded.text);
    let without = app.restarted_with(&[("FEATURES", "profiles")]).await;
    let hidden = without.get(&path).send().await;
    assert_eq!(hidden.status, 404);
    let back = without
        .restarted_with(&[("FEATURES", "profiles,achievements")])
        .await;
    let listed = back.get(&path).send().await.json();
    assert_eq!(listed["items"][0]["name"], "First steps", "{listed}");
}

async fn without_premium_self_service_only_administrators_change_a_tier(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("PREMIUM_SELF_SERVICE", "false")
        .start()
        .await;
    let user = app.user().await;
    for path in ["/api/v1/users/me/upgrade", "/api/v1/users/me/downgrade"] {
        let refused = app.post(path).bearer(&user.access_token).send().await;
        refused.problem(403);
    }
    let admin = app.admin().await;
    let changed = app
        .patch(&format!("/api/v1/admin/users/{}", user.user_id))
        .bearer(&admin.access_token)
        .json(json!({"tier": "premium"}))
        .send()
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json()["tier"], "premium");
    // The console says who changes it, and offers no button.
    let mut browser = signed_in(&app, &user).await;
    let profile = browser.get("/account/profile").await;
    assert!(
        profile
            .text
            .contains("An administrator changes your membership")
    );
    assert!(!profile.text.contains("Downgrade to basic"));
}
