//! The test harness: `TestApp` builds the real application on a fresh database (a SQLite
//! file in a temporary directory, or a throwaway PostgreSQL database dropped afterwards),
//! with a manual clock; requests go through the full router, or over a real socket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use chrono::Utc;
use http_body_util::BodyExt;
use roster::app::Application;
use roster::clock::{Clock, ManualClock};
use roster::config::Config;
use roster::state::AppState;
use roster::tokens::keys::IdTokenAlgorithm;
use roster::webhook_delivery::resolver::HostResolver;
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

/// The database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Expands `async fn name(backend: Backend)` tests into `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        )*
    };
}

/// The PostgreSQL server tests create their databases on.
fn postgres_admin_url() -> String {
    std::env::var("ROSTER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn postgres_url_for(database: &str) -> String {
    let admin = postgres_admin_url();
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(&admin);
    format!("{base}/{database}")
}

/// Runs `sql` against the PostgreSQL admin database on a private runtime (usable from Drop).
fn postgres_admin(sql: String) {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            use sqlx::Connection;
            let mut connection = sqlx::PgConnection::connect(&postgres_admin_url())
                .await
                .expect("PostgreSQL must be running for the postgres tests (see README)");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut connection)
                .await
                .expect("admin statement");
        });
    })
    .join()
    .expect("the PostgreSQL admin thread");
}

/// Where a test application keeps its data; dropped (and the database with it) last.
struct Storage {
    dir: tempfile::TempDir,
    postgres_database: Option<String>,
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Some(name) = self.postgres_database.take() {
            postgres_admin(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

/// Configures and starts a [`TestApp`].
pub struct TestAppBuilder {
    backend: Backend,
    vars: HashMap<String, String>,
    resolver: HostResolver,
}

/// Whether [`TestApp::launch`] returns only once the instance can sign ID tokens: a fresh
/// database gets its first RSA key just after start-up, so that a test's first steps do
/// not race with it unless the test is about that race.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Settle {
    UntilRsaKey,
    No,
}

impl TestAppBuilder {
    /// Leaves a configuration variable unset (the harness sets some by default).
    pub fn unset(mut self, name: &str) -> Self {
        self.vars.insert(name.to_owned(), String::new());
        self
    }

    /// Sets a configuration variable, as a user would in the environment.
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.insert(name.to_owned(), value.into());
        self
    }

    /// Resolves webhook targets' host names with `resolver` (a table the test changes).
    pub fn resolving(mut self, resolver: HostResolver) -> Self {
        self.resolver = resolver;
        self
    }

    pub async fn start(self) -> TestApp {
        self.start_settling(Settle::UntilRsaKey).await
    }

    /// [`Self::start`], returning as soon as the application is built: on a fresh
    /// database, before its first RSA key may exist.
    pub async fn start_unsettled(self) -> TestApp {
        self.start_settling(Settle::No).await
    }

    async fn start_settling(self, settle: Settle) -> TestApp {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let postgres_database = match self.backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let name = format!("roster_test_{}", Uuid::new_v4().simple());
                postgres_admin(format!("CREATE DATABASE \"{name}\""));
                Some(name)
            }
        };
        let database_url = match &postgres_database {
            None => format!("sqlite://{}", dir.path().join("roster.db").display()),
            Some(name) => postgres_url_for(name),
        };
        let mut vars = self.vars;
        vars.entry("DATABASE_URL".into()).or_insert(database_url);
        vars.entry("DB_POOL_SIZE".into())
            .or_insert_with(|| "2".into());
        vars.entry("DB_MAX_OVERFLOW".into())
            .or_insert_with(|| "4".into());
        vars.entry("PUBLIC_URL".into())
            .or_insert_with(|| "http://roster.test".into());
        // Every request of a test comes from one address on a clock that rarely moves:
        // behaviour tests are not about the per-address budget, which the rate-limit tests
        // set explicitly.
        vars.entry("RATE_LIMIT_AUTH_PER_MINUTE".into())
            .or_insert_with(|| "1000000".into());
        // One key per test, shared with the commands a test runs (as in a deployment).
        vars.entry("ENCRYPTION_KEY".into()).or_insert_with(|| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(Uuid::new_v4().as_bytes().repeat(2))
        });
        let storage = Arc::new(Storage {
            dir,
            postgres_database,
        });
        TestApp::launch(
            self.backend,
            vars,
            self.resolver,
            storage,
            ManualClock::new(Utc::now()),
            settle,
        )
        .await
    }

    /// Starts the application on a real socket whose address is its `PUBLIC_URL` (the
    /// issuer an OpenID client checks); returns the app and that base URL.
    pub async fn start_served(self) -> (TestApp, String) {
        self.start_served_as("127.0.0.1").await
    }

    /// [`Self::start_served`] with `host` in `PUBLIC_URL` (`localhost` for passkeys,
    /// which browsers refuse on an IP address).
    pub async fn start_served_as(self, host: &str) -> (TestApp, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let port = listener.local_addr().expect("an address").port();
        let base = format!("http://{host}:{port}");
        let app = self.env("PUBLIC_URL", base.clone()).start().await;
        let service = app
            .router
            .clone()
            .into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, service).await });
        (app, base)
    }
}

