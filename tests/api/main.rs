//! Roster's integration tests: one binary, every behaviour on SQLite and PostgreSQL.

mod helpers;

mod auth_login;
mod auth_register;
mod cli;
mod email;
mod email_delivery;
mod email_reset;
mod email_verification;
mod http_hygiene;
mod keys;
mod oauth;
mod passwords;
mod sessions;
mod smtp_sink;
mod system;
mod tokens;
