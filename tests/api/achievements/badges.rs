//! Badges: who may award and list them, what a badge may hold, one name per user
//! (ignoring case, also under concurrency), the order and pages of the list, and the
//! audit trail.

use chrono::Duration;
use roster::clock::Clock;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::achievements::support::{at, badges_of, new_badge};
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(
    badges_are_awarded_by_the_owner_or_an_admin_and_listed_for_anyone,
    badge_fields_are_validated_naming_every_failing_field,
    badges_take_trimmed_names_defaults_and_past_dates,
    the_same_badge_name_twice_for_one_user_is_409_ignoring_case,
    concurrent_awards_of_one_name_leave_one_badge,
    badges_are_listed_oldest_achievement_first_across_pages,
    badge_awards_are_audited_with_who_acted,
);

async fn badges_are_awarded_by_the_owner_or_an_admin_and_listed_for_anyone(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let other = app.user().await;
    let admin = app.admin().await;
    let path = badges_of(&owner.user_id);

    let by_owner = app
        .post(&path)
        .bearer(&owner.access_token)
        .json(json!({"name": "First steps"}))
        .send()
        .await;
    assert_eq!(by_owner.status, 201, "{}", by_owner.text);
    let by_admin = app
        .post(&path)
        .bearer(&admin.access_token)
        .json(json!({"name": "Given by staff"}))
        .send()
        .await;
    assert_eq!(by_admin.status, 201, "{}", by_admin.text);
    app.post(&path)
        .bearer(&other.access_token)
        .json(json!({"name": "Self-awarded for someone else"}))
        .send()
        .await
        .problem(403);
    let anonymous = app
        .post(&path)
        .json(json!({"name": "Anonymous"}))
        .send()
        .await;
    anonymous.problem(401);
    assert!(anonymous.header("www-authenticate").is_some());
    app.post(&path)
        .bearer("not-a-token")
        .json(json!({"name": "Forged"}))
        .send()
        .await
        .problem(401);

    // Unknown users: an admin learns it is 404; anyone else may not act for that id.
    let nobody = badges_of(&Uuid::now_v7().to_string());
    app.post(&nobody)
        .bearer(&admin.access_token)
        .json(json!({"name": "Ghost"}))
        .send()
        .await
        .problem(404);
    app.post(&nobody)
        .bearer(&other.access_token)
        .json(json!({"name": "Ghost"}))
        .send()
        .await
        .problem(403);
    app.get(&nobody).send().await.problem(404);
    app.get("/api/v1/users/not-a-uuid/badges")
        .send()
        .await
        .problem(404);

    // Anyone lists them, with or without a token: the same two badges.
    for listing in [
        app.get(&path).send().await,
        app.get(&path).bearer(&other.access_token).send().await,
        app.get(&path).bearer(&admin.access_token).send().await,
    ] {
        assert_eq!(listing.status, 200, "{}", listing.text);
        let body = listing.json();
        let names: Vec<&str> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["First steps", "Given by staff"]);
        assert_eq!(body["next_cursor"], Value::Null);
    }
    // A user without badges has an empty list, not a 404.
    let empty = app.get(&badges_of(&other.user_id)).send().await.json();
    assert_eq!(empty, json!({"items": [], "next_cursor": null}));
}

