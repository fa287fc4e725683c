//! An account's whole life as other services see it: one event per change, in order,
//! numbered 1, 2, 3... for the account, in a CloudEvents envelope, with nothing secret.

use roster::clock::Clock;
use serde_json::{Value, json};

use super::{EVERY_TYPE, events, sequence, types};
use crate::helpers::{Backend, DEFAULT_PASSWORD, Session, TestApp};
use crate::mail::smtp_sink::{Mode, SmtpSink};
use crate::mail::support::{VERIFY, mail_app};
use crate::on_both_engines;

on_both_engines!(
    an_accounts_life_is_told_in_order_without_secrets,
    every_event_has_the_cloudevents_envelope,
);

const NEW_PASSWORD: &str = "Another-Horse-Battery-8";

async fn an_accounts_life_is_told_in_order_without_secrets(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let admin = app.admin().await;

    let registered = app.register("lifecycle", DEFAULT_PASSWORD).await;
    let user_id = registered["id"].as_str().unwrap().to_owned();
    let token = sink
        .wait_for("lifecycle@example.com", VERIFY, 1)
        .await
        .remove(0)
        .token();
    let verified = app
        .post("/api/v1/auth/verify-email")
        .json(json!({"token": token}))
        .send()
        .await;
    assert_eq!(verified.status, 204, "{}", verified.text);
    let session = app.login("lifecycle", DEFAULT_PASSWORD).await;
    let renamed = app
        .put("/api/v1/users/me")
        .bearer(&session.access_token)
        .json(json!({"full_name": "Life Cycle"}))
        .send()
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let changed = app
        .post("/api/v1/auth/change-password")
        .bearer(&session.access_token)
        .json(json!({"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await;
    assert!(changed.status.is_success(), "{}", changed.text);
    let account = format!("/api/v1/admin/users/{user_id}");
    for body in [
        json!({"role": "admin", "tier": "premium"}),
        json!({"is_active": false}),
        json!({"is_active": true}),
    ] {
        let patched = app
            .patch(&account)
            .bearer(&admin.access_token)
            .json(body)
            .send()
            .await;
        assert_eq!(patched.status, 200, "{}", patched.text);
    }
    let deleted = app
        .delete(&format!("/api/v1/users/{user_id}"))
        .bearer(&admin.access_token)
        .send()
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);

    let told = events(
        &app,
        &admin.access_token,
        &format!("subject={user_id}&type={EVERY_TYPE}"),
    )
    .await;
    assert_eq!(
        types(&told),
        [
            "user.created",
            "user.email.verified",
            "session.created",
            "login.succeeded",
            "user.updated",
            "user.password.changed",
            "user.role.changed",
            "user.tier.changed",
            "user.deactivated",
            "user.reactivated",
            "user.deleted",
        ]
    );
    let numbers: Vec<i64> = told
        .iter()
        .map(|e| e["subjectsequence"].as_i64().expect("a JSON number"))
        .collect();
    assert_eq!(numbers, (1..=11).collect::<Vec<_>>());
    assert!(told.windows(2).all(|w| sequence(&w[0]) < sequence(&w[1])));
    assert_eq!(told[4]["data"], json!({"changed": ["full_name"]}));
    assert_eq!(told[6]["data"], json!({"from": "user", "to": "admin"}));
    assert_eq!(told[7]["data"], json!({"from": "basic", "to": "premium"}));
    assert_eq!(told[2]["data"]["session_id"], session.session_id.as_str());

    // Without a type, the named-only login events are left out: the numbers show the gap.
    let unasked = events(&app, &admin.access_token, &format!("subject={user_id}")).await;
    assert_eq!(unasked.len(), 10);
    assert!(!types(&unasked).contains(&"login.succeeded".to_owned()));

    let everything = events(
        &app,
        &admin.access_token,
        &format!("type={EVERY_TYPE}&limit=1000"),
    )
    .await;
    assert!(everything.len() > told.len());
    assert_no_secrets(
        &everything,
        &[&session, &admin],
        &[DEFAULT_PASSWORD, NEW_PASSWORD],
    );
}

/// No event names a secret or carries one: no key mentions a password, hash, token or
/// secret, and no value is a password, a token of `sessions`, or a password hash.
fn assert_no_secrets(events: &[Value], sessions: &[&Session], passwords: &[&str]) {
    fn keys(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    found.push(key.to_ascii_lowercase());
                    keys(inner, found);
                }
            }
            Value::Array(items) => items.iter().for_each(|item| keys(item, found)),
            _ => {}
        }
    }
    for event in events {
        let mut names = Vec::new();
        keys(&event["data"], &mut names);
        for name in &names {
            for word in ["password", "hash", "token", "secret", "seed"] {
                assert!(!name.contains(word), "{name} in {event}");
            }
        }
        let text = event.to_string();
        assert!(!text.contains("$argon2"), "{text}");
        for password in passwords {
            assert!(!text.contains(password), "{text}");
        }
        for session in sessions {
            assert!(!text.contains(&session.access_token), "{text}");
            assert!(!text.contains(&session.refresh_token), "{text}");
        }
    }
}

async fn every_event_has_the_cloudevents_envelope(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("PUBLIC_URL", "https://id.example.com")
        .start()
        .await;
    let admin = app.admin().await;
    let user = app.user().await;
    let told = events(
        &app,
        &admin.access_token,
        &format!("subject={}", user.user_id),
    )
    .await;
    assert_eq!(types(&told), ["user.created", "session.created"]);
    let event = told[1].as_object().unwrap();
    let mut names: Vec<&str> = event.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "data",
            "datacontenttype",
            "id",
            "sequence",
            "source",
            "specversion",
            "subject",
            "subjectsequence",
            "time",
            "type"
        ]
    );
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["source"], "https://id.example.com");
    assert_eq!(event["subject"], user.user_id.as_str());
    assert_eq!(event["datacontenttype"], "application/json");
    assert_eq!(event["subjectsequence"], 2);
    let id = uuid::Uuid::parse_str(event["id"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 7);
    let time = chrono::DateTime::parse_from_rfc3339(event["time"].as_str().unwrap()).unwrap();
    assert_eq!(time.offset().local_minus_utc(), 0);
    assert!(event["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(time, app.clock.now());
    assert!(sequence(&told[1]) > sequence(&told[0]));
}
