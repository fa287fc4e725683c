//! Learning goals: who may do what, goal ids only under their own user's path, what a
//! goal may hold, PUT and PATCH as partial updates that refuse server-set fields,
//! `completed_at` following the status, the status filter and pages, and the audit trail.

use chrono::Duration;
use roster::clock::Clock;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::achievements_support::{at, goal_at, goals_of, id, new_goal};
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(
    goal_endpoints_are_for_the_owner_or_an_admin_and_lists_for_anyone,
    a_goal_id_under_another_users_path_is_404_also_for_admins,
    goal_fields_are_validated_naming_every_failing_field,
    goals_take_defaults_and_the_longest_allowed_values,
    goal_updates_refuse_server_set_fields_and_bad_values_at_once,
    put_and_patch_change_only_the_fields_given,
    completing_a_goal_sets_completed_at_and_leaving_clears_it,
    goals_are_filtered_by_status_and_paged_without_gaps,
    goal_changes_are_audited_with_who_acted,
);

async fn goal_endpoints_are_for_the_owner_or_an_admin_and_lists_for_anyone(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let other = app.user().await;
    let admin = app.admin().await;
    let goals = goals_of(&owner.user_id);

    // Create.
    let by_owner = new_goal(&app, &owner, json!({"title": "Learn Rust"})).await;
    let by_admin = app
        .post(&goals)
        .bearer(&admin.access_token)
        .json(json!({"title": "Set by a mentor"}))
        .send()
        .await;
    assert_eq!(by_admin.status, 201, "{}", by_admin.text);
    let by_admin = by_admin.json();
    app.post(&goals)
        .bearer(&other.access_token)
        .json(json!({"title": "Not yours"}))
        .send()
        .await
        .problem(403);
    let anonymous = app.post(&goals).json(json!({"title": "Anon"})).send().await;
    anonymous.problem(401);
    assert!(anonymous.header("www-authenticate").is_some());

    // List: anyone, token or not.
    for listing in [
        app.get(&goals).send().await,
        app.get(&goals).bearer(&other.access_token).send().await,
    ] {
        assert_eq!(listing.status, 200, "{}", listing.text);
        assert_eq!(listing.json()["items"].as_array().unwrap().len(), 2);
    }

    // PUT, PATCH and check-in: owner and admin yes, another user 403, anonymous 401.
    let goal = goal_at(&owner.user_id, &id(&by_owner));
    let check_in = format!("{goal}/check-in");
    for (method, path, body) in [
        ("PUT", &goal, Some(json!({"title": "Learn Rust well"}))),
        ("PATCH", &goal, Some(json!({"status": "in-progress"}))),
        ("POST", &check_in, None),
    ] {
        let method: axum::http::Method = method.parse().unwrap();
        let send = |token: Option<&str>| {
            let mut request = app.request(method.clone(), path);
            if let Some(token) = token {
                request = request.bearer(token);
            }
            if let Some(body) = &body {
                request = request.json(body.clone());
            }
            request.send()
        };
        let owner_said = send(Some(&owner.access_token)).await;
        assert_eq!(
            owner_said.status, 200,
            "{method} {path}: {}",
            owner_said.text
        );
        let admin_said = send(Some(&admin.access_token)).await;
        assert_eq!(
            admin_said.status, 200,
            "{method} {path}: {}",
            admin_said.text
        );
        send(Some(&other.access_token)).await.problem(403);
        send(None).await.problem(401);
    }

    // Delete: another user 403, anonymous 401, then admin and owner 204 each.
    let mentor_goal = goal_at(&owner.user_id, &id(&by_admin));
    app.delete(&goal)
        .bearer(&other.access_token)
        .send()
        .await
        .problem(403);
    app.delete(&goal).send().await.problem(401);
    let deleted = app.delete(&goal).bearer(&owner.access_token).send().await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let deleted = app
        .delete(&mentor_goal)
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    app.delete(&goal)
        .bearer(&owner.access_token)
        .send()
        .await
        .problem(404);
    assert_eq!(app.get(&goals).send().await.json()["items"], json!([]));

    // Unknown users: 404 to an admin and to the public list; 403 to anyone else.
    let nobody = goals_of(&Uuid::now_v7().to_string());
    app.post(&nobody)
        .bearer(&admin.access_token)
        .json(json!({"title": "Ghost"}))
        .send()
        .await
        .problem(404);
    app.post(&nobody)
        .bearer(&other.access_token)
        .json(json!({"title": "Ghost"}))
        .send()
        .await
        .problem(403);
    app.get(&nobody).send().await.problem(404);
}

