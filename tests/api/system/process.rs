//! The real `roster serve` binary as a child process on `app`'s database: a free port
//! (read back from its JSON start-up log), its log lines collected, killed when dropped.
//! The graceful-shutdown and the multi-process tests both run it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::TestApp;

pub struct RosterProcess {
    pub child: Child,
    pub base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl RosterProcess {
    /// Starts `roster serve` with `app`'s database, key and pool settings, logging at
    /// `rust_log`, with `settings` on top.
    pub fn start(app: &TestApp, rust_log: &str, settings: &[(&str, &str)]) -> RosterProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_roster"));
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(app.data_dir())
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", rust_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for name in [
            "DATABASE_URL",
            "ENCRYPTION_KEY",
            "DB_POOL_SIZE",
            "DB_MAX_OVERFLOW",
        ] {
            command.env(name, &app.vars()[name]);
        }
        for (name, value) in settings {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the roster binary starts");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str::<Value>(&line)
                    && let Some(address) = event["address"].as_str()
                {
                    let _ = address_tx.send(address.to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let address = address_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("roster did not start: {:?}", log.lock().unwrap()));
        RosterProcess {
            child,
            base: format!("http://{address}"),
            log,
        }
    }

    pub fn port(&self) -> &str {
        self.base.rsplit(':').next().unwrap()
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits (bounded) for the process to exit; returns its status and when it exited.
    pub fn wait(&mut self, limit: Duration) -> (std::process::ExitStatus, Instant) {
        let started = Instant::now();
        let child = &mut self.child;
        let exited = crate::helpers::wait_beside_the_app(|| {
            while started.elapsed() < limit {
                if let Some(status) = child.try_wait().expect("try_wait") {
                    return Some((status, Instant::now()));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            None
        });
        if let Some(exited) = exited {
            return exited;
        }
        let _ = self.child.kill();
        panic!(
            "roster did not exit within {limit:?}: {:?}",
            self.log.lock().unwrap()
        );
    }

    /// Whether a log line so far contains `message`.
    pub fn logged(&self, message: &str) -> bool {
        self.log
            .lock()
            .unwrap()
            .iter()
            .any(|line| line.contains(message))
    }
}

impl Drop for RosterProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
