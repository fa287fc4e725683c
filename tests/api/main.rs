//! Roster's integration tests: one binary, every behaviour on SQLite and PostgreSQL.

mod helpers;

mod admin;
mod auth_login;
mod auth_register;
mod cli;
mod http_hygiene;
mod keys;
mod oauth;
mod passwords;
mod sessions;
mod system;
mod tokens;
mod users_account;
mod users_authz;
mod users_fixtures;
mod users_payment;
mod users_preferences;
mod users_premium;
mod users_profile;
mod users_search;
