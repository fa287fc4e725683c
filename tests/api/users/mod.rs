//! The `/api/v1/users` endpoints: the account, who may act for whom, payment information, preferences, premium, profiles and search.

mod account;
mod authz;
mod payment;
mod preferences;
mod premium;
mod profile;
mod search;
pub mod support;
