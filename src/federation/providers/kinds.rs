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
    /// OpenID kinds: the provider's keys (ID tokens are verified with them).
    pub jwks: Option<String>,
    /// `github`: the API's user endpoint (`/user`, its addresses at `/user/emails`).
    pub userinfo: Option<String>,
}

impl Endpoints {
    fn openid(authorization: &str, token: &str, jwks: &str) -> Endpoints {
        Endpoints {
            authorization: authorization.to_owned(),
            token: token.to_owned(),
            jwks: Some(jwks.to_owned()),
            userinfo: None,
        }
    }
}

/// What a preset fills in: its issuer, its endpoints for an issuer (None: read from the
/// issuer's discovery document), how far its addresses are trusted by default, and the
/// scopes it asks for unless told otherwise.
pub(super) struct Preset {
    pub issuer: Option<&'static str>,
    pub endpoints: fn(&str) -> Option<Endpoints>,
    pub trust: TrustEmail,
    /// Why an issuer must be given when the preset has none.
    pub issuer_needed: &'static str,
    pub default_scopes: &'static [&'static str],
}

/// What an OpenID provider is asked for when added without `scopes`.
pub const OPENID_SCOPES: [&str; 3] = ["openid", "email", "profile"];
/// What Apple is asked for: its ID token, the address and (in the first answer only)
/// the name.
pub const APPLE_SCOPES: [&str; 3] = ["openid", "email", "name"];
/// What GitHub is asked for: the profile and the addresses (with whether each is
/// verified).
pub const GITHUB_SCOPES: [&str; 2] = ["read:user", "user:email"];

const GOOGLE: &str = "https://accounts.google.com";
const GITLAB: &str = "https://gitlab.com";
const GITHUB: &str = "https://github.com";
const APPLE: &str = "https://appleid.apple.com";

fn discovered(_: &str) -> Option<Endpoints> {
    None
}

impl ProviderKind {
    /// Whether the provider speaks OpenID Connect (ID tokens, `nonce`, discovery);
    /// `github` speaks plain OAuth 2 and is asked its API who signed in.
    pub fn speaks_openid(self) -> bool {
        self != ProviderKind::Github
    }
}

pub(super) fn preset(kind: ProviderKind) -> Result<Preset, &'static str> {
    let openid = |issuer, endpoints, trust, issuer_needed| Preset {
        issuer,
        endpoints,
        trust,
        issuer_needed,
        default_scopes: &OPENID_SCOPES,
    };
    match kind {
        ProviderKind::Oidc => Ok(openid(
            None,
            discovered,
            TrustEmail::Verified,
            "is required for kind oidc: its discovery document is read from it",
        )),
        // The preset's endpoints serve its own issuer only (a self-hosted GitLab is
        // discovered like any other provider).
        ProviderKind::Google => Ok(openid(
            Some(GOOGLE),
            |issuer| {
                (issuer == GOOGLE).then(|| {
                    Endpoints::openid(
                        "https://accounts.google.com/o/oauth2/v2/auth",
                        "https://oauth2.googleapis.com/token",
                        "https://www.googleapis.com/oauth2/v3/certs",
                    )
                })
            },
            TrustEmail::Authoritative,
            "",
        )),
        ProviderKind::Gitlab => Ok(openid(
            Some(GITLAB),
            |issuer| {
                (issuer == GITLAB).then(|| {
                    Endpoints::openid(
                        "https://gitlab.com/oauth/authorize",
                        "https://gitlab.com/oauth/token",
                        "https://gitlab.com/oauth/discovery/keys",
                    )
                })
            },
            TrustEmail::Verified,
            "",
        )),
        ProviderKind::Microsoft => Ok(openid(
            None,
            discovered,
            TrustEmail::Verified,
            "is required for kind microsoft: the tenant's issuer, https://login.microsoftonline.com/{tenant-id}/v2.0",
        )),
        // github.com, or a GitHub Enterprise Server named by its issuer (its base URL):
        // the web flow under `/login/oauth/`, the API at `api.github.com` or `/api/v3`.
        ProviderKind::Github => Ok(Preset {
            issuer: Some(GITHUB),
            endpoints: |issuer| Some(github_endpoints(issuer)),
            trust: TrustEmail::Verified,
            issuer_needed: "",
            default_scopes: &GITHUB_SCOPES,
        }),
        // appleid.apple.com, or a stand-in named by its issuer (its endpoints under
        // `/auth/` as Apple's); its client secret is made per exchange (`federation::apple`).
        ProviderKind::Apple => Ok(Preset {
            issuer: Some(APPLE),
            endpoints: |issuer| Some(apple_endpoints(issuer)),
            trust: TrustEmail::Authoritative,
            issuer_needed: "",
            default_scopes: &APPLE_SCOPES,
        }),
    }
}

/// Apple's endpoints, under `/auth/` of its issuer.
fn apple_endpoints(issuer: &str) -> Endpoints {
    let base = issuer.trim_end_matches('/');
    Endpoints::openid(
        &format!("{base}/auth/authorize"),
        &format!("{base}/auth/token"),
        &format!("{base}/auth/keys"),
    )
}

/// GitHub's endpoints: github.com's, or those of the GitHub Enterprise Server at `base`.
fn github_endpoints(base: &str) -> Endpoints {
    let base = base.trim_end_matches('/');
    let api = if base == GITHUB {
        "https://api.github.com".to_owned()
    } else {
        format!("{base}/api/v3")
    };
    Endpoints {
        authorization: format!("{base}/login/oauth/authorize"),
        token: format!("{base}/login/oauth/access_token"),
        jwks: None,
        userinfo: Some(format!("{api}/user")),
    }
}
