//! Preferences: defaults on read, PUT replaces, PATCH merges (RFC 7396), DELETE resets,
//! schema violations named by field path, `PREFERENCES_SCHEMA` (the shipped
//! job-matching schema, and an invalid schema refusing start-up), and who may read or
//! write another member's preferences.

use std::sync::Arc;

use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;
use crate::users::support::{get_ok, premium};

on_both_engines!(
    get_fills_in_the_defaults,
    put_replaces_and_left_out_fields_take_defaults,
    patch_is_a_json_merge_patch,
    delete_resets_to_the_defaults,
    every_schema_violation_is_a_422_naming_the_field_path,
    the_shipped_job_matching_schema_loads_and_validates,
    an_invalid_preferences_schema_stops_start_up,
    other_members_preferences_follow_the_contract,
);

async fn get_fills_in_the_defaults(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let preferences = get_ok(&app, "/api/v1/users/me/preferences", &alice.access_token).await;
    assert_eq!(
        preferences,
        json!({"wifi": true, "noise_level": "quiet", "outlets": true, "open_late": false,
               "group_friendly": false, "max_distance_km": 5, "other_preferences": ""})
    );
    app.get("/api/v1/users/me/preferences")
        .send()
        .await
        .problem(401);
}

async fn put_replaces_and_left_out_fields_take_defaults(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let first = app
        .put("/api/v1/users/me/preferences")
        .bearer(&alice.access_token)
        .json(json!({"wifi": false, "noise_level": "silent", "max_distance_km": 2.5}))
        .send()
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json()["max_distance_km"], 2.5);
    let second = app
        .put("/api/v1/users/me/preferences")
        .bearer(&alice.access_token)
        .json(json!({"open_late": true}))
        .send()
        .await
        .json();
    assert_eq!(second["open_late"], true);
    assert_eq!(second["wifi"], true, "replaced: back to the default");
    assert_eq!(second["noise_level"], "quiet");
    assert_eq!(
        get_ok(&app, "/api/v1/users/me/preferences", &alice.access_token).await,
        second
    );
    // Only what the user set is stored.
    assert_eq!(app.count("SELECT COUNT(*) FROM user_preferences").await, 1);
}

async fn patch_is_a_json_merge_patch(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    app.put("/api/v1/users/me/preferences")
        .bearer(&alice.access_token)
        .json(json!({"wifi": false, "noise_level": "lively", "other_preferences": "near a park"}))
        .send()
        .await;
    let patched = app
        .patch("/api/v1/users/me/preferences")
        .bearer(&alice.access_token)
        .body(
            "application/merge-patch+json",
            json!({"noise_level": null, "group_friendly": true}).to_string(),
        )
        .send()
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let document = patched.json();
    assert_eq!(document["wifi"], false, "untouched");
    assert_eq!(
        document["noise_level"], "quiet",
        "null removes: the default again"
    );
    assert_eq!(document["group_friendly"], true);
    assert_eq!(document["other_preferences"], "near a park");
    // A patch producing an invalid document is refused and changes nothing.
    let invalid = app
        .patch("/api/v1/users/me/preferences")
        .bearer(&alice.access_token)
        .json(json!({"max_distance_km": -1}))
        .send()
        .await;
    assert_eq!(invalid.failing_fields(), ["max_distance_km"]);
    assert_eq!(
        get_ok(&app, "/api/v1/users/me/preferences", &alice.access_token).await,
        document
    );
    app.patch("/api/v1/users/me/preferences")
        .bearer(&alice.access_token)
        .body("application/json", "[1]")
        .send()
        .await
        .problem(400);
}

async fn delete_resets_to_the_defaults(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let defaults = get_ok(&app, "/api/v1/users/me/preferences", &alice.access_token).await;
    app.put("/api/v1/users/me/preferences")
        .bearer(&alice.access_token)
        .json(json!({"wifi": false}))
        .send()
        .await;
    let reset = app
        .delete("/api/v1/users/me/preferences")
        .bearer(&alice.access_token)
        .send()
        .await;
    assert_eq!(reset.status, 204);
    assert_eq!(
        get_ok(&app, "/api/v1/users/me/preferences", &alice.access_token).await,
        defaults
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM user_preferences").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'preferences_change'")
            .await,
        2
    );
}

async fn every_schema_violation_is_a_422_naming_the_field_path(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let response = app
        .put("/api/v1/users/me/preferences")
        .bearer(&alice.access_token)
        .json(json!({
            "wifi": "yes",
            "noise_level": "deafening",
            "outlets": 1,
            "open_late": null,
            "group_friendly": "no",
            "max_distance_km": 0,
            "other_preferences": "x".repeat(1001),
            "favourite_colour": "blue"
        }))
        .send()
        .await;
    assert_eq!(
        response.failing_fields(),
        [
            "favourite_colour",
            "group_friendly",
            "max_distance_km",
            "noise_level",
            "open_late",
            "other_preferences",
            "outlets",
            "wifi"
        ]
    );
    let body = response.json();
    let messages = body["errors"].to_string();
    assert!(!messages.contains(&"x".repeat(50)), "values are not echoed");
    app.put("/api/v1/users/me/preferences")
        .bearer(&alice.access_token)
        .body("application/json", "not json")
        .send()
        .await
        .problem(400);
}

