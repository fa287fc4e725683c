//! Roster's integration tests: one binary, every behaviour on SQLite and PostgreSQL.

mod helpers;

mod abuse;
mod achievements;
mod admin;
mod auth;
mod brand;
mod browser;
mod console;
mod events;
mod federation;
mod mail;
mod mfa;
mod oidc;
mod system;
mod users;
mod webhooks;
