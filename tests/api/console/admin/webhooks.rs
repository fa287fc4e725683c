//! The webhook endpoints on the admin pages: made with the secret shown once (never the
//! sealed one), refused targets and event types named beside their fields, edited,
//! disabled and deleted ("I am sure") as the admin API does, audited the same; only
//! administrators see the pages, and no form works without its CSRF token. Deliveries,
//! test events and rotation are in `webhook_deliveries`.

use base64::Engine;
use serde_json::{Value, json};

use super::api_get;
use super::webhook_pages::{
    OnItsPage, PUBLIC_TARGET, code_text, made_by_api, make_on_page, open_made_by_api, shows,
    submit_done, webhook_audit,
};
use crate::console::{signed_in, submit};
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(
    a_webhook_made_on_the_page_shows_its_secret_once,
    a_refused_target_is_named_beside_its_field_and_nothing_is_stored,
    editing_and_disabling_a_webhook_on_the_page,
    deleting_a_webhook_needs_the_confirmation,
    only_administrators_see_the_webhook_pages,
    webhook_forms_without_the_form_token_change_nothing,
);

/// The sealed secret the database holds for the one webhook.
async fn sealed_secret(app: &TestApp) -> Vec<u8> {
    let sql = "SELECT secret FROM webhooks";
    match &app.state.db {
        roster::db::Db::Sqlite(pool, _) => sqlx::query_scalar(sql).fetch_one(pool).await,
        roster::db::Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
    }
    .expect("the sealed secret")
}

async fn a_webhook_made_on_the_page_shows_its_secret_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await;

    let made = make_on_page(
        &mut browser,
        &[
            ("url", PUBLIC_TARGET),
            ("events", "user.*, session.revoked\r\nuser.*"),
            ("description", "CRM"),
            ("ordered", "on"),
        ],
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    assert_eq!(made.header("cache-control"), Some("no-store"));
    let id = code_text(&made, "webhook-id").expect("the webhook's id");
    let secret = code_text(&made, "webhook-secret").expect("the secret, once");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_"))
        .expect("base64");
    assert_eq!(raw.len(), 32);

    let webhook = api_get(&app, &admin, &format!("/api/v1/admin/webhooks/{id}")).await;
    assert_eq!(webhook["url"], PUBLIC_TARGET);
    assert_eq!(webhook["events"], json!(["user.*", "session.revoked"]));
    assert_eq!(webhook["description"], "CRM");
    assert_eq!(webhook["ordered"], true);
    assert_eq!(webhook["enabled"], true);

    // Never again, neither as given nor as sealed.
    let sealed = sealed_secret(&app).await;
    let encodings = [
        secret.clone(),
        secret.trim_start_matches("whsec_").to_owned(),
        base64::engine::general_purpose::STANDARD.encode(&sealed),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&sealed),
        sealed.iter().map(|b| format!("{b:02x}")).collect(),
    ];
    for path in [
        "/admin/webhooks".to_owned(),
        format!("/admin/webhooks/{id}"),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        assert!(page.text.contains(&id), "{path}");
        assert!(page.text.contains("CRM"), "{path}");
        for encoding in &encodings {
            assert!(!shows(&page, encoding), "{path} shows {encoding}");
        }
    }
    assert!(!shows(&made, &encodings[2]) && !shows(&made, &encodings[4]));

    let audited = webhook_audit(&app, &admin.access_token).await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0]["event"], "webhook_created");
    assert_eq!(audited[0]["actor_id"], admin.user_id.as_str());
    assert_eq!(audited[0]["detail"], json!({"webhook_id": id}));
}

