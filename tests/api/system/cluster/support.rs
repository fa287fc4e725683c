//! The multi-process harness: `roster serve` processes, nginx in front of them (its own
//! configuration in a temporary directory, as a non-daemon child on a free port), and a
//! client that speaks for a given client address.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{DEFAULT_PASSWORD, TestApp};
use crate::system::process::RosterProcess;

/// One `roster serve` process of the cluster, with the cluster's shared settings.
pub type Instance = RosterProcess;

pub fn start_instance(app: &TestApp, shared: &[(String, String)]) -> Instance {
    let settings: Vec<(&str, &str)> = shared
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    RosterProcess::start(app, "warn,roster=info", &settings)
}

/// nginx in front of the instances, on a free port, as a child process.
pub struct Proxy {
    child: Child,
    pub base: String,
    dir: PathBuf,
}

impl Proxy {
    pub fn start(dir: &Path, upstreams: &[&Instance]) -> Proxy {
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|path| Path::new(path).exists())
            .expect("nginx must be installed for the multi-process test (apt-get install -y nginx; .ci/run does it)");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let servers: String = upstreams
            .iter()
            .map(|i| {
                format!(
                    "server 127.0.0.1:{} max_fails=1 fail_timeout=30s;\n",
                    i.port()
                )
            })
            .collect();
        let dir = dir.join("nginx");
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        let d = dir.display();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log warn;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
             upstream roster {{\n{servers} }}\n\
             server {{\n  listen 127.0.0.1:{port};\n  location / {{\n   proxy_pass http://roster;\n\
             proxy_set_header Host $host;\n   proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
             proxy_connect_timeout 1s;\n   proxy_next_upstream error timeout;\n  }}\n }}\n}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new(nginx)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("logs/error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        Proxy {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
        }
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("logs/error.log")).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it holds or `limit` has passed since `since`; panics with `what`.
pub async fn within<F, Fut>(since: Instant, limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    loop {
        if check().await {
            return;
        }
        assert!(since.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A client that speaks for one client address (the proxies are trusted).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    address: String,
}

impl Client {
    pub fn from(address: &str) -> Client {
        Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            address: address.to_owned(),
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        url: String,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let mut request = self
            .http
            .request(method, url)
            .header("X-Forwarded-For", &self.address);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    pub async fn post(
        &self,
        base: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        self.send(
            reqwest::Method::POST,
            format!("{base}{path}"),
            token,
            Some(body),
        )
        .await
        .unwrap_or_else(|e| panic!("POST {base}{path}: {e}"))
    }

    pub async fn get(&self, base: &str, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, format!("{base}{path}"), token, None)
            .await
            .unwrap_or_else(|e| panic!("GET {base}{path}: {e}"))
    }

    pub async fn register(&self, base: &str, username: &str) -> StatusCode {
        self.post(
            base,
            "/api/v1/auth/register",
            None,
            json!({"username": username, "email": format!("{username}@example.com"), "password": DEFAULT_PASSWORD}),
        )
        .await
        .0
    }

    /// Logs in; returns (access token, user id).
    pub async fn login(&self, base: &str, login: &str, password: &str) -> (String, String) {
        let (status, body) = self
            .post(
                base,
                "/api/v1/auth/login",
                None,
                json!({"login": login, "password": password}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {login} on {base}: {body}");
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["user"]["id"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn me(&self, base: &str, token: &str) -> StatusCode {
        self.get(base, "/api/v1/auth/me", Some(token)).await.0
    }
}
