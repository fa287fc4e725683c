//! The WebAuthn relying party: the ceremonies' options and the checks of their answers,
//! done by `webauthn_rp` (WebAuthn Level 3; Ed25519, ES256, ES384 and RS256 keys;
//! attestation `none`). This file only adapts it to Roster: the relying-party id and the
//! one origin from the configuration, ceremony states as bytes for the database, and a
//! stored passkey as three encoded parts (transports, public key, counters and flags).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::{AllowedCredentials, AuthenticationVerificationOptions};
use webauthn_rp::request::register::{
    CredProtect, Nickname, PublicKeyCredentialUserEntity, RegistrationVerificationOptions,
    UserHandle16, Username,
};
use webauthn_rp::request::{
    AsciiDomain, Credentials, ExtensionInfo, PublicKeyCredentialDescriptor, RpId,
    UserVerificationRequirement,
};
use webauthn_rp::response::auth::ser_relaxed::{
    DiscoverableAuthenticationRelaxed16, NonDiscoverableAuthenticationRelaxed16,
};
use webauthn_rp::response::register::ser_relaxed::RegistrationRelaxed;
use webauthn_rp::response::register::{CompressedPubKey, DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, Backup, CredentialId};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthentication16, DiscoverableAuthenticationServerState,
    DiscoverableCredentialRequestOptions, NonDiscoverableAuthentication16,
    NonDiscoverableAuthenticationServerState, NonDiscoverableCredentialRequestOptions,
    PublicKeyCredentialCreationOptions, Registration, RegistrationServerState,
};

use crate::error::ApiError;

/// A stored public key in the form `webauthn_rp` decodes.
type PublicKey = StaticState<CompressedPubKey<[u8; 32], [u8; 32], [u8; 48], Vec<u8>>>;

/// The relying party passkeys are bound to: `WEBAUTHN_RP_ID` and `PUBLIC_URL`'s origin.
pub struct RelyingParty {
    rp_id: RpId,
    origin: String,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty")
            .field("rp_id", &self.rp_id.as_ref())
            .field("origin", &self.origin)
            .finish()
    }
}

/// A passkey as the `passkeys.credential` column holds it (its id and owner are columns).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredCredential {
    transports: u8,
    /// The encoded public key and the extensions fixed at registration, base64url.
    public_key: String,
    /// The encoded signature counter, backup and user-verification flags, base64url.
    state: String,
}

/// A credential the registration ceremony accepted.
pub struct NewCredential {
    pub credential_id: Vec<u8>,
    pub stored: StoredCredential,
}

/// A passkey answer: for a named account (second factor) or for none (a whole login).
pub enum Assertion {
    SecondFactor(Box<NonDiscoverableAuthentication16>),
    Login(Box<DiscoverableAuthentication16>),
}

/// An assertion that held: the credential's new state and whether it may be synced.
pub struct Asserted {
    pub stored: StoredCredential,
    /// Backup-eligible: a key that may leave the device (RFC 8176 `swk`, else `hwk`).
    pub backup_eligible: bool,
}

/// Why an answer was refused, in the crate's words (for the log and the 400's detail).
#[derive(Debug)]
pub struct Refused(pub String);

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("WebAuthn {what}: {e}"))
}

fn options_json(options: &impl Serialize) -> Result<Value, ApiError> {
    serde_json::to_value(options).map_err(|e| internal("options", e))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn user_handle(user_id: Uuid) -> UserHandle16 {
    match UserHandle16::decode(*user_id.as_bytes()) {
        Ok(handle) => handle,
        Err(never) => match never {},
    }
}

impl StoredCredential {
    fn public_key(&self) -> Result<PublicKey, ApiError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(&self.public_key)
            .map_err(|e| internal("stored public key", e))?;
        PublicKey::decode(bytes.as_slice()).map_err(|e| internal("stored public key", e))
    }

    fn state(&self) -> Result<DynamicState, ApiError> {
        let bytes: [u8; 7] = URL_SAFE_NO_PAD
            .decode(&self.state)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| internal("stored passkey state", "not 7 bytes"))?;
        DynamicState::decode(bytes).map_err(|e| internal("stored passkey state", e))
    }

    fn descriptor(&self, id: &[u8]) -> Result<PublicKeyCredentialDescriptor<Vec<u8>>, ApiError> {
        Ok(PublicKeyCredentialDescriptor {
            id: CredentialId::decode(id.to_vec()).map_err(|e| internal("stored id", e))?,
            transports: AuthTransports::decode(self.transports)
                .map_err(|e| internal("stored transports", e))?,
        })
    }

    fn with_state(&self, state: DynamicState) -> Result<StoredCredential, ApiError> {
        let encoded = match state.encode() {
            Ok(bytes) => bytes,
            Err(never) => match never {},
        };
        Ok(StoredCredential {
            state: b64(&encoded),
            ..self.clone()
        })
    }
}

