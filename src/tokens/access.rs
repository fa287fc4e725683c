//! Access tokens: short-lived JWTs (RFC 9068 `at+jwt`) signed with the current key.
//!
//! Tokens of Roster's own logins, and of `first_party` OpenID clients, carry Roster's
//! audience (`JWT_AUDIENCE`): the team's services accept them as a user's login. Those
//! issued to any other client carry `aud` = that client's id, so a service that trusts
//! Roster's audience can never be handed a third-party application's token as a login.
//!
//! Verification accepts only a `kid` this instance knows, signed with that key's own
//! algorithm (the configured one, or the previous one's until its tokens expire after
//! `ACCESS_TOKEN_ALGORITHM` changed; only HS256 with `JWT_SECRET_KEY`), the configured `iss`, an `aud` that is Roster's audience or the token's own `client_id`
//! (an application's token, which only the endpoints made for them take), and checks `exp` and `nbf` against the injected clock with
//! 60 s leeway. Key material offered in the token's own header (`jwk`, `jku`, `x5u`) is
//! never looked at: keys come only from the key set.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::keys::{IdTokenAlgorithm, KeySet};
use crate::accounts::model::{Role, Tier, User};

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: i64 = 60;
/// Longer tokens are rejected before any parsing.
const MAX_TOKEN_LENGTH: usize = 4096;
const ACCESS_TOKEN_TYPE: &str = "at+jwt";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: Uuid,
    /// The session id.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: Uuid,
    pub role: Role,
    pub tier: Tier,
    /// When the user last proved who they are in this session (OpenID Connect Core §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// How they did (RFC 8176 names: `pwd`, `otp`, `hwk`, `swk`, `mfa`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The OpenID client the token was issued to (RFC 9068 §2.2); absent on the tokens of
    /// Roster's own logins. Roster's account API refuses tokens that carry one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The scopes granted to that client, space-separated (RFC 9068 §2.2.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// What an access token issued to an OpenID client carries beyond a session's token.
#[derive(Debug, Clone, Copy)]
pub struct ClientGrant<'a> {
    pub client_id: &'a str,
    pub scope: &'a str,
    /// A `first_party` client's tokens carry Roster's audience; every other client's carry
    /// its own id.
    pub first_party: bool,
}

impl ClientGrant<'_> {
    /// The `aud` of this client's tokens, given Roster's own `audience`.
    fn audience<'a>(&'a self, roster: &'a str) -> &'a str {
        if self.first_party {
            roster
        } else {
            self.client_id
        }
    }
}

/// The claims that say whom a token is for.
trait Addressed {
    fn aud(&self) -> &str;
    fn client_id(&self) -> Option<&str>;
}

impl Addressed for AccessClaims {
    fn aud(&self) -> &str {
        &self.aud
    }
    fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
}

impl Addressed for ServiceClaims {
    fn aud(&self) -> &str {
        &self.aud
    }
    fn client_id(&self) -> Option<&str> {
        Some(&self.client_id)
    }
}

/// The claims of a `client_credentials` token: a service acting as itself, no user and
/// no session; `sub` and `client_id` are the client id. Unknown claims are refused, so a
/// user's token (which has `sid`) never reads as one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub client_id: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

/// How and when the user of a session last proved who they are: what a login or a
/// re-authentication records on the session, and every access token of it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    pub time: DateTime<Utc>,
    /// RFC 8176 method names, comma-separated as stored (`pwd,otp,mfa`).
    pub methods: String,
}

impl Authentication {
    /// A password alone, at `time`.
    pub fn password(time: DateTime<Utc>) -> Authentication {
        Authentication {
            time,
            methods: "pwd".to_owned(),
        }
    }

    pub fn amr(&self) -> Vec<String> {
        self.methods
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Why a token was refused (logged at debug level, never shown to the client).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("unexpected algorithm or token type")]
    WrongAlgorithm,
    #[error("unknown key id")]
    UnknownKey,
    #[error("bad signature or claims: {0}")]
    Invalid(String),
    #[error("expired")]
    Expired,
    #[error("not valid yet")]
    NotYetValid,
}

/// Signs and verifies access tokens with the current [`KeySet`], which the key-refresh
/// task swaps without blocking readers for longer than a pointer copy (a `watch`
/// channel, so that a request can also wait for a key that is still being made).
pub struct TokenService {
    issuer: String,
    audience: String,
    ttl: Duration,
    keys: tokio::sync::watch::Sender<Arc<KeySet>>,
    /// One per algorithm a key can verify, each accepting that algorithm alone.
    validations: [Validation; 4],
}

impl TokenService {
    pub fn new(issuer: String, audience: String, ttl: Duration, keys: KeySet) -> TokenService {
        let validation = |algorithm| {
            let mut validation = Validation::new(algorithm);
            validation.set_issuer(&[&issuer]);
            // `aud` is required, and checked in `verify_claims`: Roster's audience, or the
            // client id of an application's token.
            validation.validate_aud = false;
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            // Time is checked against the injected clock in `verify`.
            validation.validate_exp = false;
            validation.validate_nbf = false;
            validation
        };
        let validations = [
            Algorithm::EdDSA,
            Algorithm::ES256,
            Algorithm::RS256,
            Algorithm::HS256,
        ]
        .map(validation);
        TokenService {
            issuer,
            audience,
            ttl,
            keys: tokio::sync::watch::Sender::new(Arc::new(keys)),
            validations,
        }
    }

