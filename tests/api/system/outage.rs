//! Database outages: Roster answers 503 quickly, never lets a request through because a
//! check could not run, and recovers by itself.
//!
//! PostgreSQL runs behind a TCP proxy written here, which the test cuts (connections
//! reset, new ones refused: the server is down) or stalls (connections open but silent:
//! a network partition). SQLite has no network to cut; its outage is another process
//! holding the write lock past the busy timeout (a stuck writer, a backup, a migration
//! run by hand). Readers in WAL mode are never blocked by that, so on SQLite reads go on
//! working and every write, and `/health`, which checks that a write transaction can
//! start, answers 503.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp};
use crate::on_both_engines;

on_both_engines!(a_database_outage_answers_503_in_bounded_time_fails_closed_and_recovers);

/// Closes every server process of the app's database but the one running this statement
/// (a PostgreSQL restart, an idle timeout, a firewall dropping quiet connections).
async fn drop_postgres_connections(app: &TestApp) -> usize {
    let roster::db::Db::Postgres(pool) = &app.state.db else {
        unreachable!("PostgreSQL only")
    };
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
          WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(pool)
    .await
    .expect("terminate backends");
    killed.len()
}

async fn concurrent_health_checks(app: &TestApp, n: usize) -> Vec<u16> {
    let checks = (0..n).map(|_| async { app.get("/health").send().await.status.as_u16() });
    futures::future::join_all(checks).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_dropped_by_the_server_are_replaced_before_use() {
    let first = TestApp::new(Backend::Postgres).await;
    // Every connection is checked before use (1 s idle by default): without the check,
    // three of the four first requests below got a dropped connection and answered 503.
    let app = first.restarted_with(&[("DB_PING_IDLE_MILLIS", "0")]).await;
    let session = app.user().await;
    // Several pooled connections, idle now.
    assert!(
        concurrent_health_checks(&app, 4)
            .await
            .iter()
            .all(|s| *s == 200)
    );
    let killed = drop_postgres_connections(&app).await;
    assert!(killed >= 2, "only {killed} connections to drop");
    for round in 0..3 {
        assert_eq!(
            concurrent_health_checks(&app, 4).await,
            [200; 4],
            "round {round}"
        );
    }
    let response = app
        .get("/api/v1/users/me/profile")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_postgres_connection_is_cut_off_by_the_request_deadline() {
    let direct = TestApp::new(Backend::Postgres).await;
    let proxy = TcpProxy::start("127.0.0.1:5432").await;
    let app = direct
        .restarted_with(&[
            ("DATABASE_URL", &proxy.url_for(&direct)),
            ("REQUEST_TIMEOUT_SECONDS", "2"),
        ])
        .await;
    let session = app.user().await;
    proxy.set(Mode::Stall);
    let started = Instant::now();
    let health = app.get("/health").send().await;
    assert_eq!(health.status, 503);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    for _ in 0..2 {
        let started = Instant::now();
        app.get("/api/v1/auth/me")
            .bearer(&session.access_token)
            .send()
            .await
            .problem(503);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(4), "{took:?}");
        eprintln!("stalled PostgreSQL: /me answered 503 after {took:?}");
    }
    proxy.set(Mode::Open);
    wait_until_healthy(&app).await;
    assert_eq!(
        app.get("/api/v1/auth/me")
            .bearer(&session.access_token)
            .send()
            .await
            .status,
        200
    );
}

async fn a_database_outage_answers_503_in_bounded_time_fails_closed_and_recovers(backend: Backend) {
    let direct = TestApp::new(backend).await;
    let (app, fault) = match backend {
        Backend::Postgres => {
            let proxy = TcpProxy::start("127.0.0.1:5432").await;
            let app = direct
                .restarted_with(&[("DATABASE_URL", &proxy.url_for(&direct))])
                .await;
            (app, Fault::Proxy(proxy))
        }
        Backend::Sqlite => {
            let path = direct.data_dir().join("roster.db");
            (direct.clone(), Fault::WriteLock(SqliteWriteLock::new(path)))
        }
    };
    app.register("sam", DEFAULT_PASSWORD).await;
    let session = app.login("sam", DEFAULT_PASSWORD).await;
    let revoked = app.login("sam", DEFAULT_PASSWORD).await;
    assert_eq!(
        app.post("/api/v1/auth/logout")
            .bearer(&revoked.access_token)
            .send()
            .await
            .status,
        204
    );

    fault.cut().await;

    let started = Instant::now();
    let health = app.get("/health").send().await;
    let health_took = started.elapsed();
    assert_eq!(health.status, 503, "{}", health.text);
    assert_eq!(health.json()["status"], "degraded");
    assert!(health_took < Duration::from_secs(2), "{health_took:?}");

    // Nothing that needs the database succeeds, and nothing waits long for it.
    let mut slowest = Duration::ZERO;
    let attempts = [
        app.post("/api/v1/auth/login")
            .json(json!({"login": "sam", "password": DEFAULT_PASSWORD})),
        app.post("/api/v1/auth/token").form(&[
            ("grant_type", "password"),
            ("username", "sam"),
            ("password", DEFAULT_PASSWORD),
        ]),
        app.post("/api/v1/auth/refresh")
            .json(json!({"refresh_token": session.refresh_token})),
        app.post("/api/v1/auth/register").json(json!({
            "username": "tess", "email": "tess@example.com", "password": DEFAULT_PASSWORD
        })),
        app.post("/api/v1/auth/logout-all")
            .bearer(&session.access_token),
    ];
    for attempt in attempts {
        let started = Instant::now();
        let response = attempt.send().await;
        slowest = slowest.max(started.elapsed());
        let body = response.problem(503);
        assert_eq!(body["type"], "urn:roster:problem:service-unavailable");
        assert!(response.header("retry-after").is_some());
    }
    assert!(slowest < Duration::from_secs(7), "{slowest:?}");
    eprintln!(
        "{backend:?} outage: /health 503 after {health_took:?}; slowest API 503 after {slowest:?}"
    );
    // Fail closed: a revoked token is never accepted because its session could not be
    // looked up. (On SQLite the lookup still runs, reads being unaffected, and says no.)
    let revoked_me = app
        .get("/api/v1/auth/me")
        .bearer(&revoked.access_token)
        .send()
        .await;
    let live_me = app
        .get("/api/v1/auth/me")
        .bearer(&session.access_token)
        .send()
        .await;
    match backend {
        Backend::Postgres => {
            revoked_me.problem(503);
            live_me.problem(503);
        }
        Backend::Sqlite => {
            revoked_me.problem(401);
            assert_eq!(live_me.status, 200);
        }
    }

    fault.restore().await;
    let recovered_after = wait_until_healthy(&app).await;
    eprintln!("{backend:?} outage: healthy again {recovered_after:?} after the restore");
    let login = app
        .post("/api/v1/auth/login")
        .json(json!({"login": "sam", "password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(
        app.get("/api/v1/auth/me")
            .bearer(&session.access_token)
            .send()
            .await
            .status,
        200
    );
    app.get("/api/v1/auth/me")
        .bearer(&revoked.access_token)
        .send()
        .await
        .problem(401);
}

/// Polls /health (bounded) until it says 200; returns how long that took.
async fn wait_until_healthy(app: &TestApp) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(15) {
        if app.get("/health").send().await.status == 200 {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the application did not recover within 15 s of the database coming back");
}

enum Fault {
    Proxy(TcpProxy),
    WriteLock(SqliteWriteLock),
}

impl Fault {
    async fn cut(&self) {
        match self {
            Fault::Proxy(proxy) => proxy.set(Mode::Refuse),
            Fault::WriteLock(lock) => lock.hold().await,
        }
    }

    async fn restore(&self) {
        match self {
            Fault::Proxy(proxy) => proxy.set(Mode::Open),
            Fault::WriteLock(lock) => lock.release().await,
        }
    }
}

/// A connection of its own to the SQLite file that can hold the write lock.
struct SqliteWriteLock {
    path: std::path::PathBuf,
    holder: tokio::sync::Mutex<Option<sqlx::SqliteConnection>>,
}

impl SqliteWriteLock {
    fn new(path: std::path::PathBuf) -> SqliteWriteLock {
        SqliteWriteLock {
            path,
            holder: tokio::sync::Mutex::new(None),
        }
    }

    async fn hold(&self) {
        use sqlx::Connection;
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&self.path);
        let mut connection = sqlx::SqliteConnection::connect_with(&options)
            .await
            .expect("a second connection");
        sqlx::raw_sql("BEGIN EXCLUSIVE; DELETE FROM login_throttle WHERE identifier = '-';")
            .execute(&mut connection)
            .await
            .expect("the write lock");
        *self.holder.lock().await = Some(connection);
    }

    async fn release(&self) {
        use sqlx::Connection;
        if let Some(mut connection) = self.holder.lock().await.take() {
            sqlx::raw_sql("ROLLBACK")
                .execute(&mut connection)
                .await
                .expect("rollback");
            connection.close().await.expect("close");
        }
    }
}

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Forwards bytes both ways.
    Open,
    /// Resets every connection and refuses new ones, as a stopped server does.
    Refuse,
    /// Keeps connections open but forwards nothing, as a partitioned network does.
    Stall,
}

/// A TCP proxy in front of a server, whose mode the test switches.
struct TcpProxy {
    address: SocketAddr,
    mode: watch::Sender<Mode>,
}

impl TcpProxy {
    async fn start(upstream: &str) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let address = listener.local_addr().expect("an address");
        let (mode, _) = watch::channel(Mode::Open);
        let upstream: SocketAddr = upstream.parse().expect("an address");
        let control = mode.subscribe();
        tokio::spawn(accept_loop(listener, address, upstream, control));
        TcpProxy { address, mode }
    }

    fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// The DATABASE_URL of `app`'s database, through this proxy.
    fn url_for(&self, app: &TestApp) -> String {
        let url = &app.vars()["DATABASE_URL"];
        let database = url.rsplit_once('/').map(|(_, db)| db).expect("a database");
        format!("postgres://postgres@{}/{database}", self.address)
    }
}

async fn accept_loop(
    mut listener: TcpListener,
    address: SocketAddr,
    upstream: SocketAddr,
    mut control: watch::Receiver<Mode>,
) {
    loop {
        let mode = *control.borrow_and_update();
        if mode == Mode::Refuse {
            drop(listener);
            // Closed for business until told otherwise; then listen on the same port.
            while *control.borrow_and_update() == Mode::Refuse {
                if control.changed().await.is_err() {
                    return;
                }
            }
            listener = match bind_again(address).await {
                Some(listener) => listener,
                None => return,
            };
            continue;
        }
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                tokio::spawn(relay(client, upstream, control.clone()));
            }
            changed = control.changed() => if changed.is_err() { return },
        }
    }
}

async fn bind_again(address: SocketAddr) -> Option<TcpListener> {
    for _ in 0..50 {
        if let Ok(listener) = TcpListener::bind(address).await {
            return Some(listener);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Relays one connection until the mode leaves `Open`: `Refuse` closes both sides at
/// once, `Stall` holds them silent until the mode changes again, then closes them.
/// (`client` is dropped, so closed, on return.)
async fn relay(mut client: TcpStream, upstream: SocketAddr, mut control: watch::Receiver<Mode>) {
    if *control.borrow_and_update() == Mode::Open {
        let Ok(mut server) = TcpStream::connect(upstream).await else {
            return;
        };
        let relayed = tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => true,
            _ = wait_for_not_open(&mut control) => false,
        };
        if relayed {
            return;
        }
        if *control.borrow() == Mode::Stall {
            let _ = control.changed().await;
        }
        return;
    }
    // Accepted while stalled: say nothing until the mode changes.
    let _ = control.changed().await;
}

async fn wait_for_not_open(control: &mut watch::Receiver<Mode>) {
    while *control.borrow_and_update() == Mode::Open {
        if control.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
