//! Three `roster serve` processes on one PostgreSQL database and one Redis, behind a real
//! nginx: what one instance does holds on the others within `KEY_REFRESH_SECONDS`
//! (logout, password change, deactivation, `roster keys rotate` run as a process), the
//! lockout and the rate limit are shared, and killing an instance (SIGKILL) mid-load loses
//! no accepted registration.
//!
//! PostgreSQL only: several processes on one SQLite file is not a deployment Roster
//! describes. The test fails (never skips) when PostgreSQL, Redis or nginx is missing
//! (`.ci/run` installs nginx). Propagation across processes is real time, so the checks
//! poll with a bounded deadline; nothing waits a fixed time.

mod support;

use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp, kid_of, wait_beside_the_app};
use support::{Client, Instance, Proxy, start_instance, within};

/// How often the instances reload signing keys; every check must hold within it.
const KEY_REFRESH: Duration = Duration::from_secs(2);
/// What a check may take beyond `KEY_REFRESH` for the requests that observe it.
const OBSERVE: Duration = Duration::from_millis(700);
const AUTH_BUDGET_PER_MINUTE: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_behind_nginx_hold_each_others_changes_and_lose_no_write() {
    // The database (fresh, migrated, with its first signing key) and the shared settings.
    let app = TestApp::new(Backend::Postgres).await;
    let prefix = format!("roster-cluster-{}:", uuid::Uuid::new_v4().simple());
    let mut shared: Vec<(String, String)> = [
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("KEY_REFRESH_SECONDS", "2"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("LOGIN_MAX_FAILURES", "3"),
        ("ARGON2_MEMORY_KIB", "1024"),
        ("ARGON2_ITERATIONS", "1"),
        ("ROSTER_ADMIN_PASSWORD", DEFAULT_PASSWORD),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    shared.push(("REDIS_KEY_PREFIX".into(), prefix));
    shared.push((
        "RATE_LIMIT_AUTH_PER_MINUTE".into(),
        AUTH_BUDGET_PER_MINUTE.to_string(),
    ));
    // One issuer for all (what matters is that it is the same on every instance).
    shared.push(("PUBLIC_URL".into(), "http://roster.cluster.test".into()));
    let instances: Vec<Instance> = (0..3).map(|_| start_instance(&app, &shared)).collect();
    let proxy = Proxy::start(&app.data_dir(), &instances.iter().collect::<Vec<_>>());
    let (a, b, c) = (&instances[0].base, &instances[1].base, &instances[2].base);
    let others = [b.clone(), c.clone()];
    let probe = Client::from("10.0.0.1");
    within(
        Instant::now(),
        Duration::from_secs(10),
        "nginx serves",
        || async {
            probe
                .send(
                    reqwest::Method::GET,
                    format!("{}/health", proxy.base),
                    None,
                    None,
                )
                .await
                .is_ok_and(|(status, _)| status == StatusCode::OK)
        },
    )
    .await;

    // A logout on one instance holds on the others.
    let client = Client::from("10.0.1.1");
    assert_eq!(
        client.register(&proxy.base, "logout_user").await,
        StatusCode::CREATED
    );
    let (token, _) = client.login(a, "logout_user", DEFAULT_PASSWORD).await;
    for base in &others {
        assert_eq!(client.me(base, &token).await, StatusCode::OK);
    }
    let (status, _) = client
        .post(a, "/api/v1/auth/logout", Some(&token), json!({}))
        .await;
    assert!(status.is_success(), "logout: {status}");
    refused_on(&client, &others, &token, "logout holds on another instance").await;

    // A password change revokes the other sessions everywhere, and the new password
    // works on every instance.
    let client = Client::from("10.0.2.1");
    assert_eq!(
        client.register(&proxy.base, "changer").await,
        StatusCode::CREATED
    );
    let (other_session, _) = client.login(b, "changer", DEFAULT_PASSWORD).await;
    let (own, _) = client.login(a, "changer", DEFAULT_PASSWORD).await;
    let new_password = "Another-Horse-Battery-8";
    let (status, body) = client
        .post(
            a,
            "/api/v1/auth/change-password",
            Some(&own),
            json!({"current_password": DEFAULT_PASSWORD, "new_password": new_password}),
        )
        .await;
    assert!(status.is_success(), "change-password: {status} {body}");
    refused_on(
        &client,
        &others,
        &other_session,
        "a password change holds on another instance",
    )
    .await;
    client.login(c, "changer", new_password).await;

    // A deactivation by an administrator on one instance holds on the others.
    let admin = run_roster(
        &app,
        &shared,
        &[
            "create-admin",
            "--username",
            "root",
            "--email",
            "root@example.com",
        ],
    );
    assert!(
        admin.status.success(),
        "{}",
        String::from_utf8_lossy(&admin.stderr)
    );
    let client = Client::from("10.0.3.1");
    let (admin_token, _) = client.login(a, "root", DEFAULT_PASSWORD).await;
    assert_eq!(
        client.register(&proxy.base, "leaver").await,
        StatusCode::CREATED
    );
    let (leaver, leaver_id) = client.login(c, "leaver", DEFAULT_PASSWORD).await;
    let (status, body) = client
        .send(
            reqwest::Method::PATCH,
            format!("{a}/api/v1/admin/users/{leaver_id}"),
            Some(&admin_token),
            Some(json!({"is_active": false})),
        )
        .await
        .unwrap();
    assert!(status.is_success(), "deactivate: {status} {body}");
    refused_on(
        &client,
        &others,
        &leaver,
        "a deactivation holds on another instance",
    )
    .await;

    // `roster keys rotate`, run as a process: every instance publishes the new key and
    // signs with it within KEY_REFRESH_SECONDS; tokens of the old key stay valid.
    let client = Client::from("10.0.4.1");
    assert_eq!(
        client.register(&proxy.base, "rotator").await,
        StatusCode::CREATED
    );
    let observers: Vec<Client> = (0..3)
        .map(|i| Client::from(&format!("10.0.4.{}", 10 + i)))
        .collect();
    let (before, _) = client.login(a, "rotator", DEFAULT_PASSWORD).await;
    let rotated = run_roster(&app, &shared, &["keys", "rotate"]);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let done = Instant::now();
    let said = String::from_utf8_lossy(&rotated.stdout).into_owned();
    let new_kid = said
        .split_whitespace()
        .nth(3)
        .unwrap()
        .trim_end_matches(';')
        .to_owned();
    assert!(
        said.contains(&format!("retired {}", kid_of(&before))),
        "{said}"
    );
    for (base, observer) in [a, b, c].into_iter().zip(&observers) {
        within(
            done,
            KEY_REFRESH + OBSERVE,
            "an instance signs with the rotated key",
            || async {
                let (_, jwks) = observer.get(base, "/.well-known/jwks.json", None).await;
                if !jwks.to_string().contains(&new_kid) {
                    return false;
                }
                let (token, _) = observer.login(base, "rotator", DEFAULT_PASSWORD).await;
                kid_of(&token) == new_kid
            },
        )
        .await;
        assert_eq!(
            client.me(base, &before).await,
            StatusCode::OK,
            "the old key still verifies"
        );
    }

    // The lockout is shared: failures on three instances lock the account on all.
    let client = Client::from("10.0.5.1");
    assert_eq!(
        client.register(&proxy.base, "guarded").await,
        StatusCode::CREATED
    );
    for base in [a, b, c] {
        let (status, _) = client
            .post(
                base,
                "/api/v1/auth/login",
                None,
                json!({"login": "guarded", "password": "Wrong-Password-1"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    for base in [a, b, c] {
        let (status, body) = client
            .post(
                base,
                "/api/v1/auth/login",
                None,
                json!({"login": "guarded", "password": DEFAULT_PASSWORD}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::TOO_MANY_REQUESTS,
            "locked on {base}: {body}"
        );
    }

    // The rate limit is shared (Redis): one client's budget spent across the instances.
    let client = Client::from("10.0.6.1");
    let spending = Instant::now();
    let mut allowed = 0;
    for attempt in 0..2 * AUTH_BUDGET_PER_MINUTE {
        let base = &instances[attempt % 3].base;
        let (status, _) = client
            .post(
                base,
                "/api/v1/auth/login",
                None,
                json!({"login": format!("nobody{attempt}"), "password": "x"}),
            )
            .await;
        if status != StatusCode::TOO_MANY_REQUESTS {
            allowed += 1;
        }
    }
    // What the budget refilled meanwhile (evenly over a minute).
    let refilled =
        (spending.elapsed().as_secs_f64() * AUTH_BUDGET_PER_MINUTE as f64 / 60.0).ceil() as usize;
    assert!(
        allowed <= AUTH_BUDGET_PER_MINUTE + refilled,
        "{allowed} of {} requests allowed with a budget of {AUTH_BUDGET_PER_MINUTE} shared by 3 instances",
        2 * AUTH_BUDGET_PER_MINUTE
    );

    // SIGKILL one instance while registrations go through the proxy: every registration
    // answered 2xx exists afterwards.
    let accepted = Arc::new(Mutex::new(Vec::<String>::new()));
    let killed_at = Arc::new(Mutex::new(None::<Instant>));
    let mut load = Vec::new();
    for worker in 0..4 {
        let accepted = accepted.clone();
        let proxy = proxy.base.clone();
        load.push(tokio::spawn(async move {
            let mut successes = Vec::new();
            for n in 0..20 {
                // One client address per registration: the budget is not what is tested.
                let client = Client::from(&format!("10.1.{worker}.{n}"));
                let username = format!("load_{worker}_{n}");
                let status = client.register(&proxy, &username).await;
                if status.is_success() {
                    accepted.lock().unwrap().push(username.clone());
                    successes.push((Instant::now(), username));
                }
            }
            successes
        }));
    }
    {
        let accepted = accepted.clone();
        within(
            Instant::now(),
            Duration::from_secs(60),
            "registrations start",
            || {
                let n = accepted.lock().unwrap().len();
                async move { n >= 10 }
            },
        )
        .await;
    }
    let mut victim = instances.into_iter();
    let (first, second, mut third) = (
        victim.next().unwrap(),
        victim.next().unwrap(),
        victim.next().unwrap(),
    );
    third.child.kill().expect("SIGKILL");
    third.child.wait().expect("the killed instance is reaped");
    *killed_at.lock().unwrap() = Some(Instant::now());
    let mut after_kill = 0;
    for worker in load {
        let killed = killed_at.lock().unwrap().unwrap();
        after_kill += worker
            .await
            .unwrap()
            .into_iter()
            .filter(|(at, _)| *at > killed)
            .count();
    }
    assert!(
        after_kill > 0,
        "registrations went on after the kill: {}",
        proxy.error_log()
    );
    let accepted = accepted.lock().unwrap().clone();
    let roster::db::Db::Postgres(pool) = &app.state.db else {
        unreachable!()
    };
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = ANY($1)")
        .bind(&accepted)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        stored as usize,
        accepted.len(),
        "every accepted registration exists"
    );
    eprintln!(
        "cluster: {} registrations accepted, {after_kill} after the SIGKILL; {allowed} of {} rate-limited requests allowed",
        accepted.len(),
        2 * AUTH_BUDGET_PER_MINUTE
    );
    // The survivors still serve, through the proxy too.
    for base in [&first.base, &second.base, &proxy.base] {
        let client = Client::from("10.0.7.1");
        client.login(base, &accepted[0], DEFAULT_PASSWORD).await;
    }
}

/// Waits (at most `KEY_REFRESH_SECONDS` and the time to observe) until every instance in
/// `others` refuses `token`: what one instance revoked holds on the rest.
async fn refused_on(client: &Client, others: &[String], token: &str, what: &str) {
    let done = Instant::now();
    for base in others {
        within(done, KEY_REFRESH + OBSERVE, what, || async {
            client.me(base, token).await == StatusCode::UNAUTHORIZED
        })
        .await;
    }
}

/// Runs a `roster` command on the cluster's database, as an operator would beside it.
fn run_roster(app: &TestApp, shared: &[(String, String)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_roster"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(shared.iter().cloned())
        .env("DATABASE_URL", &app.vars()["DATABASE_URL"])
        .env("ENCRYPTION_KEY", &app.vars()["ENCRYPTION_KEY"])
        .current_dir(app.data_dir());
    wait_beside_the_app(|| command.output()).expect("the roster binary runs")
}
