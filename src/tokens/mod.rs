//! Tokens: the signing keys (Ed25519, P-256 and RSA in the database, sealed, rotated and
//! published as a JWK set; or one HS256 secret), access tokens signed and verified with
//! them, and the batched rotation of refresh tokens. No HTTP here: `auth` issues and checks them for
//! requests, `system` publishes the key set.

pub mod access;
pub mod keys;
pub mod rotation;