async fn a_goal_id_under_another_users_path_is_404_also_for_admins(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let other = app.user().await;
    let admin = app.admin().await;
    let goal = new_goal(&app, &owner, json!({"title": "Mine"})).await;
    // The goal exists, but not under `other`'s path: every goal endpoint says 404 to
    // `other` themself and to an admin, and the goal is untouched.
    let wrong = goal_at(&other.user_id, &id(&goal));
    for token in [&other.access_token, &admin.access_token] {
        app.put(&wrong)
            .bearer(token)
            .json(json!({"title": "Stolen"}))
            .send()
            .await
            .problem(404);
        app.patch(&wrong)
            .bearer(token)
            .json(json!({"status": "abandoned"}))
            .send()
            .await
            .problem(404);
        app.post(&format!("{wrong}/check-in"))
            .bearer(token)
            .send()
            .await
            .problem(404);
        app.delete(&wrong).bearer(token).send().await.problem(404);
    }
    // Ids that name nothing: a random UUID, and something that is not a UUID at all.
    for goal_id in [Uuid::now_v7().to_string(), "not-a-uuid".to_owned()] {
        let path = goal_at(&owner.user_id, &goal_id);
        app.patch(&path)
            .bearer(&owner.access_token)
            .json(json!({"title": "x"}))
            .send()
            .await
            .problem(404);
        app.delete(&path)
            .bearer(&owner.access_token)
            .send()
            .await
            .problem(404);
        app.post(&format!("{path}/check-in"))
            .bearer(&owner.access_token)
            .send()
            .await
            .problem(404);
    }
    let listed = app.get(&goals_of(&owner.user_id)).send().await.json();
    assert_eq!(listed["items"], json!([goal]));
}

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

async fn goals_are_filtered_by_status_and_paged_without_gaps(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let other = app.user().await;
    let statuses = [
        "in-progress",
        "completed",
        "not-started",
        "completed",
        "abandoned",
        "completed",
        "in-progress",
    ];
    let mut created = Vec::new();
    for (n, status) in statuses.iter().enumerate() {
        let goal = new_goal(
            &app,
            &owner,
            json!({"title": format!("goal {n}"), "status": status}),
        )
        .await;
        created.push(id(&goal));
    }
    new_goal(
        &app,
        &other,
        json!({"title": "someone else's", "status": "completed"}),
    )
    .await;
    let goals = goals_of(&owner.user_id);

    let walk = |query: &'static str| {
        let app = app.clone();
        let goals = goals.clone();
        async move {
            let mut ids = Vec::new();
            let mut cursor: Option<String> = None;
            let mut pages = 0;
            loop {
                let url = match &cursor {
                    None => format!("{goals}?{query}"),
                    Some(c) => format!("{goals}?{query}&cursor={c}"),
                };
                let page = app.get(&url).send().await;
                assert_eq!(page.status, 200, "{url}: {}", page.text);
                let page = page.json();
                pages += 1;
                for goal in page["items"].as_array().unwrap() {
                    ids.push((
                        goal["id"].as_str().unwrap().to_owned(),
                        goal["status"].as_str().unwrap().to_owned(),
                    ));
                }
                match page["next_cursor"].as_str() {
                    Some(next) => cursor = Some(next.to_owned()),
                    None => break (ids, pages),
                }
            }
        }
    };

    // All of them, oldest first, three to a page: every goal once, none of the other user's.
    let (all, pages) = walk("limit=3").await;
    assert_eq!(pages, 3);
    assert_eq!(
        all.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        created
    );
    // Only the completed ones, one to a page.
    let (completed, pages) = walk("status=completed&limit=1").await;
    assert_eq!(pages, 3);
    let expected: Vec<String> = created
        .iter()
        .zip(statuses)
        .filter(|(_, s)| *s == "completed")
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(
        completed
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>(),
        expected
    );
    assert!(completed.iter().all(|(_, s)| s == "completed"));
    for status in ["not-started", "in-progress", "abandoned"] {
        let listed = app
            .get(&format!("{goals}?status={status}"))
            .send()
            .await
            .json();
        let count = statuses.iter().filter(|s| **s == status).count();
        assert_eq!(listed["items"].as_array().unwrap().len(), count, "{status}");
    }
    // An empty filter (as an empty form field sends) is no filter.
    let unfiltered = app
        .get(&format!("{goals}?status=&limit=100"))
        .send()
        .await
        .json();
    assert_eq!(
        unfiltered["items"].as_array().unwrap().len(),
        statuses.len()
    );
    // Bad parameters: each one named, together.
    let bad = app
        .get(&format!(
            "{goals}?status=done&limit=500&cursor=not-a-cursor"
        ))
        .send()
        .await;
    assert_eq!(bad.failing_fields(), ["cursor", "limit", "status"]);
    assert_eq!(
        app.get(&format!("{goals}?status=Completed"))
            .send()
            .await
            .failing_fields(),
        ["status"]
    );
    assert_eq!(
        app.get(&format!("{goals}?state=completed"))
            .send()
            .await
            .failing_fields(),
        ["state"]
    );
}

async fn goal_changes_are_audited_with_who_acted(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let admin = app.admin().await;
    let goal = new_goal(&app, &owner, json!({"title": "Audited"})).await;
    let path = goal_at(&owner.user_id, &id(&goal));
    let changed = app
        .patch(&path)
        .bearer(&admin.access_token)
        .json(json!({"status": "completed"}))
        .send()
        .await;
    assert_eq!(changed.status, 200);
    let deleted = app.delete(&path).bearer(&owner.access_token).send().await;
    assert_eq!(deleted.status, 204);
    // The owner created and deleted; the admin's change is recorded as theirs.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_events WHERE event = 'goal_created' AND actor_id = user_id"
        )
        .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_events WHERE event = 'goal_updated' AND actor_id <> user_id"
        )
        .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_events WHERE event = 'goal_deleted' AND actor_id = user_id"
        )
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event IN ('goal_created', 'goal_updated', 'goal_deleted')")
            .await,
        3
    );
}