    pub fn key_set(&self) -> Arc<KeySet> {
        self.keys.borrow().clone()
    }

    pub fn replace_keys(&self, keys: KeySet) {
        self.keys.send_replace(Arc::new(keys));
    }

    /// The key set once it can sign ID tokens with `algorithm`, waiting at most `limit`:
    /// on a fresh database the first RSA key is made after start-up (see
    /// `keys::create_rsa_key`). `None` when it is still missing after `limit`.
    pub async fn key_set_for_id_tokens(
        &self,
        algorithm: IdTokenAlgorithm,
        limit: Duration,
    ) -> Option<Arc<KeySet>> {
        let mut changes = self.keys.subscribe();
        let ready = changes.wait_for(|keys| keys.signs_id_tokens(algorithm));
        match tokio::time::timeout(limit, ready).await {
            Ok(Ok(keys)) => Some(keys.clone()),
            _ => None,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A signed access token for `user` in session `session_id`, authenticated as
    /// `authentication` says, issued at `now`.
    pub fn issue(
        &self,
        user: &User,
        session_id: Uuid,
        authentication: &Authentication,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        self.issue_for(user, session_id, authentication, None, now)
    }

    /// Like [`Self::issue`], for the session of an OpenID client when `grant` is given.
    pub fn issue_for(
        &self,
        user: &User,
        session_id: Uuid,
        authentication: &Authentication,
        grant: Option<ClientGrant<'_>>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let keys = self.key_set();
        let iat = now.timestamp();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: match &grant {
                Some(grant) => grant.audience(&self.audience).to_owned(),
                None => self.audience.clone(),
            },
            sub: user.id,
            sid: session_id,
            iat,
            exp: iat + self.ttl.as_secs() as i64,
            nbf: None,
            jti: Uuid::now_v7(),
            role: user.role,
            tier: user.tier,
            auth_time: Some(authentication.time.timestamp()),
            amr: authentication.amr(),
            client_id: grant.map(|g| g.client_id.to_owned()),
            scope: grant.map(|g| g.scope.to_owned()),
        };
        let mut header = Header::new(keys.algorithm);
        header.kid = Some(keys.signing_kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        keys.sign(&header, &claims)
    }

    /// A `client_credentials` access token for the client of `grant` with its scope; the
    /// claims too (the token endpoint answers `expires_in` from them).
    pub fn issue_service(
        &self,
        grant: ClientGrant<'_>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(String, ServiceClaims)> {
        let keys = self.key_set();
        let iat = now.timestamp();
        let client_id = grant.client_id;
        let scope = grant.scope;
        let claims = ServiceClaims {
            iss: self.issuer.clone(),
            aud: grant.audience(&self.audience).to_owned(),
            sub: client_id.to_owned(),
            client_id: client_id.to_owned(),
            iat,
            exp: iat + self.ttl.as_secs() as i64,
            jti: Uuid::now_v7(),
            scope: scope.to_owned(),
        };
        let mut header = Header::new(keys.algorithm);
        header.kid = Some(keys.signing_kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        Ok((keys.sign(&header, &claims)?, claims))
    }

    /// The claims of a valid `client_credentials` token, checked against `now`.
    pub fn verify_service(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<ServiceClaims, TokenError> {
        let claims: ServiceClaims = self.verify_claims(token)?;
        let now = now.timestamp();
        if claims.exp + LEEWAY_SECONDS < now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// The claims of a valid token, checked against `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError> {
        let claims: AccessClaims = self.verify_claims(token)?;
        check_time(&claims, now)?;
        Ok(claims)
    }

    /// Signature, algorithm, key, issuer and audience of `token`, its claims read as `T`.
    fn verify_claims<T: serde::de::DeserializeOwned + Addressed>(
        &self,
        token: &str,
    ) -> Result<T, TokenError> {
        if token.len() > MAX_TOKEN_LENGTH || token.is_empty() {
            return Err(TokenError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header
            .typ
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE))
        {
            return Err(TokenError::WrongAlgorithm);
        }
        let keys = self.key_set();
        let (algorithm, key) = header
            .kid
            .as_deref()
            .and_then(|kid| keys.verifying.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        // The key's own algorithm, never one the token chose for it.
        let validation = self
            .validations
            .iter()
            .find(|v| header.alg == *algorithm && v.algorithms == [header.alg])
            .ok_or(TokenError::WrongAlgorithm)?;
        let claims = jsonwebtoken::decode::<T>(token, key, validation)
            .map(|data| data.claims)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        let addressed = claims.aud() == self.audience
            || claims
                .client_id()
                .is_some_and(|client_id| claims.aud() == client_id);
        if !addressed {
            return Err(TokenError::Invalid(
                "the token is for another audience".into(),
            ));
        }
        Ok(claims)
    }
}

/// `exp` and `nbf` against `now`, with [`LEEWAY_SECONDS`] either way.
pub fn check_time(claims: &AccessClaims, now: DateTime<Utc>) -> Result<(), TokenError> {
    let now = now.timestamp();
    if claims.exp + LEEWAY_SECONDS < now {
        return Err(TokenError::Expired);
    }
    if claims.nbf.is_some_and(|nbf| nbf - LEEWAY_SECONDS > now) {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}
