//! The administrative commands of the `roster` binary. Each works on the same
//! configuration as the server; the binary parses the arguments and prints what a
//! command returns, except where printing is the command's work (`passwords benchmark`,
//! `clients`, `providers`), which prints itself.

mod admin;
mod calibrate;
mod clients;
mod context;
mod encryption_key;
mod import;
mod keys;
mod providers;

pub use admin::{AdminConflict, AdminOutcome, create_admin, run_create_admin};
pub use calibrate::benchmark as passwords_benchmark;
pub use clients::{ClientsCommand, run_clients};
pub use context::Context;
pub use encryption_key::{ResealReport, read_new_key, rotate_encryption_key};
pub use import::{ImportOptions, ImportReport, import_users, run_import};
pub use keys::{list_keys, rotate_keys};
pub use providers::{ProvidersCommand, run_providers};
