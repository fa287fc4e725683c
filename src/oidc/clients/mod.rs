//! The registry of OpenID clients: the applications that send users here to sign in,
//! and the services that ask for tokens of their own (`client_credentials`).
//!
//! - `model`: [`Client`], [`ClientType`], [`GrantType`], a registered client as the
//!   provider's endpoints and the admin API see it (never its secret), and
//!   [`ClientSecret`].
//! - `validation`: [`ClientInput`] and [`validate`], what an administrator may register,
//!   checked once for the admin API and the CLI alike, naming every failing field at once.
//! - `storage`: [`find`], [`list`], and the changes [`register`], [`update`], [`delete`],
//!   [`rotate_secret`], each in one transaction with its audit record. Deleting a client
//!   revokes every session issued to it in the same transaction; the change feed then
//!   makes every instance refuse their tokens.
//! - `authentication`: [`authenticate`], the client of a token, revocation or
//!   introspection request (`client_secret_basic`, `client_secret_post`, or none for
//!   public clients).
//!
//! A confidential client's secret is 32 random bytes, shown once and stored only as its
//! SHA-256 (a fast hash suffices for 256 random bits, as for refresh tokens); it is
//! compared in constant time.

mod authentication;
mod model;
mod storage;
mod validation;

pub use authentication::{ClientAuthError, authenticate};
pub use model::{Client, ClientSecret, ClientType, GrantType};
pub use storage::{
    Actor, REVOKED_CLIENT_DELETED, SecretRotation, delete, find, list, list_all, register,
    rotate_secret, update,
};
pub use validation::{
    ClientInput, ClientSettings, DEFAULT_GRANT_TYPES, DEFAULT_SCOPES, ID_TOKEN_ALGORITHMS, validate,
};
