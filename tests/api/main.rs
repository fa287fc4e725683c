//! Roster's integration tests: one binary, every behaviour on SQLite and PostgreSQL.

mod helpers;

mod achievements_badges;
mod achievements_goal_fields;
mod achievements_goals;
mod achievements_streaks;
mod achievements_support;
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
