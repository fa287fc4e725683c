//! Link options for the release `roster` binary: `-z pack-relative-relocs` stores the
//! position-independent binary's 38,000 relative relocations as an 11 KiB bitmap
//! (DT_RELR, glibc 2.36) instead of a 930 KiB table that the loader reads through at
//! every start. It is an option of LLD, the linker Rust uses by default on x86_64 Linux;
//! other targets, debug builds, and builds with `ROSTER_PLAIN_LINK=1` (for another
//! linker) link without it.

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    // The Fluent messages are embedded by a macro, which sees an added file only when
    // the crate is built again.
    println!("cargo::rerun-if-changed=locales");
    println!("cargo::rerun-if-env-changed=ROSTER_PLAIN_LINK");
    let target = env::var("TARGET").unwrap_or_default();
    let profile = env::var("PROFILE").unwrap_or_default();
    let plain = env::var("ROSTER_PLAIN_LINK").is_ok_and(|value| value == "1");
    if target != "x86_64-unknown-linux-gnu" || profile != "release" || plain {
        return;
    }
    println!("cargo::rustc-link-arg-bin=roster=-Wl,-zpack-relative-relocs");
}
