//! The extended profile: partial updates, clearing, the derived age, validation of every
//! field (named by its dotted path), and who may read another member's profile.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;
use crate::users::support::{full_profile, get_ok, premium};

on_both_engines!(
    an_empty_profile_is_all_null,
    put_and_patch_update_the_given_fields_and_null_clears,
    age_is_derived_from_the_date_of_birth_on_the_clock,
    every_invalid_profile_field_is_named_at_once,
    the_shipping_address_is_checked_field_by_field,
    delete_clears_the_profile,
    premium_members_and_admins_read_other_profiles_basic_members_do_not,
);

async fn an_empty_profile_is_all_null(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let profile = get_ok(&app, "/api/v1/users/me/profile", &alice.access_token).await;
    for field in [
        "date_of_birth",
        "age",
        "occupation",
        "location",
        "phone",
        "current_title",
        "bio",
        "avatar_url",
        "shipping_address",
        "updated_at",
    ] {
        assert!(profile[field].is_null(), "{field}: {profile}");
    }
    app.get("/api/v1/users/me/profile")
        .send()
        .await
        .problem(401);
}

async fn put_and_patch_update_the_given_fields_and_null_clears(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let put = app
        .put("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(full_profile())
        .send()
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let profile = put.json();
    assert_eq!(profile["date_of_birth"], "1990-05-17");
    assert_eq!(profile["phone"], "+12125551234");
    assert_eq!(profile["shipping_address"]["country"], "US", "upper-cased");
    assert_eq!(profile["shipping_address"]["line2"], "Apt 2");
    assert!(profile["updated_at"].is_string());
    assert_eq!(
        get_ok(&app, "/api/v1/users/me/profile", &alice.access_token).await,
        profile
    );

    app.clock.advance(chrono::Duration::minutes(1));
    let patch = app
        .patch("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(json!({"occupation": "Teacher", "phone": null, "bio": ""}))
        .send()
        .await;
    let patched = patch.json();
    assert_eq!(patched["occupation"], "Teacher");
    assert!(patched["phone"].is_null(), "null clears");
    assert!(patched["bio"].is_null(), "empty text clears");
    assert_eq!(patched["location"], "New York", "absent fields stay");
    assert_eq!(patched["shipping_address"], profile["shipping_address"]);
    assert_ne!(patched["updated_at"], profile["updated_at"]);

    // PUT is partial too (the contract: PUT and PATCH update the given fields).
    let put_again = app
        .put("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(json!({"shipping_address": null}))
        .send()
        .await
        .json();
    assert!(put_again["shipping_address"].is_null());
    assert_eq!(put_again["occupation"], "Teacher");
    // An empty body changes nothing.
    let unchanged = app
        .patch("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(json!({}))
        .send()
        .await
        .json();
    assert_eq!(unchanged, put_again);
    let changes = app
        .count("SELECT COUNT(*) FROM audit_events WHERE event = 'profile_change'")
        .await;
    assert_eq!(changes, 3);
}

async fn age_is_derived_from_the_date_of_birth_on_the_clock(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let today = app.clock_today();
    let birthday = today
        .with_year(today.year() - 30)
        .unwrap_or_else(|| today - chrono::Duration::days(365 * 30))
        + chrono::Duration::days(1);
    let profile = app
        .put("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(json!({"date_of_birth": birthday.format("%Y-%m-%d").to_string()}))
        .send()
        .await
        .json();
    assert_eq!(profile["age"], 29, "{profile}");
    app.clock.advance(chrono::Duration::days(1));
    let alice = app.login(&alice.username, &alice.password).await;
    let later = get_ok(&app, "/api/v1/users/me/profile", &alice.access_token).await;
    assert_eq!(later["age"], 30, "a birthday passed on the clock");
}

trait ClockToday {
    fn clock_today(&self) -> chrono::NaiveDate;
}

impl ClockToday for TestApp {
    fn clock_today(&self) -> chrono::NaiveDate {
        use roster::clock::Clock;
        self.clock.now().date_naive()
    }
}

use chrono::Datelike;

async fn every_invalid_profile_field_is_named_at_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let future = (app.clock_today() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let response = app
        .put("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(json!({
            "date_of_birth": future,
            "occupation": "x".repeat(101),
            "location": "line\nbreak",
            "phone": "212-555-1234",
            "current_title": "t".repeat(101),
            "bio": "b".repeat(1001),
            "avatar_url": "javascript:alert(1)",
            "shipping_address": {"line1": "1 Main St", "city": "Paris", "country": "XX"}
        }))
        .send()
        .await;
    assert_eq!(
        response.failing_fields(),
        [
            "avatar_url",
            "bio",
            "current_title",
            "date_of_birth",
            "location",
            "occupation",
            "phone",
            "shipping_address.country"
        ]
    );
    let cases: Vec<(Value, &str)> = vec![
        (json!({"date_of_birth": "1990-02-30"}), "date_of_birth"),
        (json!({"date_of_birth": "17/05/1990"}), "date_of_birth"),
        (json!({"date_of_birth": "1850-01-01"}), "date_of_birth"),
        (
            json!({"date_of_birth": (app.clock_today() - chrono::Duration::days(365 * 5)).format("%Y-%m-%d").to_string()}),
            "date_of_birth",
        ),
        (json!({"phone": "+0123456"}), "phone"),
        (json!({"phone": "+1234567890123456"}), "phone"),
        (
            json!({"avatar_url": "ftp://example.com/a.png"}),
            "avatar_url",
        ),
        (
            json!({"avatar_url": "data:image/png;base64,AAAA"}),
            "avatar_url",
        ),
        (json!({"avatar_url": "https://"}), "avatar_url"),
        (
            json!({"avatar_url": format!("https://example.com/{}", "a".repeat(2048))}),
            "avatar_url",
        ),
        (json!({"occupation": 42}), "occupation"),
        (json!({"bio": "bell\u{7}"}), "bio"),
    ];
    for (body, field) in cases {
        let response = app
            .patch("/api/v1/users/me/profile")
            .bearer(&alice.access_token)
            .json(body.clone())
            .send()
            .await;
        assert_eq!(response.failing_fields(), [field], "{body}");
    }
    // Nothing was stored by the failed requests.
    let profile = get_ok(&app, "/api/v1/users/me/profile", &alice.access_token).await;
    assert!(profile["updated_at"].is_null(), "{profile}");
}

async fn the_shipping_address_is_checked_field_by_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let response = app
        .put("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(json!({"shipping_address": {"line2": "l".repeat(201), "region": "r".repeat(101), "postal_code": "12$45"}}))
        .send()
        .await;
    assert_eq!(
        response.failing_fields(),
        [
            "shipping_address.city",
            "shipping_address.country",
            "shipping_address.line1",
            "shipping_address.line2",
            "shipping_address.postal_code",
            "shipping_address.region"
        ]
    );
    let unknown = app
        .put("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(json!({"shipping_address": {"line1": "1 Main", "city": "Oslo", "country": "NO", "planet": "Mars"}}))
        .send()
        .await;
    assert_eq!(unknown.failing_fields(), ["shipping_address.planet"]);
    let uk = app
        .put("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(json!({"shipping_address": {"line1": "1 Main", "city": "London", "country": "UK"}}))
        .send()
        .await;
    assert_eq!(
        uk.failing_fields(),
        ["shipping_address.country"],
        "UK is not ISO 3166-1 (GB is)"
    );
    let ok = app
        .put("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(json!({"shipping_address": {"line1": "10 Downing St", "city": "London", "postal_code": "SW1A 2AA", "country": "GB"}}))
        .send()
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.json()["shipping_address"]["line2"].is_null());
}

async fn delete_clears_the_profile(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    app.put("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(full_profile())
        .send()
        .await;
    let deleted = app
        .delete("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .send()
        .await;
    assert_eq!(deleted.status, 204);
    let profile = get_ok(&app, "/api/v1/users/me/profile", &alice.access_token).await;
    assert!(profile["occupation"].is_null() && profile["updated_at"].is_null());
    assert_eq!(app.count("SELECT COUNT(*) FROM user_profiles").await, 0);
    // Idempotent.
    assert_eq!(
        app.delete("/api/v1/users/me/profile")
            .bearer(&alice.access_token)
            .send()
            .await
            .status,
        204
    );
    // The public view loses avatar and bio too.
    let public = app
        .get(&format!("/api/v1/users/{}", alice.user_id))
        .send()
        .await
        .json();
    assert!(public["avatar_url"].is_null() && public["bio"].is_null());
}

async fn premium_members_and_admins_read_other_profiles_basic_members_do_not(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = app.user().await;
    let basic = app.user().await;
    let gold = premium(&app).await;
    let admin = app.admin().await;
    app.put("/api/v1/users/me/profile")
        .bearer(&alice.access_token)
        .json(full_profile())
        .send()
        .await;
    let path = format!("/api/v1/users/{}/profile", alice.user_id);
    app.get(&path).send().await.problem(401);
    app.get(&path)
        .bearer(&basic.access_token)
        .send()
        .await
        .problem(403);
    for token in [&gold.access_token, &admin.access_token, &alice.access_token] {
        let profile = get_ok(&app, &path, token).await;
        assert_eq!(profile["occupation"], "Engineer");
    }
    app.get(&format!("/api/v1/users/{}/profile", uuid::Uuid::now_v7()))
        .bearer(&gold.access_token)
        .send()
        .await
        .problem(404);
    // Downgrading takes the right away on the next request.
    app.post("/api/v1/users/me/downgrade")
        .bearer(&gold.access_token)
        .send()
        .await;
    app.get(&path)
        .bearer(&gold.access_token)
        .send()
        .await
        .problem(403);
}
