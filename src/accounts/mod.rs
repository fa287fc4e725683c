//! Accounts, the model every feature shares: `User` and `PublicUser` with the queries
//! that create and find them (`model`), validated account fields (`fields`), the
//! canonical form of email addresses (`email`), and the preferences JSON Schema
//! (`preferences`). No HTTP here: the endpoints are in `users` and `auth`.

pub mod countries;
pub mod email;
pub mod fields;
pub mod model;
pub mod preferences;
