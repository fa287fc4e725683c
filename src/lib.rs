//! Roster: user management and authentication as one service.
//!
//! `main.rs` parses the command line; everything else lives here so that the
//! integration tests build exactly the application the binary serves.

pub mod accounts;
pub mod achievements;
pub mod admin;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod coherence;
pub mod config;
pub mod console;
pub mod crypto;
pub mod db;
pub mod error;
pub mod event_api;
pub mod events;
pub mod features;
pub mod federation;
pub mod http;
pub mod i18n;
pub mod mail;
pub mod maintenance;
pub mod nats;
pub mod oidc;
pub mod passwords;
pub mod patch;
pub mod ratelimit;
pub mod secrets;
pub mod state;
pub mod system;
pub mod telemetry;
pub mod text;
pub mod tokens;
pub mod users;
pub mod web;
pub mod webauthn;
pub mod webhook_delivery;
pub mod webhooks;