/// Reads `RegistrationResponseJSON` (members the crate does not need are ignored).
pub fn parse_registration(credential: &Value) -> Result<Registration, serde_json::Error> {
    RegistrationRelaxed::deserialize(credential).map(|parsed| parsed.0)
}

impl Assertion {
    /// Reads `AuthenticationResponseJSON` (members the crate does not need are ignored).
    pub fn parse(credential: &Value, login: bool) -> Result<Assertion, serde_json::Error> {
        Ok(if login {
            let parsed = DiscoverableAuthenticationRelaxed16::deserialize(credential)?;
            Assertion::Login(Box::new(parsed.0))
        } else {
            let parsed = NonDiscoverableAuthenticationRelaxed16::deserialize(credential)?;
            Assertion::SecondFactor(Box::new(parsed.0))
        })
    }

    pub fn credential_id(&self) -> &[u8] {
        match self {
            Assertion::SecondFactor(a) => a.raw_id().into_inner(),
            Assertion::Login(a) => a.raw_id().into_inner(),
        }
    }

    /// The account the authenticator names (always for a login; optional otherwise).
    pub fn user_handle(&self) -> Option<Uuid> {
        let handle = match self {
            Assertion::SecondFactor(a) => a.response().user_handle().map(|h| h.as_ref()),
            Assertion::Login(a) => Some(a.response().user_handle().as_ref()),
        };
        handle.and_then(|bytes| Uuid::from_slice(bytes).ok())
    }
}

impl RelyingParty {
    pub fn new(rp_id: &str, origin: &url::Url) -> anyhow::Result<RelyingParty> {
        let domain = AsciiDomain::try_from(rp_id.to_owned())
            .map_err(|e| anyhow::anyhow!("WEBAUTHN_RP_ID {rp_id:?} is not a domain: {e}"))?;
        Ok(RelyingParty {
            rp_id: RpId::Domain(domain),
            origin: origin.origin().ascii_serialization(),
        })
    }

    /// Options for `navigator.credentials.create()`: a discoverable credential with user
    /// verification, none of `exclude` again. Answers the ceremony's server side too.
    pub fn registration_options(
        &self,
        user_id: Uuid,
        name: &str,
        display_name: &str,
        exclude: &[(Vec<u8>, StoredCredential)],
    ) -> Result<(Vec<u8>, Value), ApiError> {
        let handle = user_handle(user_id);
        let user = PublicKeyCredentialUserEntity {
            name: Username::try_from(name)
                .or_else(|_| Username::try_from(user_id.to_string()))
                .map_err(|e| internal("user name", e))?,
            id: &handle,
            display_name: Nickname::try_from(display_name).ok(),
        };
        let exclude = exclude
            .iter()
            .map(|(id, stored)| stored.descriptor(id))
            .collect::<Result<Vec<_>, _>>()?;
        let mut options = PublicKeyCredentialCreationOptions::passkey(&self.rp_id, user, exclude);
        // Ask for credProtect's user-verification-required policy without making the
        // browser refuse an authenticator that does not implement the extension (many
        // platform authenticators, and the browsers' virtual ones): user verification is
        // required at registration and at a passkey login regardless.
        options.extensions.cred_protect =
            CredProtect::UserVerificationRequired(ExtensionInfo::AllowDontEnforceValue);
        let (server, client) = options
            .start_ceremony()
            .map_err(|e| internal("registration options", e))?;
        let server = server
            .encode()
            .map_err(|e| internal("registration state", e))?;
        Ok((server, options_json(&client)?))
    }

