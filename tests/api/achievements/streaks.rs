//! Check-ins and streaks across UTC day boundaries (the clock is moved, never slept on),
//! concurrent check-ins, the figures `/me/stats` reports, deleting a user with their
//! achievements, and the OpenAPI description of the achievements endpoints.

use std::collections::HashSet;

use chrono::{DateTime, Days, Duration, NaiveDate, Utc};
use roster::achievements::{AchievementFigures, figures};
use roster::clock::Clock;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::achievements::support::{
    at, badges_of, check_in_at, count_for, delete_user_row, goal_at, goals_of, id, log_in_again,
    new_badge, new_goal,
};
use crate::helpers::{Backend, Session, TestApp};
use crate::on_both_engines;

on_both_engines!(
    check_ins_grow_the_streak_daily_keep_it_within_a_day_and_restart_after_a_gap,
    check_ins_start_a_goal_refuse_closed_ones_and_build_on_a_written_streak,
    concurrent_check_ins_of_one_goal_count_once_per_day,
    figures_count_badges_goals_and_the_longest_streak,
    deleting_a_user_removes_their_badges_and_goals,
    achievements_are_documented_in_openapi,
);

/// `time` (as `HH:MM`) on the UTC day `days` after the clock's current day.
fn day_at(app: &TestApp, days: u64, time: &str) -> DateTime<Utc> {
    let day = app.clock.now().date_naive() + Days::new(days);
    let (h, m) = time.split_once(':').unwrap();
    day.and_hms_opt(h.parse().unwrap(), m.parse().unwrap(), 0)
        .unwrap()
        .and_utc()
}

async fn check_in(app: &TestApp, session: &Session, path: &str) -> Value {
    let response = app.post(path).bearer(&session.access_token).send().await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.json()
}

fn day(value: &Value) -> NaiveDate {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a day, not {value}"))
        .parse()
        .expect("YYYY-MM-DD")
}

async fn check_ins_grow_the_streak_daily_keep_it_within_a_day_and_restart_after_a_gap(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    // Ten minutes before midnight UTC, so the next day is near.
    let start = day_at(&app, 1, "23:50");
    app.clock.set(start);
    let day1 = start.date_naive();
    let mut owner = app.user().await;
    let goal = new_goal(&app, &owner, json!({"title": "Daily kata"})).await;
    let path = check_in_at(&owner.user_id, &id(&goal));

    let first = check_in(&app, &owner, &path).await;
    assert_eq!(first["streak_count"], 1);
    assert_eq!(day(&first["last_check_in"]), day1);
    assert_eq!(at(&first["updated_at"]), start);

    // Again the same day: nothing changes, not even updated_at.
    app.clock.advance(Duration::minutes(9));
    let same_day = check_in(&app, &owner, &path).await;
    assert_eq!(same_day, first);

    // Three minutes later it is the next UTC day: one more.
    app.clock.advance(Duration::minutes(3));
    let next_day = check_in(&app, &owner, &path).await;
    assert_eq!(next_day["streak_count"], 2);
    assert_eq!(day(&next_day["last_check_in"]), day1 + Days::new(1));
    assert_eq!(at(&next_day["updated_at"]), app.clock.now());

    // Late the same day (a new login: the access token has expired): still two.
    app.clock.set(
        day1.succ_opt()
            .unwrap()
            .and_hms_opt(23, 59, 0)
            .unwrap()
            .and_utc(),
    );
    owner = log_in_again(&app, &owner).await;
    let late = check_in(&app, &owner, &path).await;
    assert_eq!(late["streak_count"], 2);
    assert_eq!(day(&late["last_check_in"]), day1 + Days::new(1));

    // Day 3: three.
    app.clock.advance(Duration::hours(12));
    owner = log_in_again(&app, &owner).await;
    assert_eq!(check_in(&app, &owner, &path).await["streak_count"], 3);

    // Day 4 missed; day 5 starts over.
    app.clock.advance(Duration::days(2));
    owner = log_in_again(&app, &owner).await;
    let after_gap = check_in(&app, &owner, &path).await;
    assert_eq!(after_gap["streak_count"], 1);
    assert_eq!(day(&after_gap["last_check_in"]), day1 + Days::new(4));

    // Day 6: two; then two days missed, and two check-ins on day 9: one, then still one.
    app.clock.advance(Duration::days(1));
    owner = log_in_again(&app, &owner).await;
    assert_eq!(check_in(&app, &owner, &path).await["streak_count"], 2);
    app.clock.advance(Duration::days(3));
    owner = log_in_again(&app, &owner).await;
    let restarted = check_in(&app, &owner, &path).await;
    assert_eq!(restarted["streak_count"], 1);
    app.clock.advance(Duration::minutes(1));
    let twice = check_in(&app, &owner, &path).await;
    assert_eq!(twice["streak_count"], 1);
    assert_eq!(day(&twice["last_check_in"]), day1 + Days::new(8));

    // The public list shows the same.
    let listed = app.get(&goals_of(&owner.user_id)).send().await.json();
    assert_eq!(listed["items"][0], twice);
}

