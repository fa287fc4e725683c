//! `GET /login/{slug}/callback`: the browser is back from the provider (Apple's form post
//! first becomes this GET, see [`super::apple`]). In order: the
//! `state` names a pending sign-in (which is used up whatever follows), of this provider,
//! started in this browser (its cookie), not expired; the provider's `error`, if any;
//! the RFC 9207 `iss` parameter where the provider sends it; the code exchange and the
//! ID token (see [`super::upstream`]). Then [`super::rules`] decides what the identity
//! leads to. Every failure is a page saying what to do, never a signed-in browser.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::departure::callback_uri;
use super::identities::{self, Link};
use super::pages::{DEPARTURE_COOKIE, cookie_name, refused};
use super::pending::{self, PendingLogin};
use super::providers::apple_key::AppleKey;
use super::providers::kinds::ProviderKind;
use super::providers::{self, StoredProvider};
use super::rules::{self, Arrival, SameAddress};
use super::session::{self, Vouched, forget_departure};
use super::upstream::{Expected, Upstream, UpstreamIdentity};
use super::{linking, signup};
use crate::accounts::model::find_user_or_404;
use crate::audit::ClientInfo;
use crate::crypto::token_hash;
use crate::error::ApiError;
use crate::i18n::message_key;
use crate::on_exec;
use crate::web::{Pages, Web};

