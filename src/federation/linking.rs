//! Linking an identity whose address is an existing account's, when the rules do not
//! link it by themselves: the browser gets an offer (`identity_link_offers`, bound to
//! it by an HttpOnly cookie, 10 minutes), signs in to that account on the ordinary
//! sign-in page with the account's own credentials (password and second factor, or a
//! passkey), and comes back to `GET /login/link`, which links the identity once the
//! browser's session is that account's and began after the offer.
//!
//! A signed-in user may also link an identity from `/account/security` (after a recent
//! sign-in): the browser leaves for the provider with the account named in the pending
//! sign-in, and [`link_to_signed_in`] links what comes back, if the browser is still
//! signed in to that account and the identity is nobody's yet.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use minijinja::context;
use uuid::Uuid;

use super::identities::{self, Link};
use super::pages::{LINK_COOKIE, cookie, cookie_name, refused};
use super::providers::{Provider, StoredProvider};
use super::upstream::UpstreamIdentity;
use crate::accounts::model::find_user;
use crate::audit::ClientInfo;
use crate::crypto::{random_token, token_hash};
use crate::error::ApiError;
use crate::i18n::Arg;
use crate::i18n::message_key;
use crate::oidc::browser;
use crate::on_exec;
use crate::web::{Pages, Web};

/// How long the user has to prove the account.
const LIFETIME: Duration = Duration::minutes(10);

