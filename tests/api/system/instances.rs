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
