//! Client authentication at the token, revocation and introspection endpoints:
//! `client_secret_basic`, `client_secret_post`, or none for public clients.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use subtle::ConstantTimeEq;

use super::model::{Client, ClientType};
use super::storage::fetch;
use crate::crypto::token_hash;
use crate::db::Db;

/// Why a client was not authenticated; the endpoint answers RFC 6749 §5.2 errors.
#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// RFC 6749 §5.2 `invalid_request` (e.g. two methods at once, malformed Basic header).
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    /// `invalid_client`: unknown client, wrong or missing secret, secret sent for a
    /// public client. `basic` tells that the client tried `Authorization: Basic`, so the
    /// answer must be 401 with `WWW-Authenticate: Basic` (RFC 6749 §5.2).
    #[error("invalid_client")]
    InvalidClient { basic: bool },
    /// The database could not be asked (answer 503/500, not a client error).
    #[error("client lookup failed: {0}")]
    Database(#[from] sqlx::Error),
}

/// Authenticates the client of a token-endpoint style request: `client_secret_basic`
/// (Authorization: Basic, client_id and secret each application/x-www-form-urlencoded
/// before base64, RFC 6749 §2.3.1), `client_secret_post` (form fields), or none (public
/// client sending only client_id). Exactly one method: a Basic header together with a
/// `client_secret` field is `invalid_request`, as is a `client_id` field naming another
/// client than the header. An `Authorization` header of another scheme is not client
/// authentication and is ignored here.
pub async fn authenticate(
    db: &Db,
    headers: &axum::http::HeaderMap,
    form_client_id: Option<&str>,
    form_client_secret: Option<&str>,
) -> Result<Client, ClientAuthError> {
    let basic = basic_credentials(headers)?;
    let (client_id, secret, via_basic) = match &basic {
        Some((id, secret)) => {
            if form_client_secret.is_some() {
                return Err(ClientAuthError::InvalidRequest(
                    "use one client authentication method: the Authorization header or client_secret, not both",
                ));
            }
            if form_client_id.is_some_and(|form_id| form_id != id) {
                return Err(ClientAuthError::InvalidRequest(
                    "client_id differs from the client of the Authorization header",
                ));
            }
            (id.as_str(), Some(secret.as_str()), true)
        }
        None => match form_client_id {
            Some(id) => (id, form_client_secret, false),
            None => return Err(ClientAuthError::InvalidClient { basic: false }),
        },
    };
    let refused = ClientAuthError::InvalidClient { basic: via_basic };
    let Some((client, stored_hash)) = fetch(db, client_id).await? else {
        return Err(refused);
    };
    match (client.client_type, secret, stored_hash) {
        (ClientType::Public, None, _) => Ok(client),
        (ClientType::Confidential, Some(secret), Some(stored))
            if bool::from(token_hash(secret).ct_eq(&stored)) =>
        {
            Ok(client)
        }
        _ => Err(refused),
    }
}

/// Base64 that accepts a value with or without its padding.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The client id and secret of `Authorization: Basic`, `None` without such a header.
fn basic_credentials(
    headers: &axum::http::HeaderMap,
) -> Result<Option<(String, String)>, ClientAuthError> {
    let malformed = ClientAuthError::InvalidRequest("the Basic authorization header is malformed");
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let Ok(value) = value.to_str() else {
        return Err(malformed);
    };
    let (scheme, encoded) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = LENIENT_BASE64
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(ClientAuthError::InvalidRequest(
            "the Basic authorization header is not base64 of UTF-8 text",
        ))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or(ClientAuthError::InvalidRequest(
            "the Basic credentials lack the colon between client id and secret",
        ))?;
    match (form_decode(id), form_decode(secret)) {
        (Some(id), Some(secret)) if !id.is_empty() => Ok(Some((id, secret))),
        _ => Err(malformed),
    }
}

/// Undoes application/x-www-form-urlencoded on one value (`+` is a space, `%XX` a
/// byte); `None` for a broken escape or bytes that are not UTF-8.
fn form_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, header};

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    fn basic(raw: &str) -> HeaderMap {
        with_authorization(&format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    }

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        let parsed = basic_credentials(&basic("my%3Aapp:s%2Bcr+t%25")).unwrap();
        assert_eq!(parsed, Some(("my:app".to_owned(), "s+cr t%".to_owned())));
        // The first colon separates; an unencoded colon in the secret stays in it.
        let parsed = basic_credentials(&basic("app:a:b")).unwrap();
        assert_eq!(parsed, Some(("app".to_owned(), "a:b".to_owned())));
        // Scheme in any case, padding optional.
        let unpadded = base64::engine::general_purpose::STANDARD_NO_PAD.encode("app:x");
        let parsed = basic_credentials(&with_authorization(&format!("bAsIc {unpadded}"))).unwrap();
        assert_eq!(parsed, Some(("app".to_owned(), "x".to_owned())));
    }

    #[test]
    fn malformed_basic_credentials_are_invalid_requests() {
        for headers in [
            basic("no-colon-here"),
            basic("app:bad%zzescape"),
            basic("app:%e2%28"),
            basic(":secret"),
            with_authorization("Basic !!!not-base64!!!"),
            with_authorization("Basic"),
        ] {
            assert!(
                matches!(
                    basic_credentials(&headers),
                    Err(ClientAuthError::InvalidRequest(_))
                ),
                "{headers:?}"
            );
        }
    }

    #[test]
    fn other_schemes_and_no_header_are_not_basic_credentials() {
        assert!(matches!(basic_credentials(&HeaderMap::new()), Ok(None)));
        assert!(matches!(
            basic_credentials(&with_authorization("Bearer abc.def")),
            Ok(None)
        ));
    }
}
