//! Roster's integration tests: one binary, every behaviour on SQLite and PostgreSQL.

mod helpers;

mod abuse_fuzz;
mod abuse_lockout;
mod abuse_proxies;
mod abuse_ratelimit;
mod achievements_badges;
mod achievements_goal_fields;
mod achievements_goals;
mod achievements_streaks;
mod achievements_support;
mod auth_cache;
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
mod outage;
mod passwords;
mod sessions;
mod shutdown;
mod smtp_sink;
mod system;
mod tokens;