/// A running application on its own database.
#[derive(Clone)]
pub struct TestApp {
    pub backend: Backend,
    pub clock: ManualClock,
    pub config: Config,
    pub state: AppState,
    router: Router,
    vars: HashMap<String, String>,
    resolver: HostResolver,
    storage: Arc<Storage>,
}

impl TestApp {
    /// The application with the default configuration on a fresh database.
    pub async fn new(backend: Backend) -> TestApp {
        TestApp::builder(backend).start().await
    }

    pub fn builder(backend: Backend) -> TestAppBuilder {
        TestAppBuilder {
            backend,
            vars: HashMap::new(),
            resolver: HostResolver::System,
        }
    }

    async fn launch(
        backend: Backend,
        vars: HashMap<String, String>,
        resolver: HostResolver,
        storage: Arc<Storage>,
        clock: ManualClock,
        settle: Settle,
    ) -> TestApp {
        let config = Config::from_map(&vars).expect("a valid test configuration");
        let application =
            Application::build_resolving(config.clone(), Arc::new(clock.clone()), resolver.clone())
                .await
                .expect("the application starts");
        if settle == Settle::UntilRsaKey {
            application
                .state()
                .tokens
                .key_set_for_id_tokens(IdTokenAlgorithm::Rs256, std::time::Duration::from_secs(60))
                .await
                .expect("the first RSA key is made within a minute");
        }
        TestApp {
            backend,
            clock,
            config,
            state: application.state().clone(),
            router: application.router(),
            vars,
            resolver,
            storage,
        }
    }

    /// A second instance on the same database (as when several run side by side), with
    /// its own clock set to the same time.
    pub async fn sibling(&self) -> TestApp {
        self.sibling_settling(Settle::UntilRsaKey).await
    }

    /// [`Self::sibling`], returning as soon as it is built (see
    /// [`TestAppBuilder::start_unsettled`]).
    pub async fn sibling_unsettled(&self) -> TestApp {
        self.sibling_settling(Settle::No).await
    }

    async fn sibling_settling(&self, settle: Settle) -> TestApp {
        TestApp::launch(
            self.backend,
            self.vars.clone(),
            self.resolver.clone(),
            self.storage.clone(),
            ManualClock::new(self.clock.now()),
            settle,
        )
        .await
    }

    /// Another instance on the same database with changed configuration (a restart).
    pub async fn restarted_with(&self, changes: &[(&str, &str)]) -> TestApp {
        let mut vars = self.vars.clone();
        for (name, value) in changes {
            vars.insert((*name).to_owned(), (*value).to_owned());
        }
        TestApp::launch(
            self.backend,
            vars,
            self.resolver.clone(),
            self.storage.clone(),
            self.clock.clone(),
            Settle::UntilRsaKey,
        )
        .await
    }

    /// The configuration variables this instance was started with.
    pub fn vars(&self) -> &HashMap<String, String> {
        &self.vars
    }

    pub fn data_dir(&self) -> PathBuf {
        self.storage.dir.path().to_path_buf()
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }
    pub fn put(&self, path: &str) -> RequestBuilder {
        self.request(Method::PUT, path)
    }
    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.request(Method::PATCH, path)
    }
    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        RequestBuilder {
            router: self.router.clone(),
            method,
            path: path.to_owned(),
            headers: HeaderMap::new(),
            body: Body::empty(),
            peer: SocketAddr::from(([127, 0, 0, 1], 40_000)),
        }
    }

    /// Serves the application on a real socket; returns its base URL.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let address = listener.local_addr().expect("an address");
        let service = self
            .router
            .clone()
            .into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, service).await });
        format!("http://{address}")
    }

    /// Registers an account; panics unless the answer is 201.
    pub async fn register(&self, username: &str, password: &str) -> Value {
        let response = self
            .post("/api/v1/auth/register")
            .json(json!({"username": username, "email": format!("{username}@example.com"), "password": password, "full_name": "Test User"}))
            .send()
            .await;
        assert_eq!(
            response.status,
            StatusCode::CREATED,
            "register {username}: {}",
            response.text
        );
        response.json()
    }

    /// Logs in; panics unless the answer is 200.
    pub async fn login(&self, login: &str, password: &str) -> Session {
        let response = self
            .post("/api/v1/auth/login")
            .json(json!({"login": login, "password": password}))
            .send()
            .await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "login {login}: {}",
            response.text
        );
        Session::from_pair(&response.json(), login, password)
    }

    /// A new account, logged in. Usernames are unique per call.
    pub async fn user(&self) -> Session {
        let username = format!("user_{}", &Uuid::new_v4().simple().to_string()[..12]);
        self.register(&username, DEFAULT_PASSWORD).await;
        self.login(&username, DEFAULT_PASSWORD).await
    }

    /// A new administrator (through `create-admin`), logged in.
    pub async fn admin(&self) -> Session {
        let username = format!("admin_{}", &Uuid::new_v4().simple().to_string()[..12]);
        let context = roster::cli::Context::open_with_clock(
            self.config.clone(),
            Arc::new(self.clock.clone()),
        )
        .await
        .expect("a context");
        roster::cli::create_admin(
            &context,
            &username,
            &format!("{username}@example.com"),
            async || Ok(DEFAULT_PASSWORD.to_owned()),
        )
        .await
        .expect("create-admin");
        self.login(&username, DEFAULT_PASSWORD).await
    }

    /// Runs SQL statements (test set-up, or tampering with what is stored).
    pub async fn exec(&self, sql: impl Into<String>) {
        let sql = sql.into();
        let done = match &self.state.db {
            roster::db::Db::Sqlite(pool, _) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
                .execute(pool)
                .await
                .map(|_| ()),
            roster::db::Db::Postgres(pool) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
                .execute(pool)
                .await
                .map(|_| ()),
        };
        done.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// A test application whose password hashing is cheap, through the configuration a
    /// user would use, for tests that make many failed attempts.
    pub async fn with_cheap_hashing(backend: Backend) -> TestApp {
        TestApp::builder(backend)
            .env("ARGON2_MEMORY_KIB", "1024")
            .env("ARGON2_ITERATIONS", "1")
            .start()
            .await
    }

    /// Runs one SQL statement returning a count (for asserting what is stored).
    pub async fn count(&self, sql: &'static str) -> i64 {
        match &self.state.db {
            roster::db::Db::Sqlite(pool, _) => sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(pool)
                .await
                .expect(sql),
            roster::db::Db::Postgres(pool) => sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(pool)
                .await
                .expect(sql),
        }
    }
}

