//! `.env.example` lists every setting Roster reads: each variable named in `src/config/`
//! (and `ROSTER_ADMIN_PASSWORD`, which `create-admin` reads) stands in it as `NAME=` or
//! `# NAME=`, so an operator who copies it sees all there is to set.

use std::path::Path;

/// The upper-case names quoted in `text` (`"DATABASE_URL"`), as the configuration reads them.
fn quoted_variables(text: &str) -> Vec<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.len() > 2
                && s.contains('_')
                && s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_example_environment_lists_every_setting() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join(".env.example")).expect(".env.example");
    let listed = |name: &str| {
        example.lines().any(|line| {
            let line = line.trim_start_matches('#').trim_start();
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('='))
        })
    };
    let mut read = vec!["ROSTER_ADMIN_PASSWORD".to_owned(), "RUST_LOG".to_owned()];
    for entry in std::fs::read_dir(root.join("src/config")).expect("src/config") {
        let path = entry.expect("an entry").path();
        read.extend(quoted_variables(
            &std::fs::read_to_string(&path).expect("a file"),
        ));
    }
    assert!(read.len() > 30, "the configuration reads {read:?}");
    // A quoted upper-case default value (`NATS_STREAM=ROSTER_EVENTS`) is not a variable.
    let a_default = |name: &str| {
        example
            .lines()
            .any(|line| line.trim_end().ends_with(&format!("={name}")))
    };
    let missing: Vec<&String> = read
        .iter()
        .filter(|name| !listed(name) && !a_default(name))
        .collect();
    assert!(missing.is_empty(), ".env.example lacks {missing:?}");
}
