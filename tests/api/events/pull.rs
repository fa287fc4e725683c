//! `GET /api/v1/events`: who may read, and how `after`, `type`, `subject` and `limit`
//! select events; every answer is one the OpenAPI document describes.

use serde_json::{Value, json};

use super::{events, sequence, service_token, types};
use crate::helpers::{Backend, TestApp, TestResponse};
use crate::oidc::openapi::assert_documented;
use crate::on_both_engines;

on_both_engines!(
    administrators_and_services_with_events_read_may_pull,
    type_subject_after_and_limit_select_the_events,
    bad_parameters_are_named,
);

const PATH: &str = "/api/v1/events";

async fn pull(app: &TestApp, token: Option<&str>, query: &str) -> TestResponse {
    let request = app.get(&format!("{PATH}?{query}"));
    match token {
        Some(token) => request.bearer(token).send().await,
        None => request.send().await,
    }
}

async fn administrators_and_services_with_events_read_may_pull(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doc: Value = app.get("/openapi.json").send().await.json();
    let admin = app.admin().await;
    let user = app.user().await;
    let reader = service_token(&app, &admin, &["events:read"]).await;
    let other_service = service_token(&app, &admin, &["orders:read"]).await;

    let anonymous = pull(&app, None, "").await;
    anonymous.problem(401);
    let forged = pull(&app, Some("not-a-token"), "").await;
    forged.problem(401);
    let basic_user = pull(&app, Some(&user.access_token), "").await;
    basic_user.problem(403);
    let without_scope = pull(&app, Some(&other_service), "").await;
    assert!(
        without_scope.problem(403)["detail"]
            .as_str()
            .unwrap()
            .contains("events:read")
    );
    let by_admin = pull(&app, Some(&admin.access_token), "").await;
    assert_eq!(by_admin.status, 200, "{}", by_admin.text);
    let by_service = pull(&app, Some(&reader), "").await;
    assert_eq!(by_service.status, 200, "{}", by_service.text);
    assert_eq!(by_admin.json(), by_service.json());
    let listed = types(by_service.json()["items"].as_array().unwrap());
    assert!(listed.contains(&"client.created".to_owned()), "{listed:?}");
    for response in [&anonymous, &basic_user, &without_scope, &by_admin] {
        assert_documented(&doc, "get", PATH, response);
    }
    let invalid = pull(&app, Some(&admin.access_token), "limit=0").await;
    invalid.problem(422);
    assert_documented(&doc, "get", PATH, &invalid);

    // A service's token stops reading when its client is deleted.
    let client_id = crate::helpers::claims(&reader)["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = app
        .delete(&format!("/api/v1/admin/clients/{client_id}"))
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    pull(&app, Some(&reader), "").await.problem(401);
    let gone = events(&app, &admin.access_token, &format!("subject={client_id}")).await;
    assert_eq!(types(&gone), ["client.created", "client.deleted"]);
}

async fn type_subject_after_and_limit_select_the_events(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let alice = app.user().await;
    let bob = app.user().await;
    let moved = app
        .put(&format!("/api/v1/users/{}", bob.user_id))
        .bearer(&admin.access_token)
        .json(json!({"email": "bob.elsewhere@example.com"}))
        .send()
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let wrong = app
        .post("/api/v1/auth/login")
        .json(json!({"login": alice.username, "password": "Wrong-Password-1"}))
        .send()
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    let token = admin.access_token.as_str();

    let users = events(&app, token, "type=user.*").await;
    assert!(
        types(&users).iter().all(|t| t.starts_with("user.")),
        "{users:?}"
    );
    assert!(types(&users).contains(&"user.email.changed".to_owned()));
    assert_eq!(
        types(&users)
            .iter()
            .filter(|t| *t == "user.created")
            .count(),
        3
    );
    let emails = events(&app, token, "type=user.email.*").await;
    assert_eq!(types(&emails), ["user.email.changed"]);
    assert_eq!(emails[0]["subject"], bob.user_id.as_str());
    assert_eq!(emails[0]["data"], json!({"by": "admin"}));
    let two_kinds = events(&app, token, "type=user.created,session.created").await;
    assert_eq!(two_kinds.len(), 6);
    assert!(events(&app, token, "type=user").await.is_empty());
    let logins = events(&app, token, "type=login.*").await;
    assert_eq!(
        types(&logins),
        [
            "login.succeeded",
            "login.succeeded",
            "login.succeeded",
            "login.failed"
        ]
    );
    assert_eq!(logins[3]["subject"], alice.user_id.as_str());
    assert_eq!(logins[3]["data"], json!({"reason": "wrong_password"}));
    let failed = events(&app, token, "type=login.failed").await;
    assert_eq!(failed, logins[3..]);

    let alices = events(&app, token, &format!("subject={}", alice.user_id)).await;
    assert_eq!(types(&alices), ["user.created", "session.created"]);
    assert!(
        alices
            .iter()
            .all(|e| e["subject"] == alice.user_id.as_str())
    );

    // Paging with `limit` and `next_cursor` gives the same events as one page.
    let all = events(&app, token, "").await;
    let mut paged = Vec::new();
    let mut after = "0".to_owned();
    loop {
        let page = pull(&app, Some(token), &format!("after={after}&limit=2"))
            .await
            .json();
        let items = page["items"].as_array().unwrap().clone();
        assert!(items.len() <= 2);
        let cursor = page["next_cursor"].as_str().unwrap().to_owned();
        if items.is_empty() {
            assert_eq!(cursor, after, "an empty page keeps the reader's place");
            break;
        }
        assert_eq!(cursor, sequence(items.last().unwrap()).to_string());
        paged.extend(items);
        after = cursor;
    }
    assert_eq!(paged, all);
    assert!(all.len() > 2);
    let rest = events(
        &app,
        token,
        &format!("after={}", all[1]["sequence"].as_str().unwrap()),
    )
    .await;
    assert_eq!(rest, all[2..]);
    let default_page = pull(&app, Some(token), "limit=1000").await;
    assert_eq!(default_page.status, 200);
}

async fn bad_parameters_are_named(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    for (query, field) in [
        ("after=-1", "after"),
        ("after=ten", "after"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=many", "limit"),
        ("type=User.created", "type"),
        ("type=user.*.x", "type"),
        ("type=user.created,", "type"),
        ("subject=", "subject"),
        ("cursor=5", "cursor"),
    ] {
        assert_eq!(
            pull(&app, token, query).await.failing_fields(),
            [field],
            "{query}"
        );
    }
    let all_at_once = pull(&app, token, "after=x&limit=5000&type=*").await;
    assert_eq!(all_at_once.failing_fields(), ["after", "limit", "type"]);
}
