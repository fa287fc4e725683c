//! Every message the templates and the code use exists in every language, and every
//! language's files have the same messages as English's, file by file (so that a
//! translator of one area sees at once what is missing there).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::Language;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files below `dir` whose names end in one of `extensions`.
fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("a readable folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|ext| extensions.iter().any(|e| ext == *e))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The first string argument of every call of `function` in `text` (`t("key"`,
/// `tr("key"`), where `function` is not the tail of a longer name.
fn keys_called(text: &str, function: &str) -> Vec<String> {
    let pattern = format!("{function}(\"");
    let mut keys = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(&pattern) {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + pattern.len()..];
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && let Some(end) = after.find('"')
        {
            keys.push(after[..end].to_owned());
        }
        rest = after;
    }
    keys
}

/// The message ids an `.ftl` file defines (terms, `-name`, are not messages).
fn defined(ftl: &str) -> BTreeSet<String> {
    ftl.lines()
        .filter(|line| line.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|line| line.split_once('='))
        .map(|(id, _)| id.trim().to_owned())
        .collect()
}

/// Every key used: `t("…")` in the templates; `tr("…")`, `tr_with("…")` and
/// `message_key("…")` in the code (not in comments); and each mail's subject.
fn used_keys() -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for path in files(&root().join("templates"), &["html", "txt"]) {
        let text = std::fs::read_to_string(&path).unwrap();
        keys.extend(keys_called(&text, "t"));
        if path.starts_with(root().join("templates/mail")) {
            let stem = path
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .replace('_', "-");
            keys.insert(format!("mail-{stem}-subject"));
        }
    }
    for path in files(&root().join("src"), &["rs"]) {
        if path.ends_with("i18n/coverage.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for function in ["tr", "tr_with", "message_key"] {
            keys.extend(keys_called(&code, function));
        }
    }
    keys.insert("language-name".to_owned());
    keys
}

/// The messages `language`'s files define.
fn messages_of(language: Language) -> BTreeSet<String> {
    files(&root().join("locales").join(language.tag()), &["ftl"])
        .iter()
        .flat_map(|path| defined(&std::fs::read_to_string(path).unwrap()))
        .collect()
}

#[test]
fn every_key_used_exists_in_every_language() {
    let keys = used_keys();
    assert!(keys.len() > 10, "{keys:?}");
    let mut missing = Vec::new();
    for language in Language::ALL {
        let defined = messages_of(language);
        for key in keys.iter().filter(|key| !defined.contains(*key)) {
            missing.push(format!("{}: {key}", language.tag()));
        }
    }
    assert!(
        missing.is_empty(),
        "messages missing from locales/: {missing:#?}"
    );
}

#[test]
fn every_language_has_the_messages_of_english_file_by_file() {
    let english = root().join("locales/en");
    let mut differences = Vec::new();
    for path in files(&english, &["ftl"]) {
        let name = path.file_name().unwrap();
        let en = defined(&std::fs::read_to_string(&path).unwrap());
        for language in Language::ALL.into_iter().skip(1) {
            let other = root().join("locales").join(language.tag()).join(name);
            let translated = defined(&std::fs::read_to_string(&other).unwrap_or_default());
            for key in en.difference(&translated) {
                differences.push(format!("{} lacks {key}", other.display()));
            }
            for key in translated.difference(&en) {
                differences.push(format!(
                    "{} has {key}, which English has not",
                    other.display()
                ));
            }
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");
}

#[test]
fn keys_are_found_where_they_are_called() {
    assert_eq!(
        keys_called(r#"{{ t("a-b", x=1) }} format("no") tr("c") it("d")"#, "t"),
        ["a-b"]
    );
    assert_eq!(
        defined("## c\n# x\na = A\n  .attr = B\n-term = T\nb=\n    B\n"),
        BTreeSet::from(["a".to_owned(), "b".to_owned()])
    );
}
