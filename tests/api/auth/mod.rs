//! Authentication: login, registration, tokens, sessions, OAuth2, passwords, keys and the authentication cache.

mod algorithms;
mod cache;
mod jwt_clients;
mod keys;
mod login;
mod oauth;
mod passwords;
mod refresh;
mod register;
mod sessions;
mod tokens;
