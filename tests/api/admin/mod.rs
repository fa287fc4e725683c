//! Administration: accounts and the audit trail.

mod accounts;
mod over_admins;
mod setup;
