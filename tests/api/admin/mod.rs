//! Administration: accounts and the audit trail.

mod accounts;
