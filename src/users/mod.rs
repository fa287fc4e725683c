//! Users: the account model shared by every feature, and the `/api/v1/users` endpoints.

pub mod fields;
pub mod model;
