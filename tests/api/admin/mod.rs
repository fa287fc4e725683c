//! Administration: accounts and the audit trail.

mod accounts;
mod invitations;
mod over_admins;
mod setup;
