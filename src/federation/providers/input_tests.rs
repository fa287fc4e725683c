//! The checks of `input`: fields named, presets filled in.

use super::*;

fn input(kind: &str) -> ProviderInput {
    ProviderInput {
        slug: Some("acme".into()),
        kind: Some(kind.into()),
        display_name: Some("Acme".into()),
        client_id: Some("roster".into()),
        client_secret: Some("s3cret".into()),
        issuer: Some("https://id.acme.example".into()),
        ..ProviderInput::default()
    }
}

#[test]
fn issuers_are_https_except_on_loopback() {
    assert!(check_url("https://id.example").is_ok());
    assert!(check_url("http://127.0.0.1:9400").is_ok());
    assert!(check_url("http://[::1]:9400").is_ok());
    assert!(check_url("http://localhost:9400").is_ok());
    assert!(check_url("http://id.example").is_err());
    assert!(check_url("https://id.example/?a=b").is_err());
    assert!(check_url("https://user:pw@id.example").is_err());
}

#[test]
fn every_failing_field_is_named() {
    let bad = ProviderInput {
        slug: Some("Not A Slug".into()),
        kind: Some("saml".into()),
        scopes: Some(vec!["email".into(), "bad scope".into()]),
        trust_email: Some("always".into()),
        ..ProviderInput::default()
    };
    let fields: Vec<String> = validate(&bad)
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect();
    for field in [
        "slug",
        "kind",
        "display_name",
        "client_id",
        "client_secret",
        "scopes[1]",
        "scopes",
        "trust_email",
    ] {
        assert!(fields.iter().any(|f| f == field), "{field}: {fields:?}");
    }
}

#[test]
fn presets_fill_in_issuer_endpoints_and_trust() {
    let google = validate(&ProviderInput {
        issuer: None,
        ..input("google")
    })
    .unwrap();
    assert_eq!(google.issuer, "https://accounts.google.com");
    assert_eq!(google.trust_email, TrustEmail::Authoritative);
    assert!(google.endpoints.is_some());
    let oidc = ProviderInput {
        trust_email: Some("verified".into()),
        ..input("oidc")
    };
    assert!(validate(&oidc).unwrap().endpoints.is_none());
    let microsoft = ProviderInput {
        issuer: None,
        ..input("microsoft")
    };
    assert!(validate(&microsoft).is_err());
    let github = validate(&ProviderInput {
        issuer: None,
        ..input("github")
    })
    .unwrap();
    let endpoints = github.endpoints.unwrap();
    assert_eq!(
        endpoints.userinfo.as_deref(),
        Some("https://api.github.com/user")
    );
    assert_eq!(github.scopes, ["read:user", "user:email"]);
    let enterprise = validate(&input("github")).unwrap();
    assert_eq!(
        enterprise.endpoints.unwrap().token,
        "https://id.acme.example/login/oauth/access_token"
    );
    assert!(validate(&input("apple")).is_err());
    assert!(
        validate(&ProviderInput {
            slug: Some("link".into()),
            ..input("google")
        })
        .is_err()
    );
}
