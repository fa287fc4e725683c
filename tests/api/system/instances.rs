//! Instances that disagree say so: `roster instances` lists the live ones with their
//! issuer and signing key, and warns (exit status 2) when they differ.

use chrono::Duration;
use roster::clock::Clock;

use super::cli::{roster, text};
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(
    roster_instances_shows_instances_whose_issuers_differ,
    instances_that_stop_heartbeating_count_as_gone,
    serving_on_postgres_without_public_url_warns_that_the_issuer_is_its_own,
);

async fn roster_instances_shows_instances_whose_issuers_differ(backend: Backend) {
    let app = TestApp::new(backend).await;
    let kid = app.state.tokens.key_set().signing_kid.clone();
    let agreeing = roster(&app, &["instances"], &[], None);
    assert!(agreeing.status.success(), "{}", text(&agreeing));
    let listing = text(&agreeing);
    assert!(
        listing.contains("http://roster.test") && listing.contains(&kid),
        "{listing}"
    );
    assert!(!listing.contains("warning"), "{listing}");
    // A second instance whose PUBLIC_URL is unset: its issuer is its own address, and
    // it refuses the first one's tokens.
    let stray = app
        .restarted_with(&[("PUBLIC_URL", ""), ("PORT", "8123")])
        .await;
    let alice = app.user().await;
    let refused = stray
        .get("/api/v1/auth/me")
        .bearer(&alice.access_token)
        .send()
        .await;
    assert_eq!(refused.status, 401);
    let output = roster(&app, &["instances"], &[], None);
    let listing = text(&output);
    assert_eq!(output.status.code(), Some(2), "{listing}");
    assert!(listing.contains("http://127.0.0.1:8123"), "{listing}");
    assert!(
        listing.contains("different issuers (http://127.0.0.1:8123, http://roster.test)")
            && listing.contains("PUBLIC_URL"),
        "{listing}"
    );
}

async fn instances_that_stop_heartbeating_count_as_gone(backend: Backend) {
    let app = TestApp::new(backend).await;
    let now = app.clock.now();
    let live = roster::system::instances::live(&app.state.db, now)
        .await
        .unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].issuer, "http://roster.test");
    assert_eq!(live[0].signing_kid, app.state.tokens.key_set().signing_kid);
    let later = now
        + Duration::from_std(roster::system::instances::GONE_AFTER).unwrap()
        + Duration::seconds(1);
    assert!(
        roster::system::instances::live(&app.state.db, later)
            .await
            .unwrap()
            .is_empty()
    );
    // A heartbeat brings it back, with the key it signs with now.
    app.clock.advance(Duration::seconds(30));
    let sibling = app.sibling().await;
    let live = roster::system::instances::live(&sibling.state.db, sibling.clock.now())
        .await
        .unwrap();
    assert_eq!(live.len(), 1, "only the instance that heartbeat recently");
}

async fn serving_on_postgres_without_public_url_warns_that_the_issuer_is_its_own(backend: Backend) {
    use std::io::{BufRead, BufReader};
    let app = TestApp::new(backend).await;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_roster"));
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(app.data_dir());
    for (name, value) in app.vars() {
        command.env(name, value);
    }
    let mut child = command
        .env("PUBLIC_URL", "")
        .env("PORT", "0")
        .env("RUST_LOG", "warn,roster=info")
        .env("LOG_FORMAT", "json")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("roster serve starts");
    // Start-up logs until the line that says it serves (or the process ends).
    let stderr = child.stderr.take().unwrap();
    let logged = crate::helpers::wait_beside_the_app(|| {
        let mut logged = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let serving = line.contains("serving");
            logged.push(line);
            if serving {
                break;
            }
        }
        logged
    });
    let _ = child.kill();
    let _ = child.wait();
    let logged = logged.join("\n");
    assert!(logged.contains("serving"), "{logged}");
    let warned = logged.contains("PUBLIC_URL is unset") && logged.contains("WARN");
    assert_eq!(warned, backend == Backend::Postgres, "{logged}");
}
