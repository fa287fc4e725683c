//! Passwords: Argon2id hashing on a bounded pool of threads (`hasher`), each keeping its
//! own memory (`memory`), and the policy new passwords must meet (`policy`). Who may
//! check a password, and how often, is `auth::guard`'s business. Hashes made by other
//! systems, which `roster users import` brings in, are `imported`'s.

pub mod hasher;
pub mod imported;
mod memory;
pub mod policy;

pub use hasher::{PasswordHasher, Verification, is_supported_hash};
pub use policy::{check_policy, check_policy_off_thread};