async fn a_refused_target_is_named_beside_its_field_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let mut browser = signed_in(&app, &admin).await;

    let refused = make_on_page(
        &mut browser,
        &[
            ("url", "https://10.1.2.3/hooks"),
            ("events", "user.*, User.Created"),
            ("description", "Internal"),
        ],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    for field in ["url", "events"] {
        assert!(
            refused.text.contains(&format!(
                "aria-invalid=\"true\" aria-describedby=\"{field}-error {field}-hint\""
            )),
            "{field}"
        );
        assert!(refused.text.contains(&format!("id=\"{field}-error\"")));
    }
    assert!(!refused.text.contains("id=\"description-error\""));
    assert!(refused.text.contains("Nothing was made"));
    // What was typed is kept, the unticked box too.
    assert!(shows(&refused, "value=\"https://10.1.2.3/hooks\""));
    assert!(refused.text.contains(">user.*, User.Created</textarea>"));
    assert!(
        !refused
            .text
            .contains("id=\"ordered\" name=\"ordered\" checked")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM webhooks").await, 0);
    assert!(webhook_audit(&app, &admin.access_token).await.is_empty());

    // No event type at all is named too.
    let empty = make_on_page(&mut browser, &[("url", PUBLIC_TARGET), ("events", " , ")]).await;
    assert_eq!(empty.status, 422, "{}", empty.text);
    assert!(empty.text.contains("id=\"events-error\""));
    assert!(!empty.text.contains("id=\"url-error\""));
    assert_eq!(app.count("SELECT COUNT(*) FROM webhooks").await, 0);
}

async fn editing_and_disabling_a_webhook_on_the_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let body = json!({"url": PUBLIC_TARGET, "events": ["user.*"], "description": "CRM"});
    let OnItsPage {
        id,
        path,
        mut browser,
        page,
    } = open_made_by_api(&app, &admin, body).await;
    let api_path = format!("/api/v1/admin/webhooks/{id}");
    assert!(page.text.contains(">user.*</textarea>"));
    assert!(page.text.contains("id=\"webhook-state\">active</dd>"));

    // A private target is refused beside its field; nothing changes.
    let refused = submit(
        &mut browser,
        &page,
        &path,
        &[("url", "https://192.168.0.10/"), ("events", "user.*")],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("id=\"url-error\""));
    assert_eq!(api_get(&app, &admin, &api_path).await["url"], PUBLIC_TARGET);

    let other = "https://93.184.216.35/roster";
    let fields = [
        ("url", other),
        ("events", "login.*\nsession.revoked"),
        ("description", ""),
    ];
    let shown = submit_done(&mut browser, &page, &path, &fields, &path, "webhook-saved").await;
    assert!(
        shown
            .text
            .contains("The webhook&#39;s settings were saved.")
    );
    let webhook = api_get(&app, &admin, &api_path).await;
    assert_eq!(webhook["url"], other);
    assert_eq!(webhook["events"], json!(["login.*", "session.revoked"]));
    assert_eq!(webhook["description"], Value::Null);
    assert_eq!(webhook["ordered"], false);
    assert_eq!(webhook["enabled"], true);

    // Disabled, and why; then enabled again.
    let enabled = format!("{path}/enabled");
    let off = [("enabled", "false")];
    let page = submit_done(
        &mut browser,
        &shown,
        &enabled,
        &off,
        &path,
        "webhook-disabled",
    )
    .await;
    let webhook = api_get(&app, &admin, &api_path).await;
    assert_eq!(
        (
            webhook["enabled"].as_bool(),
            webhook["disabled_reason"].as_str()
        ),
        (Some(false), Some("admin"))
    );
    assert!(page.text.contains("disabled by an administrator"));
    let list = browser.get("/admin/webhooks").await;
    assert!(list.text.contains("disabled by an administrator"));
    let on = [("enabled", "true")];
    submit_done(&mut browser, &page, &enabled, &on, &path, "webhook-enabled").await;
    assert_eq!(api_get(&app, &admin, &api_path).await["enabled"], true);

    let audited = webhook_audit(&app, token).await;
    let fields: Vec<&Value> = audited
        .iter()
        .filter(|e| e["event"] == "webhook_updated")
        .map(|e| &e["detail"]["fields"])
        .collect();
    assert_eq!(
        fields,
        [
            &json!(["enabled"]),
            &json!(["enabled"]),
            &json!(["url", "events", "description", "ordered"])
        ]
    );
    assert!(
        audited
            .iter()
            .all(|e| e["actor_id"] == admin.user_id.as_str())
    );
}

