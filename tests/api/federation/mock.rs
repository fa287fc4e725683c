//! A real OpenID provider nobody here wrote: `oidc-provider-mock` from PyPI (authlib
//! underneath), started on a free loopback port for a test and stopped when it ends.
//! `.ci/run` installs it (`scripts/oidc-provider-mock.sh`); without it these tests fail,
//! they never skip.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::helpers::{Session, TestApp};

/// The venv `scripts/oidc-provider-mock.sh` installs into, or `OIDC_PROVIDER_MOCK`.
fn executable() -> PathBuf {
    match std::env::var_os("OIDC_PROVIDER_MOCK") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/oidc-provider-mock-venv/bin/oidc-provider-mock"),
    }
}

pub struct MockProvider {
    pub issuer: String,
    child: Child,
    http: reqwest::Client,
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl MockProvider {
    /// Starts the provider on a port of its choosing and waits for the line where it
    /// says which (no polling, no sleeping).
    pub async fn start() -> MockProvider {
        let path = executable();
        assert!(
            path.exists(),
            "{} is missing: run scripts/oidc-provider-mock.sh (or .ci/run) to install the real OpenID provider these tests sign in with",
            path.display()
        );
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new(&path)
                .args(["--port", "0", "--host", "127.0.0.1"])
                .env("PYTHONWARNINGS", "ignore")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("oidc-provider-mock starts");
            let mut lines = BufReader::new(child.stderr.take().expect("its stderr")).lines();
            let mut said = Vec::new();
            let issuer = loop {
                let Some(Ok(line)) = lines.next() else {
                    let _ = child.kill();
                    panic!(
                        "oidc-provider-mock ended before serving:\n{}",
                        said.join("\n")
                    );
                };
                if let Some(at) = line.find("running on http://") {
                    let rest = &line[at + "running on ".len()..];
                    break rest.split_whitespace().next().unwrap_or(rest).to_owned();
                }
                said.push(line);
            };
            // Its access log keeps coming: drain it so that it never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            MockProvider {
                issuer,
                child,
                http: reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("a client"),
            }
        })
        .await
        .expect("starting oidc-provider-mock")
    }

    /// Starts a provider and adds it to `app` as the `oidc` provider `mock` ("Mock ID",
    /// its addresses trusted when it says they are verified).
    pub async fn added_to(app: &TestApp, admin: &Session) -> MockProvider {
        let mock = MockProvider::start().await;
        super::add_provider(
            app,
            admin,
            serde_json::json!({
                "slug": "mock",
                "kind": "oidc",
                "display_name": "Mock ID",
                "client_id": "roster",
                "client_secret": "roster-secret-at-mock",
                "issuer": mock.issuer,
                "trust_email": "verified",
            }),
        )
        .await;
        mock
    }

    /// Sets the claims the provider tells about `subject` (its `PUT /users/{sub}`).
    pub async fn set_user(&self, subject: &str, claims: Value) {
        let response = self
            .http
            .put(format!("{}/users/{subject}", self.issuer))
            .json(&claims)
            .send()
            .await
            .expect("the provider answers");
        assert!(response.status().is_success(), "{}", response.status());
    }

    /// Signs in at the provider as `subject` on its authorization page at
    /// `authorize_url`: the URL it sends the browser back to.
    pub async fn sign_in(&self, authorize_url: &str, subject: &str) -> String {
        assert!(authorize_url.starts_with(&self.issuer), "{authorize_url}");
        let response = self
            .http
            .post(authorize_url)
            .form(&[("sub", subject)])
            .send()
            .await
            .expect("the provider answers");
        assert!(
            response.status().is_redirection(),
            "{}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
        response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .expect("a Location")
            .to_owned()
    }
}
