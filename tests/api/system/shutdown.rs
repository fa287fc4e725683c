//! Graceful shutdown of the real binary: on SIGTERM it stops accepting connections,
//! finishes the requests it has accepted (for at most SHUTDOWN_DRAIN_SECONDS), closes
//! the database and exits 0.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::process::RosterProcess;
use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;

on_both_engines!(
    sigterm_under_load_finishes_every_accepted_request_and_exits_0,
    the_drain_is_bounded_by_shutdown_drain_seconds,
);

async fn register(client: &reqwest::Client, base: &str, username: &str) {
    let response = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"username": username, "email": format!("{username}@example.com"), "password": DEFAULT_PASSWORD}))
        .send()
        .await
        .expect("register");
    assert_eq!(response.status(), 201);
}

/// One request's outcome: its status (or transport error) and when it ended.
type Outcome = (Result<u16, String>, Instant);

fn post(
    client: &reqwest::Client,
    url: String,
    body: Value,
) -> impl Future<Output = Outcome> + use<> {
    let request = client.post(url).json(&body).send();
    async move {
        let result = match request.await {
            Ok(response) => Ok(response.status().as_u16()),
            Err(e) => Err(format!("{e:?}")),
        };
        (result, Instant::now())
    }
}

fn login(
    client: &reqwest::Client,
    base: &str,
    username: &str,
) -> impl Future<Output = Outcome> + use<> {
    post(
        client,
        format!("{base}/api/v1/auth/login"),
        json!({"login": username, "password": DEFAULT_PASSWORD}),
    )
}

async fn sigterm_under_load_finishes_every_accepted_request_and_exits_0(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut server = RosterProcess::start(
        &app,
        "info",
        &[
            ("RATE_LIMIT_AUTH_PER_MINUTE", "100000"),
            ("SHUTDOWN_DRAIN_SECONDS", "20"),
            // Three times the default cost: the sixteen queued logins take well over the
            // 200 ms gap below to drain (at the default cost, on a fast day, they did not).
            ("ARGON2_ITERATIONS", "6"),
        ],
    );
    let base = server.base.clone();
    let client = reqwest::Client::new();
    for n in 0..16 {
        register(&client, &base, &format!("uma{n}")).await;
    }

    // Sixteen clients (one account each: concurrent logins of one account are held back
    // by the lockout) log in over and over, so the logins queue on the hashing threads
    // and many are in flight at any moment.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..16)
        .map(|n| {
            let (client, base, stop) = (client.clone(), base.clone(), stop.clone());
            tokio::spawn(async move {
                let username = format!("uma{n}");
                let mut outcomes = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    outcomes.push(login(&client, &base, &username).await);
                }
                outcomes
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // No client starts a request after this; the ones under way have been read by the
    // server well before the signal (the gap is far longer than a read takes).
    stop.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    server.sigterm();

    // New connections are refused while the accepted requests finish.
    let address = base.trim_start_matches("http://").to_owned();
    let refused = tokio::time::timeout(Duration::from_secs(5), async {
        while tokio::net::TcpStream::connect(&address).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(refused.is_ok(), "still accepting connections after SIGTERM");

    let mut total = 0;
    let mut finished_after_signal = 0;
    for handle in clients {
        for (result, ended) in handle.await.unwrap() {
            total += 1;
            assert_eq!(result, Ok(200), "an accepted request failed");
            if ended > signalled {
                finished_after_signal += 1;
            }
        }
    }
    let (status, exited) = server.wait(Duration::from_secs(30));
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(status.code(), Some(0));
    assert!(
        finished_after_signal > 0,
        "no request was in flight at SIGTERM, so the drain was not exercised ({total} requests)"
    );
    assert!(server.logged("every in-flight request finished"));
    eprintln!(
        "{backend:?}: {total} logins, {finished_after_signal} finished during the drain; exited {:?} after SIGTERM",
        exited - signalled
    );
}

async fn the_drain_is_bounded_by_shutdown_drain_seconds(backend: Backend) {
    let app = TestApp::new(backend).await;
    // Password hashes that take seconds, so that requests outlast a 1 s drain.
    let mut server = RosterProcess::start(
        &app,
        "info",
        &[
            ("SHUTDOWN_DRAIN_SECONDS", "1"),
            ("REQUEST_TIMEOUT_SECONDS", "60"),
            ("ARGON2_MEMORY_KIB", "65536"),
            ("ARGON2_ITERATIONS", "40"),
        ],
    );
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let slow: Vec<_> = (0..4)
        .map(|n| {
            tokio::spawn(post(
                &client,
                format!("{base}/api/v1/auth/register"),
                json!({"username": format!("vera{n}"), "email": format!("vera{n}@example.com"), "password": DEFAULT_PASSWORD}),
            ))
        })
        .collect();
    // Each registration hashes for seconds; signal while they are under way.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let signalled = Instant::now();
    server.sigterm();
    let (status, exited) = server.wait(Duration::from_secs(30));
    let took = exited - signalled;
    assert_eq!(status.code(), Some(0), "{status:?}");
    // The drain (1 s) plus at most the pool's closing and the runtime's one second for
    // hashes still running on blocking threads.
    assert!(
        took < Duration::from_secs(4),
        "exited {took:?} after SIGTERM"
    );
    assert!(server.logged("drain time is over"));
    let mut abandoned = 0;
    for handle in slow {
        if handle.await.unwrap().0.is_err() {
            abandoned += 1;
        }
    }
    assert!(
        abandoned > 0,
        "every slow request finished within the drain"
    );
    eprintln!(
        "{backend:?}: exited {took:?} after SIGTERM, {abandoned} slow registrations abandoned"
    );
}