    /// Checks a registration response against the ceremony `server`.
    pub fn register(
        &self,
        server: &[u8],
        response: &Registration,
    ) -> Result<Result<NewCredential, Refused>, ApiError> {
        let server = RegistrationServerState::<16>::decode(server)
            .map_err(|e| internal("stored registration state", e))?;
        let origins = [self.origin.as_str()];
        let options = RegistrationVerificationOptions::<&str, &str> {
            allowed_origins: &origins,
            ..RegistrationVerificationOptions::default()
        };
        let registered = match server.verify(&self.rp_id, response, &options) {
            Ok(registered) => registered,
            Err(e) => return Ok(Err(Refused(e.to_string()))),
        };
        let (id, transports, _user, public_key, state, _metadata) = registered.into_parts();
        let public_key = match public_key.encode() {
            Ok(bytes) => bytes,
            Err(never) => match never {},
        };
        let state = match state.encode() {
            Ok(bytes) => bytes,
            Err(never) => match never {},
        };
        let transports = match transports.encode() {
            Ok(bits) => bits,
            Err(never) => match never {},
        };
        Ok(Ok(NewCredential {
            credential_id: id.as_ref().to_vec(),
            stored: StoredCredential {
                transports,
                public_key: b64(&public_key),
                state: b64(&state),
            },
        }))
    }

    /// Options for `navigator.credentials.get()` listing `credentials` (a second factor).
    pub fn second_factor_options(
        &self,
        credentials: &[(Vec<u8>, StoredCredential)],
    ) -> Result<(Vec<u8>, Value), ApiError> {
        let mut allowed = AllowedCredentials::with_capacity(credentials.len());
        for (id, stored) in credentials {
            allowed.push(stored.descriptor(id)?.into());
        }
        let mut options =
            NonDiscoverableCredentialRequestOptions::second_factor(&self.rp_id, allowed)
                .map_err(|e| internal("request options", e))?;
        // A passkey is registered to need user verification (credProtect): ask for it.
        options.options().user_verification = UserVerificationRequirement::Preferred;
        let (server, client) = options
            .start_ceremony()
            .map_err(|e| internal("request options", e))?;
        let server = server.encode().map_err(|e| internal("request state", e))?;
        Ok((server, options_json(&client)?))
    }

    /// Options for `navigator.credentials.get()` naming no account (discoverable
    /// credentials, user verification required).
    pub fn login_options(&self) -> Result<(Vec<u8>, Value), ApiError> {
        let (server, client) = DiscoverableCredentialRequestOptions::passkey(&self.rp_id)
            .start_ceremony()
            .map_err(|e| internal("request options", e))?;
        let server = server.encode().map_err(|e| internal("request state", e))?;
        Ok((server, options_json(&client)?))
    }

    /// Checks `assertion` under the ceremony `server` against the stored credential
    /// `stored` of `owner`: signature, challenge, origin, relying party, flags, and a
    /// signature counter that must grow (a clone or a replay does not).
    pub fn check(
        &self,
        server: &[u8],
        assertion: &Assertion,
        owner: Uuid,
        stored: &StoredCredential,
    ) -> Result<Result<Asserted, Refused>, ApiError> {
        let handle = user_handle(owner);
        let id = CredentialId::<&[u8]>::decode(assertion.credential_id())
            .map_err(|e| internal("credential id", e))?;
        let mut credential = match AuthenticatedCredential::new(
            id,
            &handle,
            stored.public_key()?,
            stored.state()?,
        ) {
            Ok(credential) => credential,
            Err(e) => return Ok(Err(Refused(e.to_string()))),
        };
        let origins = [self.origin.as_str()];
        let options = AuthenticationVerificationOptions::<&str, &str> {
            allowed_origins: &origins,
            update_uv: true,
            ..AuthenticationVerificationOptions::default()
        };
        let verified = match assertion {
            Assertion::SecondFactor(response) => {
                NonDiscoverableAuthenticationServerState::decode(server)
                    .map_err(|e| internal("stored request state", e))?
                    .verify(&self.rp_id, response, &mut credential, &options)
            }
            Assertion::Login(response) => DiscoverableAuthenticationServerState::decode(server)
                .map_err(|e| internal("stored request state", e))?
                .verify(&self.rp_id, response, &mut credential, &options),
        };
        if let Err(e) = verified {
            return Ok(Err(Refused(e.to_string())));
        }
        let state = credential.dynamic_state();
        Ok(Ok(Asserted {
            stored: stored.with_state(state)?,
            backup_eligible: !matches!(state.backup, Backup::NotEligible),
        }))
    }
}
