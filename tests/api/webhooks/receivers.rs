//! The README's example receivers (`examples/receivers/`: Python with FastAPI and the
//! `standardwebhooks` package, Node with the npm `standardwebhooks` package) get Roster's
//! events: each verifies the signature with the standard's own library, refuses a forged
//! request, and prints each event once. `.ci/run` installs their libraries
//! (`scripts/webhook-receivers.sh`); without them this test fails, it never skips.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use super::support::{delivery_where, local_app, subscribe};
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(the_readme_receivers_verify_and_print_each_event_once);

const WAIT: Duration = Duration::from_secs(30);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where `scripts/webhook-receivers.sh` installed `default` (or the variable says).
fn installed(variable: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(default));
    assert!(
        path.exists(),
        "{} is missing: run scripts/webhook-receivers.sh (or .ci/run) to install what the example receivers run on",
        path.display()
    );
    path
}

/// A running example receiver and the lines it prints.
struct Receiver {
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Receiver {
    /// Starts the Python (`python`) or Node example on `port` with `secret`.
    async fn start(python: bool, port: u16, secret: &str) -> Receiver {
        let examples = root().join("examples/receivers");
        let mut command = if python {
            let venv = installed("WEBHOOK_RECEIVERS_VENV", "target/webhook-receivers-venv");
            let mut command = Command::new(venv.join("bin/python"));
            command.args(["-m", "uvicorn", "receiver:app", "--host", "127.0.0.1"]);
            command.args(["--no-access-log", "--log-level", "warning"]);
            command
                .arg("--port")
                .arg(port.to_string())
                .arg("--app-dir")
                .arg(&examples);
            command
        } else {
            // ES modules find their imports beside the file: run a copy in the folder.
            let folder = installed("WEBHOOK_RECEIVERS_NODE", "target/webhook-receivers-node");
            let copy = folder.join(format!("receiver-{port}.mjs"));
            std::fs::copy(examples.join("receiver.mjs"), &copy).expect("the example is copied");
            let mut command = Command::new("node");
            command.arg(copy).env("PORT", port.to_string());
            command
        };
        let mut child = command
            .env("ROSTER_WEBHOOK_SECRET", secret)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the receiver starts");
        let lines = BufReader::new(child.stdout.take().expect("its output")).lines();
        let deadline = Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "the receiver never listened on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Receiver {
            _child: child,
            lines,
        }
    }

    /// The next line it prints.
    async fn next_line(&mut self) -> String {
        tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .expect("the receiver printed nothing in time")
            .expect("its output reads")
            .expect("the receiver ended")
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

async fn receive_with(app: &TestApp, admin_token: &str, python: bool) {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/roster-events");
    let (id, secret) = subscribe(app, admin_token, &url, &["user.*"], json!({})).await;
    let mut receiver = Receiver::start(python, port, &secret).await;
    // A request Roster did not sign is refused.
    let forged = reqwest::Client::new()
        .post(&url)
        .header("webhook-id", "msg_forged")
        .header(
            "webhook-timestamp",
            chrono::Utc::now().timestamp().to_string(),
        )
        .header("webhook-signature", "v1,bm90IGEgc2lnbmF0dXJl")
        .body(r#"{"type": "user.deleted", "subject": "someone"}"#)
        .send()
        .await
        .expect("the receiver answers");
    assert_eq!(forged.status(), 400);
    let name = if python { "py-reader" } else { "node-reader" };
    let user = app.register(name, "Correct-Horse-9").await;
    let user_id = user["id"].as_str().unwrap();
    assert_eq!(
        receiver.next_line().await,
        format!("user.created {user_id} 1"),
        "the {} receiver",
        if python { "Python" } else { "Node" }
    );
    let delivered = delivery_where(app, admin_token, &id, "the delivery", |d| {
        d["status"] == "delivered"
    })
    .await;
    assert_eq!(delivered["last_status_code"], 204);
}

async fn the_readme_receivers_verify_and_print_each_event_once(backend: Backend) {
    let app = local_app(backend, &[]).await;
    let admin = app.admin().await;
    receive_with(&app, &admin.access_token, true).await;
    receive_with(&app, &admin.access_token, false).await;
}
