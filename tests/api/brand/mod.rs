//! Making Roster a team's own (`BRAND_NAME`, `BRAND_LOGO`, `BRAND_COLOR`,
//! `MAIL_FROM_NAME`, `TEMPLATES_DIR`) and speaking the user's language (the account's
//! `locale`, else the browser's `Accept-Language`).

mod language;
mod looks;
mod startup;
mod translated;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use roster::app::Application;
use roster::config::Config;

use crate::helpers::TestApp;

/// A 1×1 PNG (its signature, then a header chunk and an image).
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";

pub const SVG: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\" fill=\"#5a2d82\"/></svg>\n";

/// Writes `contents` to `name` below `dir` (making its folders); answers the path.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("the folders");
    std::fs::write(&path, contents).expect("the file");
    path
}

/// What stops an instance on `app`'s database from starting with `changes` to its
/// configuration (the configuration's error, or the application's); panics if it starts.
pub async fn start_error(app: &TestApp, changes: &[(&str, &str)]) -> String {
    let mut vars = app.vars().clone();
    for (name, value) in changes {
        vars.insert((*name).to_owned(), (*value).to_owned());
    }
    let config = match Config::from_map(&vars) {
        Ok(config) => config,
        Err(e) => return e.to_string(),
    };
    match Application::build(config, Arc::new(app.clock.clone())).await {
        Ok(_) => panic!("started with {changes:?}"),
        Err(e) => format!("{e:#}"),
    }
}
