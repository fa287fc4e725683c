//! `GET /login/{slug}`: the browser leaves for the provider. A pending sign-in is
//! stored (see [`super::pending`]) and the browser is redirected to the provider's
//! authorization endpoint with `state`, `nonce` and a PKCE `S256` challenge, holding the
//! cookie that binds the return to it. `return_to` (where the sign-in goes afterwards,
//! e.g. back into Roster's own authorization request) is checked like the sign-in
//! page's.

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreJsonWebKeySet};
use openidconnect::{
    AuthUrl, ClientId, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, RedirectUrl, Scope,
};

use super::pages::{DEPARTURE_COOKIE, cookie, refused};
use super::pending::{self, LIFETIME, Secrets};
use super::providers::kinds::ProviderKind;
use super::providers::{self, Provider};
use crate::oidc::sign_in::safe_return_to;
use crate::web::Web;

/// `PUBLIC_URL/login/{slug}/callback`: where the provider sends the browser back.
pub fn callback_uri(public_url: &str, slug: &str) -> String {
    format!("{}/login/{slug}/callback", public_url.trim_end_matches('/'))
}

/// `GET /login/{slug}`.
pub async fn depart(
    State(web): State<Web>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let return_to = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "return_to")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let return_to = safe_return_to(&return_to).unwrap_or("").to_owned();
    let provider = match providers::find_by_slug(&web.app.db, &slug).await {
        Ok(Some(stored)) if stored.provider.enabled => stored.provider,
        Ok(_) => {
            return refused(
                &web.pages,
                StatusCode::NOT_FOUND,
                crate::i18n::message_key("federation-no-such-provider"),
                None,
            );
        }
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    match leave_for(&web, &provider, &return_to, None).await {
        Ok(response) => response,
        Err(e) => {
            tracing::warn!(provider = %provider.slug, error = %e, "could not send a browser to its provider");
            refused(
                &web.pages,
                StatusCode::BAD_GATEWAY,
                crate::i18n::message_key("federation-not-set-up"),
                None,
            )
        }
    }
}

/// Sends the browser of the signed-in `user_id` to `provider` to link the identity it
/// comes back with to that account (see [`super::linking::link_to_signed_in`]); it
/// comes back to `return_to`. The caller has checked that the sign-in is recent.
pub async fn leave_to_link(
    web: &Web,
    provider: &Provider,
    user_id: uuid::Uuid,
    return_to: &str,
) -> anyhow::Result<Response> {
    leave_for(web, provider, return_to, Some(user_id)).await
}

async fn leave_for(
    web: &Web,
    provider: &Provider,
    return_to: &str,
    link_user_id: Option<uuid::Uuid>,
) -> anyhow::Result<Response> {
    let now = web.app.clock.now();
    let redirect_uri = callback_uri(&web.app.config.http.public_url, &provider.slug);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = Nonce::new_random();
    let secrets = Secrets {
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    };
    let departure = pending::create(
        &web.app.db,
        &web.app.cipher,
        provider.id,
        &secrets,
        return_to,
        link_user_id,
        now,
    )
    .await?;
    let state = departure.state.clone();
    let url = if provider.kind.speaks_openid() {
        openid_authorize_url(provider, redirect_uri, state, challenge, nonce)?
    } else {
        super::github::authorize_url(provider, &redirect_uri, state, challenge)?
    };
    let mut response = Redirect::to(url.as_str()).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie(
            &web.pages,
            DEPARTURE_COOKIE,
            &departure.browser_token,
            LIFETIME.num_seconds(),
        ),
    );
    Ok(response)
}

/// The OpenID authorization request: `state`, `nonce`, the PKCE challenge and the scopes.
fn openid_authorize_url(
    provider: &Provider,
    redirect_uri: String,
    state: String,
    challenge: PkceCodeChallenge,
    nonce: Nonce,
) -> anyhow::Result<url::Url> {
    let client = CoreClient::new(
        ClientId::new(provider.client_id.clone()),
        IssuerUrl::new(provider.issuer.clone())?,
        CoreJsonWebKeySet::new(Vec::new()),
    )
    .set_auth_uri(AuthUrl::new(provider.authorization_endpoint.clone())?)
    .set_redirect_uri(RedirectUrl::new(redirect_uri)?);
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || nonce,
        )
        .set_pkce_challenge(challenge);
    for scope in provider.scopes.iter().filter(|scope| *scope != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    if provider.kind == ProviderKind::Apple {
        // Apple answers a request for the name or address only by a form post
        // (see `super::apple`).
        request = request.add_extra_param("response_mode", "form_post");
    }
    let (url, _, _) = request.url();
    Ok(url)
}
