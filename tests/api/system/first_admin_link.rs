//! `roster serve` on a database without an administrator prints the one-time setup link
//! (on standard error, beside the log, never in a log record), and prints none once an
//! administrator exists.

use super::process::RosterProcess;
use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(serve_prints_a_setup_link_only_while_there_is_no_administrator);

async fn serve_prints_a_setup_link_only_while_there_is_no_administrator(backend: Backend) {
    let app = TestApp::new(backend).await;
    let first = RosterProcess::start(&app, "info", &[]);
    let printed = |server: &RosterProcess| server.logged("/setup?token=");
    wait_for_line(&first, "no administrator yet");
    assert!(printed(&first), "the link is printed at start-up");
    assert!(first.logged("console at /account and /admin"));
    drop(first);
    app.admin().await;
    let second = RosterProcess::start(&app, "info", &[]);
    wait_for_line(&second, "administrators sign in at /admin");
    assert!(!printed(&second), "no link once an administrator exists");
}

/// Waits (bounded) until the process has logged `text`: its start-up goes on after the
/// line that names its address.
fn wait_for_line(server: &RosterProcess, text: &str) {
    let started = std::time::Instant::now();
    crate::helpers::wait_beside_the_app(|| {
        while !server.logged(text) {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "roster never logged {text:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    });
}