/// A failed return: its status, what the page says (a key of `pages.ftl`) and the
/// provider it names.
struct Refused(StatusCode, &'static str, Option<String>);

impl Refused {
    fn new(status: StatusCode, key: &'static str) -> Refused {
        Refused(status, key, None)
    }

    fn naming(status: StatusCode, key: &'static str, provider: &str) -> Refused {
        Refused(status, key, Some(provider.to_owned()))
    }
}

/// `GET /login/{slug}/callback`.
pub async fn arrive(
    State(web): State<Web>,
    Extension(upstream): Extension<Upstream>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    client: ClientInfo,
) -> Response {
    let outcome = match check_return(&web, &upstream, &slug, query.as_deref(), &headers).await {
        Ok(Checked {
            stored,
            identity,
            return_to,
            link_user_id: Some(user_id),
        }) => {
            let link = linking::AccountLink {
                stored: &stored,
                identity: &identity,
                user_id,
                return_to: &return_to,
            };
            linking::link_to_signed_in(&web, &headers, client, &link).await
        }
        Ok(Checked {
            stored,
            identity,
            return_to,
            link_user_id: None,
        }) => welcome(&web, &headers, client, &stored, &identity, &return_to).await,
        Err(Err(e)) => Err(e),
        Err(Ok(Refused(status, key, provider))) => {
            Ok(refused(&web.pages, status, key, provider.as_deref()))
        }
    };
    let mut response = outcome.unwrap_or_else(IntoResponse::into_response);
    forget_departure(&web, &mut response);
    response
}

/// A return whose identity the provider vouched for, and what it was started for.
struct Checked {
    stored: StoredProvider,
    identity: UpstreamIdentity,
    return_to: String,
    /// The signed-in account that asked to link the identity; None for a sign-in.
    link_user_id: Option<uuid::Uuid>,
}

/// Everything up to a validated identity, or why not.
async fn check_return(
    web: &Web,
    upstream: &Upstream,
    slug: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Checked, Result<Refused, ApiError>> {
    let params = parameters(query.unwrap_or_default()).ok_or_else(|| {
        Ok(Refused::new(
            StatusCode::BAD_REQUEST,
            message_key("federation-unreadable"),
        ))
    })?;
    let stored = providers::find_by_slug(&web.app.db, slug)
        .await
        .map_err(|e| Err(e.into()))?
        .ok_or_else(|| {
            Ok(Refused::new(
                StatusCode::NOT_FOUND,
                message_key("federation-no-such-provider"),
            ))
        })?;
    let name = stored.provider.display_name.clone();
    let state = params.get("state").ok_or_else(|| {
        Ok(Refused::new(
            StatusCode::BAD_REQUEST,
            message_key("federation-no-state"),
        ))
    })?;
    let pending = pending::take(&web.app.db, &web.app.cipher, state)
        .await
        .map_err(|e| Err(e.into()))?
        .ok_or_else(|| {
            Ok(Refused::new(
                StatusCode::BAD_REQUEST,
                message_key("federation-stale"),
            ))
        })?;
    check_pending(web, &stored, &pending, headers).map_err(Ok)?;
    if let Some(error) = params.get("error") {
        tracing::info!(provider = %slug, error = %error.chars().take(64).collect::<String>(), "the provider did not sign the user in");
        return Err(Ok(Refused::naming(
            StatusCode::BAD_REQUEST,
            message_key("federation-denied"),
            &name,
        )));
    }
    // RFC 9207: an `iss` naming another provider is a mix-up attack.
    if params
        .get("iss")
        .is_some_and(|iss| *iss != stored.provider.issuer)
    {
        tracing::warn!(provider = %slug, "the callback's iss parameter names another issuer");
        return Err(Ok(Refused::naming(
            StatusCode::BAD_REQUEST,
            message_key("federation-wrong-issuer"),
            &name,
        )));
    }
    let code = params.get("code").ok_or_else(|| {
        Ok(Refused::naming(
            StatusCode::BAD_REQUEST,
            message_key("federation-no-code"),
            &name,
        ))
    })?;
    let Some(secret) = stored.client_secret(&web.app.cipher) else {
        tracing::error!(provider = %slug, "the provider's client secret cannot be opened with the current ENCRYPTION_KEY");
        return Err(Ok(Refused::naming(
            StatusCode::BAD_GATEWAY,
            message_key("federation-misconfigured"),
            &name,
        )));
    };
    let Some(secret) = client_secret_for(&stored, secret, web.app.clock.now()) else {
        tracing::error!(provider = %slug, "the provider's Apple key could not sign a client secret");
        return Err(Ok(Refused::naming(
            StatusCode::BAD_GATEWAY,
            message_key("federation-misconfigured"),
            &name,
        )));
    };
    let redirect_uri = callback_uri(&web.app.config.http.public_url, slug);
    let expected = Expected {
        redirect_uri: &redirect_uri,
        nonce: &pending.secrets.nonce,
        pkce_verifier: &pending.secrets.pkce_verifier,
        now: web.app.clock.now(),
    };
    let redeemed = if stored.provider.kind.speaks_openid() {
        upstream.redeem(&stored, secret, code, &expected).await
    } else {
        super::github::redeem(upstream.http(), &stored.provider, secret, code, &expected).await
    };
    let mut identity = redeemed.map_err(|refusal| {
            tracing::warn!(provider = %slug, reason = %refusal, "a return from an identity provider was refused");
            Ok(Refused::naming(
                StatusCode::BAD_GATEWAY,
                message_key("federation-unverified"),
                &name,
            ))
        })?;
    if stored.provider.kind == ProviderKind::Apple && identity.name.is_none() {
        // Apple's ID token has no name: it came once, beside the code (see `apple`).
        identity.name = params.get(super::apple::NAME_PARAMETER).cloned();
    }
    Ok(Checked {
        stored,
        identity,
        return_to: pending.return_to,
        link_user_id: pending.link_user_id,
    })
}

/// The client secret to redeem a code with: the stored one, or for `apple` one signed
/// now with its key. None when an Apple key cannot sign.
fn client_secret_for(
    stored: &StoredProvider,
    secret: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    let provider = &stored.provider;
    if provider.kind != ProviderKind::Apple {
        return Some(secret);
    }
    AppleKey::from_sealed_text(&secret)?
        .client_secret(&provider.client_id, &provider.issuer, now)
        .ok()
}

/// The query's parameters; None when one is repeated.
fn parameters(query: &str) -> Option<HashMap<String, String>> {
    let mut params = HashMap::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if params
            .insert(name.into_owned(), value.into_owned())
            .is_some()
        {
            return None;
        }
    }
    Some(params)
}

/// The pending sign-in is this provider's, this browser's and still live.
fn check_pending(
    web: &Web,
    stored: &StoredProvider,
    pending: &PendingLogin,
    headers: &HeaderMap,
) -> Result<(), Refused> {
    let name = &stored.provider.display_name;
    if pending.provider_id != stored.provider.id {
        tracing::warn!(provider = %stored.provider.slug, "a state of another provider came back here");
        return Err(Refused::naming(
            StatusCode::BAD_REQUEST,
            message_key("federation-wrong-issuer"),
            name,
        ));
    }
    let cookie = Pages::cookie_value(headers, &cookie_name(&web.pages, DEPARTURE_COOKIE))
        .unwrap_or_default();
    let same_browser: bool = token_hash(&cookie).ct_eq(&pending.browser_hash).into();
    if !same_browser {
        return Err(Refused::new(
            StatusCode::BAD_REQUEST,
            message_key("federation-other-browser"),
        ));
    }
    if pending.expires_at <= web.app.clock.now() {
        return Err(Refused::new(
            StatusCode::BAD_REQUEST,
            message_key("federation-too-slow"),
        ));
    }
    if !stored.provider.enabled {
        return Err(Refused::new(
            StatusCode::NOT_FOUND,
            message_key("federation-no-such-provider"),
        ));
    }
    Ok(())
}

/// What a verified identity leads to (see [`rules::decide`]).
async fn welcome(
    web: &Web,
    headers: &HeaderMap,
    client: ClientInfo,
    stored: &StoredProvider,
    identity: &UpstreamIdentity,
    return_to: &str,
) -> Result<Response, ApiError> {
    let provider = &stored.provider;
    let db = &web.app.db;
    let linked = identities::owner(db, &identity.issuer, &identity.subject).await?;
    let same_address = match &identity.email {
        Some(email) => on_exec!(db, c => sqlx::query_as::<_, (uuid::Uuid, bool)>(
            "SELECT id, email_verified FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(c)
            .await)?
        .map(|(user_id, email_verified)| SameAddress {
            user_id,
            email_verified,
        }),
        None => None,
    };
    let vouched = |identity_id| Vouched {
        identity_id,
        provider_id: provider.id,
        provider_slug: &provider.slug,
        email: identity.email.as_deref(),
    };
    let (user, identity_id) = match rules::decide(provider, identity, linked, same_address) {
        Arrival::SignIn {
            identity_id,
            user_id,
        } => (find_user_or_404(db, user_id).await?, identity_id),
        Arrival::LinkToVerifiedAddress { user_id } => {
            let user = find_user_or_404(db, user_id).await?;
            let now = web.app.clock.now();
            let link = Link {
                provider_id: provider.id,
                provider_name: &provider.display_name,
                identity,
                how: "authoritative_email",
            };
            let mut tx = db.begin().await?;
            let identity_id =
                identities::link(&mut tx, &web.app.mail, &user, &link, &client, now).await?;
            tx.commit().await?;
            web.app.mail.wake();
            (user, identity_id)
        }
        Arrival::OfferLink { user_id } => {
            return linking::offer(web, provider, identity, user_id, return_to).await;
        }
        Arrival::SignUp => {
            let made = signup::sign_up(
                &web.app,
                identity,
                provider.id,
                &provider.display_name,
                &client,
            )
            .await?;
            match made {
                Some(made) => made,
                None => {
                    return Ok(refused(
                        &web.pages,
                        StatusCode::CONFLICT,
                        message_key("federation-no-account"),
                        None,
                    ));
                }
            }
        }
        Arrival::Refuse(refusal) => {
            return Ok(refused(
                &web.pages,
                StatusCode::FORBIDDEN,
                refusal.message_key(),
                Some(&provider.display_name),
            ));
        }
    };
    session::sign_in(
        web,
        headers,
        client,
        &user,
        &vouched(identity_id),
        return_to,
    )
    .await
}