fn shipped_schema(name: &str) -> String {
    format!("{}/schemas/{name}", env!("CARGO_MANIFEST_DIR"))
}

async fn the_shipped_job_matching_schema_loads_and_validates(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("PREFERENCES_SCHEMA", shipped_schema("job_matching.json"))
        .start()
        .await;
    let alice = app.user().await;
    let defaults = get_ok(&app, "/api/v1/users/me/preferences", &alice.access_token).await;
    assert_eq!(
        defaults,
        json!({"desired_titles": [], "locations": [], "remote": "hybrid", "min_salary": null,
               "job_types": ["full-time"], "other_preferences": ""})
    );
    let saved = app
        .put("/api/v1/users/me/preferences")
        .bearer(&alice.access_token)
        .json(json!({"desired_titles": ["Data Engineer"], "min_salary": 90000, "remote": "only"}))
        .send()
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.json()["locations"], json!([]));
    let invalid = app
        .patch("/api/v1/users/me/preferences")
        .bearer(&alice.access_token)
        .json(json!({"desired_titles": ["ok", ""], "job_types": ["gig"], "min_salary": -5, "wifi": true}))
        .send()
        .await;
    assert_eq!(
        invalid.failing_fields(),
        ["desired_titles.1", "job_types.0", "min_salary", "wifi"]
    );
}

async fn an_invalid_preferences_schema_stops_start_up(backend: Backend) {
    let app = TestApp::new(backend).await;
    let dir = app.data_dir();
    let cases = [
        ("not-json.json", "{ not json"),
        (
            "bad-type.json",
            r#"{"type": "object", "properties": {"a": {"type": "strnig"}}}"#,
        ),
        ("not-object.json", r#"{"type": "array"}"#),
        (
            "bad-default.json",
            r#"{"type": "object", "properties": {"a": {"type": "integer", "default": "x"}}}"#,
        ),
        (
            "bad-regex.json",
            r#"{"type": "object", "properties": {"a": {"type": "string", "pattern": "(unclosed"}}}"#,
        ),
    ];
    for (name, text) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let mut vars = app.vars().clone();
        vars.insert("PREFERENCES_SCHEMA".into(), path.display().to_string());
        let config = roster::config::Config::from_map(&vars).expect("the file exists");
        let clock: Arc<dyn roster::clock::Clock> = Arc::new(app.clock.clone());
        let error = match roster::app::Application::build(config, clock).await {
            Ok(_) => panic!("{name} must stop start-up"),
            Err(error) => format!("{error:#}"),
        };
        assert!(error.contains("PREFERENCES_SCHEMA"), "{name}: {error}");
    }
    // A missing file is refused by the configuration itself.
    let mut vars = app.vars().clone();
    vars.insert(
        "PREFERENCES_SCHEMA".into(),
        dir.join("missing.json").display().to_string(),
    );
    assert_eq!(
        roster::config::Config::from_map(&vars)
            .unwrap_err()
            .variable,
        "PREFERENCES_SCHEMA"
    );
}

async fn other_members_preferences_follow_the_contract(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let basic = app.user().await;
    let gold = premium(&app).await;
    let admin = app.admin().await;
    let path = format!("/api/v1/users/{}/preferences", alice.user_id);
    app.put("/api/v1/users/me/preferences")
        .bearer(&alice.access_token)
        .json(json!({"open_late": true}))
        .send()
        .await;
    app.get(&path)
        .bearer(&basic.access_token)
        .send()
        .await
        .problem(403);
    for token in [&alice.access_token, &gold.access_token, &admin.access_token] {
        assert_eq!(get_ok(&app, &path, token).await["open_late"], true);
    }
    // Writing: the user or an admin; premium members may only read.
    for token in [&basic.access_token, &gold.access_token] {
        for method in ["PUT", "PATCH"] {
            crate::users::support::send(
                &app,
                method,
                &path,
                Some(token),
                Some(json!({"wifi": false})),
            )
            .await
            .problem(403);
        }
        app.delete(&path).bearer(token).send().await.problem(403);
    }
    let by_admin = app
        .patch(&path)
        .bearer(&admin.access_token)
        .json(json!({"wifi": false}))
        .send()
        .await;
    assert_eq!(by_admin.json()["wifi"], false);
    assert_eq!(by_admin.json()["open_late"], true);
    let own = app
        .put(&path)
        .bearer(&alice.access_token)
        .json(json!({"noise_level": "silent"}))
        .send()
        .await;
    assert_eq!(own.json()["noise_level"], "silent");
    assert_eq!(
        app.delete(&path)
            .bearer(&admin.access_token)
            .send()
            .await
            .status,
        204
    );
    assert_eq!(
        get_ok(&app, &path, &alice.access_token).await["noise_level"],
        "quiet"
    );
    app.get(&format!(
        "/api/v1/users/{}/preferences",
        uuid::Uuid::now_v7()
    ))
    .bearer(&admin.access_token)
    .send()
    .await
    .problem(404);
}