async fn check_ins_start_a_goal_refuse_closed_ones_and_build_on_a_written_streak(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.clock.set(day_at(&app, 1, "12:00"));
    let mut owner = app.user().await;

    // A not-started goal is started by its first check-in.
    let fresh = new_goal(&app, &owner, json!({"title": "Begin"})).await;
    let started = check_in(&app, &owner, &check_in_at(&owner.user_id, &id(&fresh))).await;
    assert_eq!(started["status"], "in-progress");
    assert_eq!(started["streak_count"], 1);

    // Completed and abandoned goals take no check-ins, and stay as they were.
    for status in ["completed", "abandoned"] {
        let closed = new_goal(
            &app,
            &owner,
            json!({"title": status, "status": status, "streak_count": 4}),
        )
        .await;
        let path = check_in_at(&owner.user_id, &id(&closed));
        let refused = app.post(&path).bearer(&owner.access_token).send().await;
        let problem = refused.problem(409);
        assert_eq!(problem["errors"][0]["field"], "status", "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains(status));
        let listed = app
            .get(&format!("{}?status={status}", goals_of(&owner.user_id)))
            .send()
            .await
            .json();
        assert_eq!(listed["items"], json!([closed]));
        // Reopened, it takes check-ins again.
        let reopened = app
            .patch(&goal_at(&owner.user_id, &id(&closed)))
            .bearer(&owner.access_token)
            .json(json!({"status": "in-progress"}))
            .send()
            .await;
        assert_eq!(reopened.status, 200);
        assert_eq!(check_in(&app, &owner, &path).await["streak_count"], 1);
    }

    // A streak written by hand is where the next day's check-in continues from.
    let path = check_in_at(&owner.user_id, &id(&fresh));
    let written = app
        .patch(&goal_at(&owner.user_id, &id(&fresh)))
        .bearer(&owner.access_token)
        .json(json!({"streak_count": 10}))
        .send()
        .await
        .json();
    assert_eq!(written["streak_count"], 10);
    assert_eq!(check_in(&app, &owner, &path).await["streak_count"], 10);
    app.clock.advance(Duration::days(1));
    owner = log_in_again(&app, &owner).await;
    assert_eq!(check_in(&app, &owner, &path).await["streak_count"], 11);
}

async fn concurrent_check_ins_of_one_goal_count_once_per_day(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.clock.set(day_at(&app, 1, "08:00"));
    let mut owner = app.user().await;
    let admin = app.admin().await;
    let goal = new_goal(&app, &owner, json!({"title": "Together"})).await;
    let path = check_in_at(&owner.user_id, &id(&goal));

    let mut expected = 0;
    for round in 0..3 {
        if round > 0 {
            app.clock.advance(Duration::days(1));
            owner = log_in_again(&app, &owner).await;
        }
        expected += 1;
        let admin_token = log_in_again(&app, &admin).await.access_token;
        let tasks: Vec<_> = (0..6)
            .map(|n| {
                let app = app.clone();
                let path = path.clone();
                // The owner and an admin check in at once.
                let token = if n % 3 == 0 {
                    admin_token.clone()
                } else {
                    owner.access_token.clone()
                };
                tokio::spawn(async move { app.post(&path).bearer(&token).send().await })
            })
            .collect();
        for task in tasks {
            let response = task.await.expect("the request task");
            assert_eq!(response.status, 200, "{}", response.text);
            assert_eq!(response.json()["streak_count"], expected, "round {round}");
        }
        let stored = count_for(
            &app,
            "SELECT COALESCE(MAX(streak_count), 0) FROM goals WHERE user_id = $1",
            &owner.user_id,
        )
        .await;
        assert_eq!(stored, expected);
    }
}

async fn figures_count_badges_goals_and_the_longest_streak(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.clock.set(day_at(&app, 1, "09:00"));
    let mut owner = app.user().await;
    let other = app.user().await;
    let user_id: Uuid = owner.user_id.parse().unwrap();
    assert_eq!(
        figures(&app.state.db, user_id).await.unwrap(),
        AchievementFigures::default()
    );

    new_badge(&app, &owner, json!({"name": "One"})).await;
    new_badge(&app, &owner, json!({"name": "Two"})).await;
    new_goal(
        &app,
        &owner,
        json!({"title": "Done", "status": "completed"}),
    )
    .await;
    let long = new_goal(&app, &owner, json!({"title": "Long", "streak_count": 7})).await;
    let daily = new_goal(&app, &owner, json!({"title": "Daily"})).await;
    new_goal(&app, &owner, json!({"title": "Later"})).await;
    // Another user's achievements do not count.
    new_badge(&app, &other, json!({"name": "One"})).await;
    new_goal(
        &app,
        &other,
        json!({"title": "X", "status": "completed", "streak_count": 50}),
    )
    .await;

    let daily_path = check_in_at(&owner.user_id, &id(&daily));
    check_in(&app, &owner, &daily_path).await;
    app.clock.advance(Duration::days(1));
    owner = log_in_again(&app, &owner).await;
    check_in(&app, &owner, &daily_path).await;

    assert_eq!(
        figures(&app.state.db, user_id).await.unwrap(),
        AchievementFigures {
            badges: 2,
            goals_total: 4,
            goals_completed: 1,
            longest_streak: 7,
        }
    );
    // Without the seven-day goal the longest streak is the daily one's two; figures are
    // the same read inside a transaction (as /me/stats may do).
    let deleted = app
        .delete(&goal_at(&owner.user_id, &id(&long)))
        .bearer(&owner.access_token)
        .send()
        .await;
    assert_eq!(deleted.status, 204);
    let mut tx = app.state.db.begin().await.unwrap();
    assert_eq!(
        figures(&mut tx, user_id).await.unwrap(),
        AchievementFigures {
            badges: 2,
            goals_total: 3,
            goals_completed: 1,
            longest_streak: 2,
        }
    );
    tx.commit().await.unwrap();
    // A user who does not exist has nothing.
    assert_eq!(
        figures(&app.state.db, Uuid::now_v7()).await.unwrap(),
        AchievementFigures::default()
    );
}

async fn deleting_a_user_removes_their_badges_and_goals(backend: Backend) {
    let app = TestApp::new(backend).await;
    let leaving = app.user().await;
    let staying = app.user().await;
    for session in [&leaving, &staying] {
        new_badge(&app, session, json!({"name": "Member"})).await;
        new_badge(&app, session, json!({"name": "Helper"})).await;
        let goal = new_goal(&app, session, json!({"title": "Learn"})).await;
        check_in(&app, session, &check_in_at(&session.user_id, &id(&goal))).await;
    }
    let badges_sql = "SELECT COUNT(*) FROM badges WHERE user_id = $1";
    let goals_sql = "SELECT COUNT(*) FROM goals WHERE user_id = $1";
    assert_eq!(count_for(&app, badges_sql, &leaving.user_id).await, 2);
    assert_eq!(count_for(&app, goals_sql, &leaving.user_id).await, 1);

    delete_user_row(&app, &leaving.user_id).await;

    assert_eq!(count_for(&app, badges_sql, &leaving.user_id).await, 0);
    assert_eq!(count_for(&app, goals_sql, &leaving.user_id).await, 0);
    assert_eq!(count_for(&app, badges_sql, &staying.user_id).await, 2);
    assert_eq!(count_for(&app, goals_sql, &staying.user_id).await, 1);
    app.get(&badges_of(&leaving.user_id))
        .send()
        .await
        .problem(404);
    app.get(&goals_of(&leaving.user_id))
        .send()
        .await
        .problem(404);
    let kept = app.get(&goals_of(&staying.user_id)).send().await.json();
    assert_eq!(kept["items"].as_array().unwrap().len(), 1);
}

async fn achievements_are_documented_in_openapi(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doc: Value = app.get("/openapi.json").send().await.json();
    let paths = &doc["paths"];
    let badges = &paths["/api/v1/users/{user_id}/badges"];
    let goals = &paths["/api/v1/users/{user_id}/goals"];
    let goal = &paths["/api/v1/users/{user_id}/goals/{goal_id}"];
    let check_in = &paths["/api/v1/users/{user_id}/goals/{goal_id}/check-in"];
    let public = [&badges["get"], &goals["get"]];
    let guarded = [
        (&badges["post"], "201"),
        (&goals["post"], "201"),
        (&goal["put"], "200"),
        (&goal["patch"], "200"),
        (&goal["delete"], "204"),
        (&check_in["post"], "200"),
    ];
    for operation in public {
        assert_eq!(operation["tags"], json!(["achievements"]), "{operation}");
        assert!(operation.get("security").is_none(), "{operation}");
        for status in ["200", "404", "422"] {
            assert!(
                operation["responses"][status].is_object(),
                "{status}: {operation}"
            );
        }
    }
    for (operation, success) in guarded {
        assert_eq!(operation["tags"], json!(["achievements"]), "{operation}");
        assert_eq!(
            operation["security"],
            json!([{"bearer": []}]),
            "{operation}"
        );
        for status in [success, "401", "403", "404"] {
            assert!(
                operation["responses"][status].is_object(),
                "{status}: {operation}"
            );
        }
        assert!(
            operation["description"]
                .as_str()
                .is_some_and(|d| d.len() > 100),
            "{operation}"
        );
    }
    assert!(badges["post"]["responses"]["409"].is_object());
    assert!(check_in["post"]["responses"]["409"].is_object());
    assert!(
        goals["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "status" && p["in"] == "query")
    );
    // Operation ids are unique (PUT and PATCH are two operations).
    let mut ids = HashSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            if let Some(op_id) = operation["operationId"].as_str() {
                assert!(
                    ids.insert(op_id.to_owned()),
                    "duplicate operationId {op_id}"
                );
            }
        }
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["GoalStatus"]["enum"],
        json!(["not-started", "in-progress", "completed", "abandoned"])
    );
    for field in ["id", "name", "description", "icon_url", "date_achieved"] {
        assert!(
            schemas["Badge"]["properties"][field].is_object(),
            "Badge.{field}"
        );
    }
    assert_eq!(schemas["AwardBadge"]["required"], json!(["name"]));
    assert_eq!(schemas["CreateGoal"]["required"], json!(["title"]));
    // The update body offers only the writable fields.
    let writable: HashSet<&str> = schemas["UpdateGoal"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        writable,
        HashSet::from(["title", "description", "status", "streak_count"])
    );
}
