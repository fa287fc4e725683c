//! What an identity that came back from a provider leads to, decided in one place from
//! what is known: an identity is matched by (issuer, subject), never by email. An
//! address is believed only as far as the provider's `trust_email` allows, and an
//! address that matches an existing account links to it automatically only when the
//! provider is authoritative for it and the account's own address is verified;
//! otherwise the user must prove the account with its own credentials first.

use uuid::Uuid;

use super::providers::Provider;
use super::providers::input::TrustEmail;
use super::upstream::UpstreamIdentity;

/// The account whose address the identity's address is, as far as the rules need it.
#[derive(Debug, Clone, Copy)]
pub struct SameAddress {
    pub user_id: Uuid,
    pub email_verified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// A linked identity: its account signs in.
    SignIn { identity_id: Uuid, user_id: Uuid },
    /// An authoritative provider's address is the verified address of this account:
    /// link, then sign in.
    LinkToVerifiedAddress { user_id: Uuid },
    /// The address is an account's, but not provably the same person's: the user signs
    /// in to that account with its own credentials, then it is linked.
    OfferLink { user_id: Uuid },
    /// No account has the address, which the provider is trusted to have confirmed: a
    /// new account, its address verified.
    SignUp,
    /// Nothing: the page says why.
    Refuse(Refusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The provider sent no address, and no account has the identity.
    NoEmail,
    /// The provider does not confirm the address, so it cannot become an account's.
    UnconfirmedEmail,
    /// The provider's `allow_signup` is off.
    SignupClosed,
}

impl Refusal {
    /// What the page says: a message of `pages.ftl` naming the `$provider`.
    pub fn message_key(self) -> &'static str {
        match self {
            Refusal::NoEmail => crate::i18n::message_key("federation-no-email"),
            Refusal::UnconfirmedEmail => crate::i18n::message_key("federation-unconfirmed-email"),
            Refusal::SignupClosed => crate::i18n::message_key("federation-signup-closed"),
        }
    }
}

/// Whether the provider's word on the identity's address counts as a verification.
pub fn email_counts_as_verified(trust: TrustEmail, identity: &UpstreamIdentity) -> bool {
    match trust {
        TrustEmail::Never => false,
        TrustEmail::Verified => identity.email_verified == Some(true),
        // Authoritative for its own addresses, unless it says itself that this one is not.
        TrustEmail::Authoritative => identity.email_verified != Some(false),
    }
}

/// Decides what `identity` leads to. `linked` is (identity id, account id) when the
/// identity is linked already; `same_address` the account that has its address.
pub fn decide(
    provider: &Provider,
    identity: &UpstreamIdentity,
    linked: Option<(Uuid, Uuid)>,
    same_address: Option<SameAddress>,
) -> Arrival {
    if let Some((identity_id, user_id)) = linked {
        return Arrival::SignIn {
            identity_id,
            user_id,
        };
    }
    if identity.email.is_none() {
        return Arrival::Refuse(Refusal::NoEmail);
    }
    let verified = email_counts_as_verified(provider.trust_email, identity);
    match same_address {
        Some(account)
            if provider.trust_email == TrustEmail::Authoritative
                && verified
                && account.email_verified =>
        {
            Arrival::LinkToVerifiedAddress {
                user_id: account.user_id,
            }
        }
        Some(account) => Arrival::OfferLink {
            user_id: account.user_id,
        },
        None if !provider.allow_signup => Arrival::Refuse(Refusal::SignupClosed),
        None if !verified => Arrival::Refuse(Refusal::UnconfirmedEmail),
        None => Arrival::SignUp,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::federation::providers::input::ProviderKind;

    fn provider(trust: TrustEmail, allow_signup: bool) -> Provider {
        Provider {
            id: Uuid::now_v7(),
            slug: "acme".into(),
            kind: ProviderKind::Oidc,
            display_name: "Acme".into(),
            client_id: "roster".into(),
            issuer: "https://id.acme.example".into(),
            authorization_endpoint: "https://id.acme.example/authorize".into(),
            token_endpoint: "https://id.acme.example/token".into(),
            jwks_uri: Some("https://id.acme.example/jwks".into()),
            userinfo_endpoint: None,
            scopes: vec!["openid".into()],
            trust_email: trust,
            allow_signup,
            enabled: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn identity(email_verified: Option<bool>) -> UpstreamIdentity {
        UpstreamIdentity {
            issuer: "https://id.acme.example".into(),
            subject: "248289761001".into(),
            email: Some("jane@example.com".into()),
            email_verified,
            preferred_username: None,
            name: None,
        }
    }

    fn account(email_verified: bool) -> Option<SameAddress> {
        Some(SameAddress {
            user_id: Uuid::from_u128(7),
            email_verified,
        })
    }

    #[test]
    fn a_linked_identity_signs_in_whatever_its_address() {
        let linked = Some((Uuid::from_u128(1), Uuid::from_u128(2)));
        let mut changed = identity(Some(false));
        changed.email = Some("elsewhere@example.com".into());
        assert_eq!(
            decide(&provider(TrustEmail::Never, false), &changed, linked, None),
            Arrival::SignIn {
                identity_id: Uuid::from_u128(1),
                user_id: Uuid::from_u128(2)
            }
        );
    }

    #[test]
    fn an_address_links_by_itself_only_from_an_authoritative_provider_to_a_verified_account() {
        let owner = Uuid::from_u128(7);
        let authoritative = provider(TrustEmail::Authoritative, true);
        assert_eq!(
            decide(&authoritative, &identity(Some(true)), None, account(true)),
            Arrival::LinkToVerifiedAddress { user_id: owner }
        );
        // The account's address was never verified: whoever registered it may not own it.
        assert_eq!(
            decide(&authoritative, &identity(Some(true)), None, account(false)),
            Arrival::OfferLink { user_id: owner }
        );
        // The provider says itself that the address is not confirmed.
        assert_eq!(
            decide(&authoritative, &identity(Some(false)), None, account(true)),
            Arrival::OfferLink { user_id: owner }
        );
        // A provider that is only trusted to verify never links by address.
        let verified = provider(TrustEmail::Verified, true);
        assert_eq!(
            decide(&verified, &identity(Some(true)), None, account(true)),
            Arrival::OfferLink { user_id: owner }
        );
    }

    #[test]
    fn sign_up_needs_an_address_the_provider_is_trusted_to_have_confirmed() {
        let verified = provider(TrustEmail::Verified, true);
        assert_eq!(
            decide(&verified, &identity(Some(true)), None, None),
            Arrival::SignUp
        );
        assert_eq!(
            decide(&verified, &identity(Some(false)), None, None),
            Arrival::Refuse(Refusal::UnconfirmedEmail)
        );
        assert_eq!(
            decide(
                &provider(TrustEmail::Never, true),
                &identity(Some(true)),
                None,
                None
            ),
            Arrival::Refuse(Refusal::UnconfirmedEmail)
        );
        assert_eq!(
            decide(
                &provider(TrustEmail::Verified, false),
                &identity(Some(true)),
                None,
                None
            ),
            Arrival::Refuse(Refusal::SignupClosed)
        );
        let mut silent = identity(Some(true));
        silent.email = None;
        assert_eq!(
            decide(&verified, &silent, None, None),
            Arrival::Refuse(Refusal::NoEmail)
        );
    }
}
