//! The kinds of identity provider and what each one's preset fills in (issuer,
//! endpoints, how far its addresses are trusted), and the trust levels themselves.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How far the email address a provider reports is believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrustEmail {
    /// Never counts as verified.
    Never,
    /// Counts as verified when the provider says `email_verified: true`.
    Verified,
    /// The provider owns its addresses: verified, and it may be linked automatically
    /// to an account whose address is verified.
    Authoritative,
}

impl TrustEmail {
    pub fn as_str(self) -> &'static str {
        match self {
            TrustEmail::Never => "never",
            TrustEmail::Verified => "verified",
            TrustEmail::Authoritative => "authoritative",
        }
    }

    pub fn parse(text: &str) -> Option<TrustEmail> {
        [
            TrustEmail::Never,
            TrustEmail::Verified,
            TrustEmail::Authoritative,
        ]
        .into_iter()
        .find(|trust| trust.as_str() == text)
    }
}

/// The kinds of provider the contract names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Oidc,
    Google,
    Apple,
    Microsoft,
    Github,
    Gitlab,
}

impl ProviderKind {
    const ALL: [ProviderKind; 6] = [
        ProviderKind::Oidc,
        ProviderKind::Google,
        ProviderKind::Apple,
        ProviderKind::Microsoft,
        ProviderKind::Github,
        ProviderKind::Gitlab,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Oidc => "oidc",
            ProviderKind::Google => "google",
            ProviderKind::Apple => "apple",
            ProviderKind::Microsoft => "microsoft",
            ProviderKind::Github => "github",
            ProviderKind::Gitlab => "gitlab",
        }
    }

    pub fn parse(text: &str) -> Option<ProviderKind> {
        ProviderKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// The endpoints of a provider: from its discovery document, or from a preset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub authorization: String,
    pub token: String,
    pub jwks: String,
}

/// What a preset fills in: its issuer and endpoints (None: read from the issuer's
/// discovery document), and how far its addresses are trusted by default.
pub(super) struct Preset {
    pub issuer: Option<&'static str>,
    pub endpoints: Option<[&'static str; 3]>,
    pub trust: TrustEmail,
    /// Why an issuer must be given when the preset has none.
    pub issuer_needed: &'static str,
}

pub(super) fn preset(kind: ProviderKind) -> Result<Preset, &'static str> {
    match kind {
        ProviderKind::Oidc => Ok(Preset {
            issuer: None,
            endpoints: None,
            trust: TrustEmail::Verified,
            issuer_needed: "is required for kind oidc: its discovery document is read from it",
        }),
        ProviderKind::Google => Ok(Preset {
            issuer: Some("https://accounts.google.com"),
            endpoints: Some([
                "https://accounts.google.com/o/oauth2/v2/auth",
                "https://oauth2.googleapis.com/token",
                "https://www.googleapis.com/oauth2/v3/certs",
            ]),
            trust: TrustEmail::Authoritative,
            issuer_needed: "",
        }),
        ProviderKind::Gitlab => Ok(Preset {
            issuer: Some("https://gitlab.com"),
            endpoints: Some([
                "https://gitlab.com/oauth/authorize",
                "https://gitlab.com/oauth/token",
                "https://gitlab.com/oauth/discovery/keys",
            ]),
            trust: TrustEmail::Verified,
            issuer_needed: "",
        }),
        ProviderKind::Microsoft => Ok(Preset {
            issuer: None,
            endpoints: None,
            trust: TrustEmail::Verified,
            issuer_needed: "is required for kind microsoft: the tenant's issuer, https://login.microsoftonline.com/{tenant-id}/v2.0",
        }),
        ProviderKind::Apple => Err(
            "apple is not supported by this version yet (its callback is a cross-site form post and its client secret a signed JWT); use kind oidc for other providers",
        ),
        ProviderKind::Github => {
            Err("github is not supported by this version yet (it speaks OAuth 2 without ID tokens)")
        }
    }
}