async fn badge_fields_are_validated_naming_every_failing_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let path = badges_of(&owner.user_id);
    let award = |body: Value| {
        app.post(&path)
            .bearer(&owner.access_token)
            .json(body)
            .send()
    };

    let all_bad = award(json!({
        "name": "   ",
        "description": "d".repeat(501),
        "icon_url": "ftp://example.com/a.png",
        "date_achieved": "last tuesday",
    }))
    .await;
    assert_eq!(
        all_bad.failing_fields(),
        ["date_achieved", "description", "icon_url", "name"]
    );
    let wrong_types = award(json!({
        "name": 5, "description": true, "icon_url": 7, "date_achieved": 1_700_000_000
    }))
    .await;
    assert_eq!(
        wrong_types.failing_fields(),
        ["date_achieved", "description", "icon_url", "name"]
    );
    let tomorrow = (app.clock.now() + Duration::days(1)).to_rfc3339();
    for (body, field) in [
        (json!({}), "name"),
        (json!({"name": null}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(101)}), "name"),
        (json!({"name": "two\nlines"}), "name"),
        (
            json!({"name": "ok", "icon_url": "javascript:alert(1)"}),
            "icon_url",
        ),
        (
            json!({"name": "ok", "icon_url": "/relative.png"}),
            "icon_url",
        ),
        (
            json!({"name": "ok", "icon_url": "https://user:pw@example.com/i.png"}),
            "icon_url",
        ),
        (
            json!({"name": "ok", "date_achieved": tomorrow}),
            "date_achieved",
        ),
        (
            json!({"name": "ok", "date_achieved": "2026-01-01"}),
            "date_achieved",
        ),
        (json!({"name": "ok", "user_id": owner.user_id}), "user_id"),
        (json!({"name": "ok", "id": Uuid::now_v7()}), "id"),
    ] {
        let response = award(body.clone()).await;
        assert_eq!(response.failing_fields(), [field], "{body}");
    }
    // Not JSON at all.
    app.post(&path)
        .bearer(&owner.access_token)
        .body("application/json", "{\"name\":")
        .send()
        .await
        .problem(400);
    app.post(&path)
        .bearer(&owner.access_token)
        .body("text/plain", "name=x")
        .send()
        .await
        .problem(415);
    // Nothing was stored by any of these.
    let listed = app.get(&path).send().await.json();
    assert_eq!(listed["items"], json!([]));
}

async fn badges_take_trimmed_names_defaults_and_past_dates(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    app.clock.advance(Duration::seconds(1));
    let now = app.clock.now();

    let plain = new_badge(&app, &owner, json!({"name": "  Week of Rust  "})).await;
    assert_eq!(plain["name"], "Week of Rust");
    assert_eq!(plain["description"], Value::Null);
    assert_eq!(plain["icon_url"], Value::Null);
    assert_eq!(at(&plain["date_achieved"]), now);
    assert!(plain["id"].as_str().unwrap().parse::<Uuid>().is_ok());
    let mut keys: Vec<&String> = plain.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["date_achieved", "description", "icon_url", "id", "name"]
    );

    let full = new_badge(
        &app,
        &owner,
        json!({
            "name": "n".repeat(100),
            "description": format!("line one\n{}", "d".repeat(491)),
            "icon_url": "https://cdn.example.com/badges/rust.png?size=64",
            "date_achieved": "2020-01-02T03:04:05.5+02:00",
        }),
    )
    .await;
    assert_eq!(full["name"].as_str().unwrap().chars().count(), 100);
    assert_eq!(
        full["icon_url"],
        "https://cdn.example.com/badges/rust.png?size=64"
    );
    assert_eq!(
        at(&full["date_achieved"]).to_rfc3339(),
        "2020-01-02T01:04:05.500+00:00"
    );
    // A blank description or null optional fields mean none; a client clock slightly
    // ahead (within a minute) is accepted.
    let skewed = (now + Duration::seconds(30)).to_rfc3339();
    let lenient = new_badge(
        &app,
        &owner,
        json!({"name": "Lenient", "description": "  ", "icon_url": null, "date_achieved": skewed}),
    )
    .await;
    assert_eq!(lenient["description"], Value::Null);
    assert_eq!(at(&lenient["date_achieved"]), now + Duration::seconds(30));
}

async fn the_same_badge_name_twice_for_one_user_is_409_ignoring_case(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let other = app.user().await;
    let admin = app.admin().await;
    new_badge(&app, &owner, json!({"name": "Bug Hunter"})).await;

    for (token, name) in [
        (&owner.access_token, "Bug Hunter"),
        (&owner.access_token, "bug hunter"),
        (&owner.access_token, "  BUG HUNTER "),
        (&admin.access_token, "Bug hunter"),
    ] {
        let response = app
            .post(&badges_of(&owner.user_id))
            .bearer(token)
            .json(json!({"name": name}))
            .send()
            .await;
        let problem = response.problem(409);
        assert_eq!(problem["errors"][0]["field"], "name", "{problem}");
    }
    // Another user may hold the same name.
    new_badge(&app, &other, json!({"name": "Bug Hunter"})).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM badges").await, 2);
}

