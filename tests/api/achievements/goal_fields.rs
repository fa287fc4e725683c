//! What a goal may hold and how it changes: every field validated with all failures
//! named at once, defaults, PUT and PATCH as partial updates that refuse server-set
//! fields, and `completed_at` following the status.

use chrono::Duration;
use roster::clock::Clock;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::achievements::support::{at, goal_at, goals_of, id, new_goal};
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(
    goal_fields_are_validated_naming_every_failing_field,
    goals_take_defaults_and_the_longest_allowed_values,
    goal_updates_refuse_server_set_fields_and_bad_values_at_once,
    put_and_patch_change_only_the_fields_given,
    completing_a_goal_sets_completed_at_and_leaving_clears_it,
);

async fn goal_fields_are_validated_naming_every_failing_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let goals = goals_of(&owner.user_id);
    let create = |body: Value| {
        app.post(&goals)
            .bearer(&owner.access_token)
            .json(body)
            .send()
    };
    let all_bad = create(json!({
        "title": "", "description": "d".repeat(2001), "status": "done", "streak_count": -1
    }))
    .await;
    assert_eq!(
        all_bad.failing_fields(),
        ["description", "status", "streak_count", "title"]
    );
    let wrong_types = create(json!({
        "title": 1, "description": ["x"], "status": 3, "streak_count": "5"
    }))
    .await;
    assert_eq!(
        wrong_types.failing_fields(),
        ["description", "status", "streak_count", "title"]
    );
    for (body, field) in [
        (json!({}), "title"),
        (json!({"title": null}), "title"),
        (json!({"title": "   "}), "title"),
        (json!({"title": "t".repeat(201)}), "title"),
        (json!({"title": "tab\there"}), "title"),
        (json!({"title": "ok", "status": "Completed"}), "status"),
        (json!({"title": "ok", "status": "in_progress"}), "status"),
        (json!({"title": "ok", "streak_count": 1.5}), "streak_count"),
        (
            json!({"title": "ok", "streak_count": 100_001}),
            "streak_count",
        ),
        (
            json!({"title": "ok", "description": "bell\u{7}"}),
            "description",
        ),
        (
            json!({"title": "ok", "owner_id": owner.user_id}),
            "owner_id",
        ),
    ] {
        let response = create(body.clone()).await;
        assert_eq!(response.failing_fields(), [field], "{body}");
    }
    assert_eq!(app.get(&goals).send().await.json()["items"], json!([]));
}

async fn goals_take_defaults_and_the_longest_allowed_values(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let now = app.clock.now();
    let plain = new_goal(&app, &owner, json!({"title": "  Read a chapter a day "})).await;
    assert_eq!(plain["title"], "Read a chapter a day");
    assert_eq!(plain["description"], Value::Null);
    assert_eq!(plain["status"], "not-started");
    assert_eq!(plain["streak_count"], 0);
    assert_eq!(plain["last_check_in"], Value::Null);
    assert_eq!(plain["completed_at"], Value::Null);
    assert_eq!(at(&plain["created_at"]), now);
    assert_eq!(at(&plain["updated_at"]), now);
    let mut keys: Vec<&String> = plain.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "completed_at",
            "created_at",
            "description",
            "id",
            "last_check_in",
            "status",
            "streak_count",
            "title",
            "updated_at"
        ]
    );
    let longest = new_goal(
        &app,
        &owner,
        json!({
            "title": "t".repeat(200),
            "description": format!("first line\n{}", "d".repeat(1989)),
            "status": "in-progress",
            "streak_count": 100_000,
        }),
    )
    .await;
    assert_eq!(longest["title"].as_str().unwrap().len(), 200);
    assert_eq!(
        longest["description"].as_str().unwrap().chars().count(),
        2000
    );
    assert_eq!(longest["status"], "in-progress");
    assert_eq!(longest["streak_count"], 100_000);
    for status in ["not-started", "in-progress", "completed", "abandoned"] {
        let goal = new_goal(&app, &owner, json!({"title": status, "status": status})).await;
        assert_eq!(goal["status"], status);
    }
}

async fn goal_updates_refuse_server_set_fields_and_bad_values_at_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let goal = new_goal(
        &app,
        &owner,
        json!({"title": "Steady", "description": "keep going", "streak_count": 2}),
    )
    .await;
    let path = goal_at(&owner.user_id, &id(&goal));
    let patch = |body: Value| {
        app.patch(&path)
            .bearer(&owner.access_token)
            .json(body)
            .send()
    };
    let put = |body: Value| app.put(&path).bearer(&owner.access_token).json(body).send();
    let server_set = json!({
        "id": Uuid::now_v7(),
        "created_at": "2020-01-01T00:00:00Z",
        "updated_at": "2020-01-01T00:00:00Z",
        "completed_at": null,
        "last_check_in": "2020-01-01",
        "title": "",
        "streak_count": -2,
    });
    let expected = [
        "completed_at",
        "created_at",
        "id",
        "last_check_in",
        "streak_count",
        "title",
        "updated_at",
    ];
    assert_eq!(patch(server_set.clone()).await.failing_fields(), expected);
    assert_eq!(put(server_set).await.failing_fields(), expected);
    // The whole goal as the server sent it: the server-set fields are named.
    assert_eq!(
        put(goal.clone()).await.failing_fields(),
        [
            "completed_at",
            "created_at",
            "id",
            "last_check_in",
            "updated_at"
        ]
    );
    assert_eq!(
        patch(json!({"title": null, "status": null, "streak_count": null}))
            .await
            .failing_fields(),
        ["status", "streak_count", "title"]
    );
    assert_eq!(
        patch(
            json!({"status": "finished", "description": "d".repeat(2001), "streak_count": 100_001})
        )
        .await
        .failing_fields(),
        ["description", "status", "streak_count"]
    );
    assert_eq!(
        patch(json!({"owner": "me"})).await.failing_fields(),
        ["owner"]
    );
    // Nothing changed.
    let listed = app.get(&goals_of(&owner.user_id)).send().await.json();
    assert_eq!(listed["items"], json!([goal]));
}