/// Records the offer to link `identity` to `user_id` and answers the page explaining
/// it, with the cookie that binds the offer to this browser.
pub async fn offer(
    web: &Web,
    provider: &Provider,
    identity: &UpstreamIdentity,
    user_id: Uuid,
    return_to: &str,
) -> Result<Response, ApiError> {
    let now = web.app.clock.now();
    let token = random_token();
    on_exec!(web.app.db.writer(), c => sqlx::query(
        "INSERT INTO identity_link_offers (id, token_hash, user_id, provider_id, issuer, subject, email, return_to, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(Uuid::now_v7())
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(provider.id)
        .bind(&identity.issuer)
        .bind(&identity.subject)
        .bind(&identity.email)
        .bind(return_to)
        .bind(now)
        .bind(now + LIFETIME)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let mut response = web.pages.page(
        StatusCode::OK,
        "link_identity.html",
        context! {
            title => web.pages.tr_with("link-identity-title", &[("provider", Arg::from(provider.display_name.as_str()))]),
            provider => provider.display_name.clone(),
            email => identity.email.clone(),
        },
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie(&web.pages, LINK_COOKIE, &token, LIFETIME.num_seconds()),
    );
    Ok(response)
}

#[derive(sqlx::FromRow)]
struct Offer {
    id: Uuid,
    user_id: Uuid,
    provider_id: Uuid,
    provider_name: String,
    issuer: String,
    subject: String,
    email: Option<String>,
    return_to: String,
    created_at: DateTime<Utc>,
}

/// `GET /login/link`: links the offered identity when the browser has just signed in to
/// the account; otherwise says what to do.
pub async fn finish(State(web): State<Web>, headers: HeaderMap, client: ClientInfo) -> Response {
    match finish_offer(&web, &headers, client).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn finish_offer(
    web: &Web,
    headers: &HeaderMap,
    client: ClientInfo,
) -> Result<Response, ApiError> {
    let now = web.app.clock.now();
    let Some(token) = Pages::cookie_value(headers, &cookie_name(&web.pages, LINK_COOKIE)) else {
        return Ok(refused(
            &web.pages,
            StatusCode::BAD_REQUEST,
            crate::i18n::message_key("link-identity-none-waiting"),
            None,
        ));
    };
    let offer = on_exec!(&web.app.db, c => sqlx::query_as::<_, Offer>(
        "SELECT o.id, o.user_id, o.provider_id, p.display_name AS provider_name, o.issuer, o.subject, o.email, o.return_to, o.created_at \
         FROM identity_link_offers o JOIN identity_providers p ON p.id = o.provider_id \
         WHERE o.token_hash = $1 AND o.expires_at > $2")
        .bind(token_hash(&token))
        .bind(now)
        .fetch_optional(c)
        .await)?;
    let Some(offer) = offer else {
        let mut response = refused(
            &web.pages,
            StatusCode::BAD_REQUEST,
            crate::i18n::message_key("link-identity-expired"),
            None,
        );
        forget_offer(&web.pages, &mut response);
        return Ok(response);
    };
    let session = browser::current(&web.app.db, &web.pages, headers, now).await?;
    let proven = session.as_ref().is_some_and(|session| {
        session.user.id == offer.user_id && session.authentication.time >= offer.created_at
    });
    if !proven {
        if session.is_some_and(|session| session.user.id != offer.user_id) {
            return Ok(refused(
                &web.pages,
                StatusCode::FORBIDDEN,
                crate::i18n::message_key("link-identity-other-account"),
                None,
            ));
        }
        return Ok(Redirect::to("/login?return_to=%2Flogin%2Flink").into_response());
    }
    let user = find_user(&web.app.db, offer.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("user", message_key("not-found-user")))?;
    let identity = UpstreamIdentity {
        issuer: offer.issuer,
        subject: offer.subject,
        email: offer.email,
        email_verified: None,
        preferred_username: None,
        name: None,
    };
    let mut tx = web.app.db.begin().await?;
    let taken = on_exec!(&mut tx, c => sqlx::query("DELETE FROM identity_link_offers WHERE id = $1")
        .bind(offer.id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let already = identities::owner(&mut tx, &identity.issuer, &identity.subject).await?;
    if taken == 0 || already.is_some() {
        let mut response = refused(
            &web.pages,
            StatusCode::CONFLICT,
            crate::i18n::message_key("link-identity-used"),
            None,
        );
        forget_offer(&web.pages, &mut response);
        return Ok(response);
    }
    let link = Link {
        provider_id: offer.provider_id,
        provider_name: &offer.provider_name,
        identity: &identity,
        how: "signed_in",
    };
    identities::link(&mut tx, &web.app.mail, &user, &link, &client, now).await?;
    tx.commit().await?;
    web.app.mail.wake();
    let next = if offer.return_to.is_empty() {
        "/account"
    } else {
        offer.return_to.as_str()
    };
    let mut response = Redirect::to(next).into_response();
    forget_offer(&web.pages, &mut response);
    Ok(response)
}

fn forget_offer(pages: &Pages, response: &mut Response) {
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie(pages, LINK_COOKIE, "", 0));
}

/// An identity that came back for the signed-in account that asked to link it.
pub struct AccountLink<'a> {
    pub stored: &'a StoredProvider,
    pub identity: &'a UpstreamIdentity,
    /// The account that left to link it.
    pub user_id: Uuid,
    /// Where the browser goes afterwards (the page it left from).
    pub return_to: &'a str,
}

/// Links `link.identity` to the account that asked, when this browser is still signed
/// in to it; an identity linked to another account is refused, one linked to this
/// account already is left as it is.
pub async fn link_to_signed_in(
    web: &Web,
    headers: &HeaderMap,
    client: ClientInfo,
    link: &AccountLink<'_>,
) -> Result<Response, ApiError> {
    let now = web.app.clock.now();
    let provider = &link.stored.provider;
    let session = browser::current(&web.app.db, &web.pages, headers, now).await?;
    let Some(session) = session.filter(|session| session.user.id == link.user_id) else {
        return Ok(refused(
            &web.pages,
            StatusCode::FORBIDDEN,
            crate::i18n::message_key("link-identity-signed-out"),
            None,
        ));
    };
    let back = if link.return_to.is_empty() {
        "/account/security"
    } else {
        link.return_to
    };
    let mut tx = web.app.db.begin().await?;
    match identities::owner(&mut tx, &link.identity.issuer, &link.identity.subject).await? {
        Some((_, owner)) if owner == link.user_id => {
            return Ok(Redirect::to(&format!("{back}?done=identity-already-yours")).into_response());
        }
        Some(_) => {
            tracing::warn!(provider = %provider.slug, "an identity linked to another account was offered for linking");
            return Ok(refused(
                &web.pages,
                StatusCode::CONFLICT,
                crate::i18n::message_key("link-identity-elsewhere"),
                Some(&provider.display_name),
            ));
        }
        None => {}
    }
    let made = Link {
        provider_id: provider.id,
        provider_name: &provider.display_name,
        identity: link.identity,
        how: "account",
    };
    identities::link(&mut tx, &web.app.mail, &session.user, &made, &client, now).await?;
    tx.commit().await?;
    web.app.mail.wake();
    Ok(Redirect::to(&format!("{back}?done=identity-linked")).into_response())
}
