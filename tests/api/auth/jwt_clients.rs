//! The JWT libraries other services use verify Roster's access tokens from its JWK set
//! alone: PyJWT, python-jose, node's `jsonwebtoken` with `jwks-rsa`, and `jose`, each
//! running the example the README shows (`examples/verify-token/`) against a served
//! Roster, for every `ACCESS_TOKEN_ALGORITHM` the library supports (`jsonwebtoken` and
//! python-jose have no `EdDSA`). `.ci/run` installs them (`scripts/jwt-clients.sh`);
//! without them these tests fail, they never skip.

use std::path::PathBuf;
use std::time::Duration;

use uuid::Uuid;

use crate::helpers::{Backend, TestApp};
use crate::on_both_engines;

on_both_engines!(every_library_verifies_the_tokens_of_every_algorithm_it_supports);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where `scripts/jwt-clients.sh` installs (the same variables override both).
fn installed(variable: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(default));
    assert!(
        path.exists(),
        "{} is missing: run scripts/jwt-clients.sh (or .ci/run) to install the JWT libraries these tests verify Roster's tokens with",
        path.display()
    );
    path
}

/// How a library's example runs.
#[derive(Clone, Copy)]
enum Runtime {
    Python,
    /// Copied beside the `node_modules` it imports from (ES modules ignore `NODE_PATH`).
    Node,
}

struct Library {
    name: &'static str,
    example: &'static str,
    runtime: Runtime,
    algorithms: &'static [&'static str],
    /// `/.well-known/jwks.json` or `/oauth2/jwks`: both serve every access-token key.
    jwks_path: &'static str,
}

const LIBRARIES: [Library; 4] = [
    Library {
        name: "PyJWT",
        example: "verify.py",
        runtime: Runtime::Python,
        algorithms: &["EdDSA", "ES256", "RS256"],
        jwks_path: "/.well-known/jwks.json",
    },
    Library {
        name: "python-jose",
        example: "verify_python_jose.py",
        runtime: Runtime::Python,
        algorithms: &["ES256", "RS256"],
        jwks_path: "/oauth2/jwks",
    },
    Library {
        name: "jsonwebtoken + jwks-rsa",
        example: "verify-jsonwebtoken.js",
        runtime: Runtime::Node,
        algorithms: &["ES256", "RS256"],
        jwks_path: "/.well-known/jwks.json",
    },
    Library {
        name: "jose",
        example: "verify-jose.mjs",
        runtime: Runtime::Node,
        algorithms: &["EdDSA", "ES256", "RS256"],
        jwks_path: "/oauth2/jwks",
    },
];

/// What the example printed on standard output, or why it failed.
async fn run(library: &Library, args: &[&str]) -> Result<String, String> {
    let source = root().join("examples/verify-token").join(library.example);
    let (mut command, copy) = match library.runtime {
        Runtime::Python => {
            let python =
                installed("JWT_CLIENTS_VENV", "target/jwt-clients-venv").join("bin/python");
            let mut command = tokio::process::Command::new(python);
            command.arg(&source);
            (command, None)
        }
        Runtime::Node => {
            let folder = installed("JWT_CLIENTS_NODE", "target/jwt-clients-node");
            let copy = folder.join(format!("{}-{}", Uuid::new_v4().simple(), library.example));
            std::fs::copy(&source, &copy).expect("the example is copied");
            let mut command = tokio::process::Command::new("node");
            command.arg(&copy);
            (command, Some(copy))
        }
    };
    command.args(args).kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output()).await;
    if let Some(copy) = copy {
        let _ = std::fs::remove_file(copy);
    }
    let output = output
        .unwrap_or_else(|_| panic!("{} did not finish within 60 s", library.name))
        .unwrap_or_else(|e| panic!("{} cannot run: {e}", library.name));
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() {
        Ok(printed)
    } else {
        Err(format!(
            "{printed}{}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

async fn every_library_verifies_the_tokens_of_every_algorithm_it_supports(backend: Backend) {
    for algorithm in ["EdDSA", "ES256", "RS256"] {
        let (app, base) = TestApp::builder(backend)
            .env("ACCESS_TOKEN_ALGORITHM", algorithm)
            .start_served()
            .await;
        assert_eq!(
            app.config.tokens.issuer, base,
            "the issuer the examples check"
        );
        let session = app.user().await;
        let token = session.access_token.as_str();
        for library in LIBRARIES
            .iter()
            .filter(|l| l.algorithms.contains(&algorithm))
        {
            let jwks = format!("{base}{}", library.jwks_path);
            let verified = run(library, &[&jwks, token, &base, "roster"]).await;
            assert_eq!(
                verified.as_deref(),
                Ok(session.user_id.as_str()),
                "{} with {algorithm}",
                library.name
            );
            // The same library refuses it for another audience: it really checks.
            let refused = run(library, &[&jwks, token, &base, "another-service"]).await;
            assert!(
                refused.is_err(),
                "{} with {algorithm}: {refused:?}",
                library.name
            );
        }
    }
}
