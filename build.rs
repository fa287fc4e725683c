//! Link options for the release `roster` binary that keep an idle process small.
//!
//! - Start-up code first: the functions that run from start to idle (listed in
//!   `link/startup.order` by `scripts/startup-order.py`) are placed side by side before
//!   the rest of `.text`. The kernel maps an executable's pages in blocks around each page
//!   a process touches, so start-up code scattered over 18 MiB of `.text` kept 15 MiB of
//!   it resident; gathered, about 5 MiB. Most functions are ordered by name with
//!   `--symbol-ordering-file`. Those whose name ends in `.llvm.<hash>` (locals ThinLTO
//!   made global) change that hash whenever their module's code changes, so they are
//!   matched by a section pattern without the hash instead, in a small linker script that
//!   puts them just before `.text`; otherwise every edit would scatter some of them again.
//!   Names that no longer exist are skipped without a warning.
//! - `-z pack-relative-relocs`: the position-independent binary's 38,000 relative
//!   relocations as an 11 KiB bitmap (DT_RELR, glibc 2.36) instead of a 930 KiB table
//!   that the loader reads through at every start.
//!
//! Both are options of LLD, the linker Rust uses by default on x86_64 Linux; other
//! targets, debug builds, and builds with `ROSTER_PLAIN_LINK=1` (for another linker) link
//! as before.

use std::{env, fs, path::PathBuf};

const PROMOTED: &str = ".llvm.";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=link/startup.order");
    println!("cargo::rerun-if-env-changed=ROSTER_PLAIN_LINK");
    let target = env::var("TARGET").unwrap_or_default();
    let profile = env::var("PROFILE").unwrap_or_default();
    let plain = env::var("ROSTER_PLAIN_LINK").is_ok_and(|value| value == "1");
    if target != "x86_64-unknown-linux-gnu" || profile != "release" || plain {
        return;
    }
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap_or_default());
    let Ok(order) = fs::read_to_string(manifest_dir.join("link/startup.order")) else {
        println!("cargo::warning=link/startup.order is missing: start-up code stays scattered");
        return;
    };

    let symbols = order
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'));
    let (promoted, named): (Vec<&str>, Vec<&str>) =
        symbols.partition(|symbol| symbol.contains(PROMOTED));

    let named_file = out_dir.join("startup-symbols.txt");
    // A function's section is `.text.<symbol>`, or `.text.unlikely.<symbol>` when LLVM
    // deems it cold (`#[cold]` ones such as `RawVec::finish_grow`).
    let mut script = String::from("SECTIONS {\n  .text.startup_promoted : {\n");
    for symbol in &promoted {
        let base = &symbol[..symbol.find(PROMOTED).unwrap_or(symbol.len())];
        script.push_str(&format!(
            "    *(.text.{base}{PROMOTED}* .text.unlikely.{base}{PROMOTED}*)\n"
        ));
    }
    script.push_str("  }\n} INSERT BEFORE .text;\n");
    let script_file = out_dir.join("startup-promoted.ld");
    if fs::write(&named_file, named.join("\n") + "\n").is_err()
        || fs::write(&script_file, script).is_err()
    {
        println!("cargo::warning=could not write the start-up link files to OUT_DIR");
        return;
    }

    for arg in [
        format!("--symbol-ordering-file={}", named_file.display()),
        "--no-warn-symbol-ordering".to_owned(),
        format!("--script={}", script_file.display()),
        "-zpack-relative-relocs".to_owned(),
    ] {
        println!("cargo::rustc-link-arg-bin=roster=-Wl,{arg}");
    }
}
