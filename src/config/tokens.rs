//! Access and refresh tokens: signing (`JWT_SECRET_KEY`, or the keys in the database of
//! the kind `ACCESS_TOKEN_ALGORITHM` names), issuer and audience, lifetimes, and how
//! often signing keys are reloaded.

use std::time::Duration;

use super::vars::{ConfigError, Secret, Vars};

/// The kind of key that signs access tokens (`ACCESS_TOKEN_ALGORITHM`): what the JWT
/// libraries of the services that verify them support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessTokenAlgorithm {
    /// Ed25519 (`OKP` keys): the default, small and fast; not in node's `jsonwebtoken`
    /// nor in python-jose.
    EdDsa,
    /// ECDSA on P-256 with SHA-256 (`EC` keys).
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit `RSA` keys): what every library has.
    Rs256,
}

impl AccessTokenAlgorithm {
    /// Every value, the default first, as the variable spells them.
    pub const ALL: [(&'static str, AccessTokenAlgorithm); 3] = [
        ("EdDSA", AccessTokenAlgorithm::EdDsa),
        ("ES256", AccessTokenAlgorithm::Es256),
        ("RS256", AccessTokenAlgorithm::Rs256),
    ];

    /// The JOSE name (`alg`), as stored in `signing_keys.algorithm`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessTokenAlgorithm::EdDsa => "EdDSA",
            AccessTokenAlgorithm::Es256 => "ES256",
            AccessTokenAlgorithm::Rs256 => "RS256",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// When set, access tokens are HS256 with this shared secret instead of
    /// [`Self::access_algorithm`].
    pub jwt_secret_key: Option<Secret>,
    /// The kind of stored key that signs access tokens (`ACCESS_TOKEN_ALGORITHM`).
    pub access_algorithm: AccessTokenAlgorithm,
    /// `iss` (`JWT_ISSUER`, default `PUBLIC_URL`).
    pub issuer: String,
    /// `aud` (`JWT_AUDIENCE`, default `roster`).
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// How long after its rotation a refresh token presented again is answered with the
    /// same successor instead of counting as theft (`REFRESH_REUSE_GRACE_SECONDS`; zero
    /// turns it off).
    pub refresh_reuse_grace: Duration,
    /// How often running instances look for a new signing key (`KEY_REFRESH_SECONDS`).
    pub key_refresh_interval: Duration,
}

impl TokenConfig {
    pub(super) fn parse(vars: &Vars, public_url: &str) -> Result<TokenConfig, ConfigError> {
        Ok(TokenConfig {
            jwt_secret_key: vars.get("JWT_SECRET_KEY").map(Secret::new),
            access_algorithm: vars.choice("ACCESS_TOKEN_ALGORITHM", &AccessTokenAlgorithm::ALL)?,
            issuer: vars
                .get("JWT_ISSUER")
                .unwrap_or_else(|| public_url.to_owned()),
            audience: vars
                .get("JWT_AUDIENCE")
                .unwrap_or_else(|| "roster".to_owned()),
            access_ttl: vars.duration(
                "ACCESS_TOKEN_EXPIRE_MINUTES",
                Duration::from_secs(60),
                15,
                1,
                24 * 60,
            )?,
            refresh_ttl: vars.duration(
                "REFRESH_TOKEN_EXPIRE_DAYS",
                Duration::from_secs(86_400),
                7,
                1,
                365,
            )?,
            refresh_reuse_grace: vars.duration(
                "REFRESH_REUSE_GRACE_SECONDS",
                Duration::from_secs(1),
                10,
                0,
                300,
            )?,
            key_refresh_interval: vars.duration(
                "KEY_REFRESH_SECONDS",
                Duration::from_secs(1),
                5,
                1,
                10,
            )?,
        })
    }
}