async fn deleting_a_webhook_needs_the_confirmation(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let body = json!({"url": PUBLIC_TARGET, "events": ["user.*"]});
    let OnItsPage {
        id,
        path,
        mut browser,
        page,
    } = open_made_by_api(&app, &admin, body).await;
    let delete = format!("{path}/delete");
    // In the danger zone, at the end.
    let danger = page.text.find("<h2 id=\"danger\">").expect("a danger zone");
    assert!(page.text[danger..].contains(&format!("action=\"{delete}\"")));

    let unsure = submit(&mut browser, &page, &delete, &[]).await;
    assert_eq!(unsure.status, 422, "{}", unsure.text);
    assert!(unsure.text.contains("id=\"delete_confirm-error\""));
    assert!(
        !unsure
            .text
            .contains("Nothing was changed; see the marked fields.")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM webhooks").await, 1);

    let sure = [("confirm", "yes")];
    let list = submit_done(
        &mut browser,
        &page,
        &delete,
        &sure,
        "/admin/webhooks",
        "webhook-deleted",
    )
    .await;
    assert!(list.text.contains("The webhook was deleted"));
    assert!(!list.text.contains(&id));
    assert_eq!(app.count("SELECT COUNT(*) FROM webhooks").await, 0);
    assert_eq!(browser.get(&path).await.status, 404);
    let audited = webhook_audit(&app, &admin.access_token).await;
    assert_eq!(audited[0]["event"], "webhook_deleted");
    assert_eq!(audited[0]["actor_id"], admin.user_id.as_str());
}

async fn only_administrators_see_the_webhook_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let id = made_by_api(
        &app,
        &admin.access_token,
        json!({"url": PUBLIC_TARGET, "events": ["user.*"], "description": "Secret CRM"}),
    )
    .await;
    let path = format!("/admin/webhooks/{id}");

    let anonymous = app.get(&path).send().await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(
        anonymous.header("location"),
        Some(format!("/login?return_to=%2Fadmin%2Fwebhooks%2F{id}").as_str())
    );
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let own = browser.get("/account").await;
    for page_path in ["/admin/webhooks", path.as_str()] {
        let page = browser.get(page_path).await;
        assert_eq!(page.status, 403, "{page_path}");
        assert!(!page.text.contains("Secret CRM"), "{page_path}");
        assert!(!page.text.contains("93.184.216.34"), "{page_path}");
    }
    // Their own page's form token does not make them an administrator.
    let fields = [("url", PUBLIC_TARGET), ("events", "user.*")];
    let attempt = submit(&mut browser, &own, "/admin/webhooks", &fields).await;
    assert_eq!(attempt.status, 403);
    let attempt = submit(
        &mut browser,
        &own,
        &format!("{path}/delete"),
        &[("confirm", "yes")],
    )
    .await;
    assert_eq!(attempt.status, 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM webhooks").await, 1);

    // The navigation leads administrators there; an unknown endpoint is not found.
    let mut browser = signed_in(&app, &admin).await;
    let page = browser.get("/admin/webhooks").await;
    assert!(
        page.text
            .contains("href=\"/admin/webhooks\" aria-current=\"page\">Webhooks</a>")
    );
    assert!(page.text.contains(&format!("/admin/webhooks/{id}")));
    let nobody = format!("/admin/webhooks/{}", uuid::Uuid::now_v7());
    assert_eq!(browser.get(&nobody).await.status, 404);
    assert_eq!(browser.get("/admin/webhooks/not-an-id").await.status, 404);
}

async fn webhook_forms_without_the_form_token_change_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let id = made_by_api(
        &app,
        token,
        json!({"url": PUBLIC_TARGET, "events": ["user.*"]}),
    )
    .await;
    let settings = |webhook: Value| {
        [
            "url",
            "events",
            "description",
            "ordered",
            "enabled",
            "updated_at",
        ]
        .map(|field| webhook[field].clone())
    };
    let before = settings(api_get(&app, &admin, &format!("/api/v1/admin/webhooks/{id}")).await);
    let mut browser = signed_in(&app, &admin).await;
    let path = format!("/admin/webhooks/{id}");
    let event = uuid::Uuid::now_v7();
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/admin/webhooks".into(),
            vec![("url", "https://93.184.216.35/"), ("events", "user.*")],
        ),
        (
            path.clone(),
            vec![("url", "https://93.184.216.35/"), ("events", "login.*")],
        ),
        (format!("{path}/enabled"), vec![("enabled", "false")]),
        (format!("{path}/secret"), vec![]),
        (format!("{path}/test"), vec![]),
        (format!("{path}/deliveries/{event}/retry"), vec![]),
        (format!("{path}/redrive"), vec![]),
        (format!("{path}/delete"), vec![("confirm", "yes")]),
    ];
    for (post_path, fields) in &posts {
        for forged in [None, Some("forged")] {
            let mut form = fields.clone();
            if let Some(forged) = forged {
                form.push(("csrf_token", forged));
            }
            let response = browser.post(post_path, &form).await;
            assert_eq!(
                response.status, 403,
                "{post_path} {forged:?}: {}",
                response.text
            );
            assert!(!response.text.contains("whsec_"), "{post_path}");
        }
    }
    let after = settings(api_get(&app, &admin, &format!("/api/v1/admin/webhooks/{id}")).await);
    assert_eq!(after, before);
    assert_eq!(app.count("SELECT COUNT(*) FROM webhooks").await, 1);
    let audited = webhook_audit(&app, token).await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM events WHERE type = 'webhook.test'")
            .await,
        0
    );
}
