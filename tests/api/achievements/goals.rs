//! Learning goals: who may do what, goal ids only under their own user's path, the
//! status filter and pages of the list, and the audit trail. (What a goal may hold and
//! how it changes: `achievements_goal_fields`.)

use serde_json::json;
use uuid::Uuid;

use crate::achievements::support::{goal_at, goals_of, id, new_goal};
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(
    goal_endpoints_are_for_the_owner_or_an_admin_and_lists_for_anyone,
    a_goal_id_under_another_users_path_is_404_also_for_admins,
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
