//! The administrative commands of the `roster` binary. Each works on the same
//! configuration as the server; the binary only parses arguments and prints.

mod admin;
mod calibrate;
mod context;
mod encryption_key;
mod import;
mod keys;

pub use admin::{AdminOutcome, create_admin};
pub use calibrate::benchmark as passwords_benchmark;
pub use context::Context;
pub use encryption_key::{ResealReport, read_new_key, rotate_encryption_key};
pub use import::{ImportReport, import_users};
pub use keys::{list_keys, rotate_keys};