async fn concurrent_awards_of_one_name_leave_one_badge(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let tasks: Vec<_> = ["Streaker", "streaker", "STREAKER", "Streaker", "sTreaker"]
        .into_iter()
        .map(|name| {
            let app = app.clone();
            let path = badges_of(&owner.user_id);
            let token = owner.access_token.clone();
            tokio::spawn(async move {
                app.post(&path)
                    .bearer(&token)
                    .json(json!({"name": name}))
                    .send()
                    .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let response = task.await.expect("the request task");
        if response.status == 409 {
            assert_eq!(response.problem(409)["errors"][0]["field"], "name");
        }
        statuses.push(response.status.as_u16());
    }
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409]);
    assert_eq!(app.count("SELECT COUNT(*) FROM badges").await, 1);
}

async fn badges_are_listed_oldest_achievement_first_across_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let path = badges_of(&owner.user_id);
    // Three badges share one date: the id breaks the tie, so the order stays total.
    for (name, date) in [
        ("d", "2024-03-01T00:00:00Z"),
        ("a", "2021-05-05T10:00:00Z"),
        ("tie 1", "2023-07-07T07:07:07.123456Z"),
        ("tie 2", "2023-07-07T07:07:07.123456Z"),
        ("c", "2022-01-01T00:00:00Z"),
        ("tie 3", "2023-07-07T07:07:07.123456Z"),
    ] {
        new_badge(&app, &owner, json!({"name": name, "date_achieved": date})).await;
    }
    new_badge(&app, &owner, json!({"name": "today"})).await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            None => format!("{path}?limit=2"),
            Some(c) => format!("{path}?limit=2&cursor={c}"),
        };
        let page = app.get(&url).send().await;
        assert_eq!(page.status, 200, "{}", page.text);
        let page = page.json();
        pages += 1;
        for badge in page["items"].as_array().unwrap() {
            seen.push(badge["name"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        // A badge awarded meanwhile, dated before the pages read so far, does not
        // shift the later pages.
        if pages == 2 {
            new_badge(
                &app,
                &owner,
                json!({"name": "late", "date_achieved": "2000-01-01T00:00:00Z"}),
            )
            .await;
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, ["a", "c", "tie 1", "tie 2", "tie 3", "d", "today"]);
    // Everything on one page, including the late one, in the same order.
    let all = app.get(&format!("{path}?limit=100")).send().await.json();
    let names: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["late", "a", "c", "tie 1", "tie 2", "tie 3", "d", "today"]
    );
    assert_eq!(all["next_cursor"], Value::Null);
    // The default page size is 20; bad parameters are named, all at once.
    assert_eq!(
        app.get(&path).send().await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    let bad = app
        .get(&format!("{path}?limit=0&cursor=bogus"))
        .send()
        .await;
    assert_eq!(bad.failing_fields(), ["cursor", "limit"]);
    let too_many = app.get(&format!("{path}?limit=101")).send().await;
    assert_eq!(too_many.failing_fields(), ["limit"]);
    let unknown = app.get(&format!("{path}?sort=name")).send().await;
    assert_eq!(unknown.failing_fields(), ["sort"]);
}

async fn badge_awards_are_audited_with_who_acted(backend: Backend) {
    let app = TestApp::new(backend).await;
    let owner = app.user().await;
    let admin = app.admin().await;
    new_badge(&app, &owner, json!({"name": "Own"})).await;
    let by_admin = app
        .post(&badges_of(&owner.user_id))
        .bearer(&admin.access_token)
        .json(json!({"name": "From staff"}))
        .send()
        .await;
    assert_eq!(by_admin.status, 201);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'badge_awarded'")
            .await,
        2
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_events WHERE event = 'badge_awarded' AND actor_id = user_id"
        )
        .await,
        1
    );
    // A refused award leaves no trace.
    app.post(&badges_of(&owner.user_id))
        .bearer(&owner.access_token)
        .json(json!({"name": "own"}))
        .send()
        .await
        .problem(409);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'badge_awarded'")
            .await,
        2
    );
}