async fn put_and_patch_change_only_the_fields_given(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let goal = new_goal(
        &app,
        &owner,
        json!({"title": "Original", "description": "Why it matters", "streak_count": 3}),
    )
    .await;
    let created = at(&goal["created_at"]);
    let path = goal_at(&owner.user_id, &id(&goal));

    app.clock.advance(Duration::minutes(1));
    let patched = app
        .patch(&path)
        .bearer(&owner.access_token)
        .json(json!({"title": "  Renamed  "}))
        .send()
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let patched = patched.json();
    assert_eq!(patched["title"], "Renamed");
    assert_eq!(patched["description"], "Why it matters");
    assert_eq!(patched["status"], "not-started");
    assert_eq!(patched["streak_count"], 3);
    assert_eq!(patched["id"], goal["id"]);
    assert_eq!(at(&patched["created_at"]), created);
    assert_eq!(at(&patched["updated_at"]), app.clock.now());

    app.clock.advance(Duration::minutes(1));
    let put = app
        .put(&path)
        .bearer(&owner.access_token)
        .json(json!({"status": "in-progress", "streak_count": 0}))
        .send()
        .await
        .json();
    assert_eq!(put["title"], "Renamed");
    assert_eq!(put["description"], "Why it matters");
    assert_eq!(put["status"], "in-progress");
    assert_eq!(put["streak_count"], 0);
    assert_eq!(at(&put["updated_at"]), app.clock.now());

    // A null description removes it; so does a blank one.
    let cleared = app
        .patch(&path)
        .bearer(&owner.access_token)
        .json(json!({"description": null}))
        .send()
        .await
        .json();
    assert_eq!(cleared["description"], Value::Null);
    assert_eq!(cleared["title"], "Renamed");
    let described = app
        .put(&path)
        .bearer(&owner.access_token)
        .json(json!({"description": "Back again"}))
        .send()
        .await
        .json();
    assert_eq!(described["description"], "Back again");
    let blank = app
        .patch(&path)
        .bearer(&owner.access_token)
        .json(json!({"description": " "}))
        .send()
        .await
        .json();
    assert_eq!(blank["description"], Value::Null);

    // An empty change is no change, not even to updated_at.
    app.clock.advance(Duration::minutes(1));
    let unchanged = app
        .patch(&path)
        .bearer(&owner.access_token)
        .json(json!({}))
        .send()
        .await;
    assert_eq!(unchanged.status, 200, "{}", unchanged.text);
    assert_eq!(unchanged.json(), blank);
}

async fn completing_a_goal_sets_completed_at_and_leaving_clears_it(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let goal = new_goal(
        &app,
        &owner,
        json!({"title": "Ship it", "status": "in-progress"}),
    )
    .await;
    let path = goal_at(&owner.user_id, &id(&goal));
    // Time moves in small steps: the whole story fits in one access token's life.
    let patch = |body: Value| {
        app.patch(&path)
            .bearer(&owner.access_token)
            .json(body)
            .send()
    };

    app.clock.advance(Duration::minutes(2));
    let completed_when = app.clock.now();
    let done = patch(json!({"status": "completed"})).await.json();
    assert_eq!(done["status"], "completed");
    assert_eq!(at(&done["completed_at"]), completed_when);

    // Staying completed (saying so again, or changing something else) keeps the moment.
    app.clock.advance(Duration::minutes(2));
    let again = patch(json!({"status": "completed"})).await.json();
    assert_eq!(at(&again["completed_at"]), completed_when);
    let renamed = patch(json!({"title": "Shipped"})).await.json();
    assert_eq!(at(&renamed["completed_at"]), completed_when);

    // Leaving completed clears it, whichever status follows; coming back sets it anew.
    for status in ["in-progress", "abandoned", "not-started"] {
        let left = patch(json!({"status": status})).await.json();
        assert_eq!(left["status"], status);
        assert_eq!(left["completed_at"], Value::Null, "{status}");
        app.clock.advance(Duration::minutes(2));
        let back = patch(json!({"status": "completed"})).await.json();
        assert_eq!(at(&back["completed_at"]), app.clock.now());
    }
    // Created as completed: completed at creation.
    let born_done = new_goal(
        &app,
        &owner,
        json!({"title": "Done already", "status": "completed"}),
    )
    .await;
    assert_eq!(at(&born_done["completed_at"]), app.clock.now());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM goals WHERE completed_at IS NOT NULL")
            .await,
        2
    );
}
