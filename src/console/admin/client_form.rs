//! The form of an OpenID client on the admin pages, as text fields a browser posts
//! (redirect URIs one per line, scopes separated by spaces, one checkbox per grant
//! type), turned into the admin API's [`ClientInput`] and back from a [`Client`].

use serde::{Deserialize, Serialize};

use super::ticked;
use crate::oidc::clients::{
    Client, ClientInput, DEFAULT_GRANT_TYPES, DEFAULT_SCOPES, GrantType, ID_TOKEN_ALGORITHMS,
};

/// The client form as posted (and as shown again, kept when refused).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ClientForm {
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub client_type: String,
    /// One URI per line.
    #[serde(default)]
    pub redirect_uris: String,
    /// One URI per line.
    #[serde(default)]
    pub post_logout_redirect_uris: String,
    #[serde(default)]
    pub grant_authorization_code: Option<String>,
    #[serde(default)]
    pub grant_refresh_token: Option<String>,
    #[serde(default)]
    pub grant_client_credentials: Option<String>,
    /// Separated by spaces (or lines).
    #[serde(default)]
    pub scopes: String,
    #[serde(default)]
    pub first_party: Option<String>,
    #[serde(default)]
    pub id_token_signed_response_alg: String,
}

/// The non-empty lines of `text`, trimmed.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

fn checked(on: bool) -> Option<String> {
    on.then(|| "on".to_owned())
}

impl ClientForm {
    /// The form of a new client: the registry's defaults.
    pub fn blank() -> ClientForm {
        ClientForm {
            client_type: "confidential".to_owned(),
            grant_authorization_code: checked(
                DEFAULT_GRANT_TYPES.contains(&GrantType::AuthorizationCode),
            ),
            grant_refresh_token: checked(DEFAULT_GRANT_TYPES.contains(&GrantType::RefreshToken)),
            grant_client_credentials: checked(
                DEFAULT_GRANT_TYPES.contains(&GrantType::ClientCredentials),
            ),
            scopes: DEFAULT_SCOPES.join(" "),
            id_token_signed_response_alg: ID_TOKEN_ALGORITHMS[0].to_owned(),
            ..ClientForm::default()
        }
    }

    /// The form of a registered client.
    pub fn of(client: &Client) -> ClientForm {
        ClientForm {
            name: client.name.clone(),
            client_type: client.client_type.as_str().to_owned(),
            redirect_uris: client.redirect_uris.join("\n"),
            post_logout_redirect_uris: client.post_logout_redirect_uris.join("\n"),
            grant_authorization_code: checked(client.allows_grant(GrantType::AuthorizationCode)),
            grant_refresh_token: checked(client.allows_grant(GrantType::RefreshToken)),
            grant_client_credentials: checked(client.allows_grant(GrantType::ClientCredentials)),
            scopes: client.scopes.join(" "),
            first_party: checked(client.first_party),
            id_token_signed_response_alg: client.id_token_signed_response_alg.clone(),
        }
    }

    /// What the admin API would receive for this form: every field given (the form
    /// shows them all), to be checked by the registry's `validate`.
    pub fn input(&self) -> ClientInput {
        let grants = [
            (&self.grant_authorization_code, GrantType::AuthorizationCode),
            (&self.grant_refresh_token, GrantType::RefreshToken),
            (&self.grant_client_credentials, GrantType::ClientCredentials),
        ]
        .into_iter()
        .filter(|(on, _)| ticked(on))
        .map(|(_, grant)| grant.as_str().to_owned())
        .collect();
        let algorithm = self.id_token_signed_response_alg.trim();
        ClientInput {
            name: Some(self.name.clone()),
            client_type: Some(self.client_type.trim().to_owned()),
            redirect_uris: Some(lines(&self.redirect_uris)),
            post_logout_redirect_uris: Some(lines(&self.post_logout_redirect_uris)),
            grant_types: Some(grants),
            scopes: Some(self.scopes.split_whitespace().map(str::to_owned).collect()),
            first_party: Some(ticked(&self.first_party)),
            id_token_signed_response_alg: (!algorithm.is_empty()).then(|| algorithm.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_the_apis_input() {
        let form = ClientForm {
            name: "Billing".into(),
            client_type: "confidential".into(),
            redirect_uris: " https://a.example/cb \r\n\r\nhttps://b.example/cb\n".into(),
            grant_client_credentials: Some("on".into()),
            scopes: "orders:read\n orders:write".into(),
            ..ClientForm::default()
        };
        let input = form.input();
        assert_eq!(
            input.redirect_uris.unwrap(),
            ["https://a.example/cb", "https://b.example/cb"]
        );
        assert_eq!(
            input.post_logout_redirect_uris.unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(input.grant_types.unwrap(), ["client_credentials"]);
        assert_eq!(input.scopes.unwrap(), ["orders:read", "orders:write"]);
        assert_eq!(input.first_party, Some(false));
        assert_eq!(input.id_token_signed_response_alg, None);
    }
}