/// The claims of an access token (its payload, not verified).
pub fn claims(access_token: &str) -> Value {
    use base64::Engine;
    let payload = access_token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The `kid` in an access token's header (not verified).
pub fn kid_of(access_token: &str) -> String {
    use base64::Engine;
    let header = access_token.split('.').next().expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url");
    let header: Value = serde_json::from_slice(&bytes).expect("JSON header");
    header["kid"].as_str().expect("a kid").to_owned()
}

/// A password that satisfies the default policy.
pub const DEFAULT_PASSWORD: &str = "Correct-Horse-Battery-7";

/// A logged-in account and its tokens.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub username: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
    pub session_id: String,
}

impl Session {
    pub fn from_pair(pair: &Value, username: &str, password: &str) -> Session {
        Session {
            user_id: pair["user"]["id"].as_str().expect("user.id").to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
            access_token: pair["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            refresh_token: pair["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
            session_id: pair["session_id"].as_str().expect("session_id").to_owned(),
        }
    }
}

pub struct RequestBuilder {
    router: Router,
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Body,
    peer: SocketAddr,
}

impl RequestBuilder {
    pub fn json(mut self, body: Value) -> Self {
        self.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        self.body = Body::from(serde_json::to_vec(&body).expect("json"));
        self
    }

    /// A raw body with the given content type.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("content type"),
        );
        self.body = Body::from(body.into());
        self
    }

    pub fn form(self, pairs: &[(&str, &str)]) -> Self {
        let encoded = serde_urlencoded::to_string(pairs).expect("form");
        self.body("application/x-www-form-urlencoded", encoded)
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
        self
    }

    /// The client address the application sees.
    pub fn from_ip(mut self, ip: &str) -> Self {
        self.peer = SocketAddr::new(ip.parse().expect("an IP address"), 40_000);
        self
    }

    pub async fn send(self) -> TestResponse {
        let mut request = Request::builder()
            .method(self.method)
            .uri(&self.path)
            .body(self.body)
            .expect("a request");
        *request.headers_mut() = self.headers;
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let response = self
            .router
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        TestResponse {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json body with `status` and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "body: {}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["status"], status);
        assert!(
            body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:roster:problem:")),
            "{body}"
        );
        assert!(body["title"].is_string(), "{body}");
        body
    }

    /// The fields a 422 problem names.
    #[track_caller]
    pub fn failing_fields(&self) -> Vec<String> {
        self.fields(422)
    }

    /// The fields a problem of `status` names (asserting the status and content type).
    pub fn fields(&self, status: u16) -> Vec<String> {
        let body = self.problem(status);
        let mut fields: Vec<String> = body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].as_str().expect("field").to_owned())
            .collect();
        fields.sort();
        fields.dedup();
        fields
    }
}

/// Waits for a child process (a `roster` command beside the in-process application).
/// The wait blocks this thread, so on a multi-threaded runtime it first hands this
/// worker's queued tasks to another thread (`block_in_place`): one of them may be the
/// application's task that holds SQLite's write lock, which the command would otherwise
/// wait for until its busy timeout while this thread waits for the command.
pub fn wait_beside_the_app<T>(wait: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) if runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    }
}
