//! Accounts at other providers on the security page: the identities linked to the
//! account (as `GET /api/v1/users/me/identities` lists them) with a removal for each
//! (`POST /account/security/identities/{id}/remove`, as `DELETE
//! /api/v1/users/me/identities/{id}`: never the account's last way to sign in), and a
//! button per enabled provider that links one more (`POST
//! /account/security/identities/link`, after a recent sign-in like the second factors:
//! the browser leaves for the provider, and the identity it comes back with is linked to
//! this account if it is nobody's yet).

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::problems::Refusal;
use super::{PATH, Shown, is_recent, render};
use crate::console::frame::{AccountPage, ConsoleForm, done};
use crate::error::ApiError;
use crate::federation::identities::{self, Identity};
use crate::federation::{departure, providers};
use crate::http::ClientInfo;
use crate::i18n::message_key;

/// A linked identity as the page shows it (its times for the template's `when`).
#[derive(Serialize)]
pub(super) struct IdentityView {
    id: Uuid,
    /// The provider's name, or its issuer when the provider was removed.
    name: String,
    email: Option<String>,
    linked_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

impl From<Identity> for IdentityView {
    fn from(identity: Identity) -> IdentityView {
        IdentityView {
            id: identity.id,
            name: identity.provider_name.unwrap_or(identity.issuer),
            email: identity.email,
            linked_at: identity.linked_at,
            last_used_at: identity.last_used_at,
        }
    }
}

/// A provider the account may link an identity of.
#[derive(Serialize)]
pub(super) struct Linkable {
    slug: String,
    display_name: String,
}

/// The account's identities and the providers it may link one more of.
pub(super) async fn linked(
    page: &AccountPage,
) -> Result<(Vec<IdentityView>, Vec<Linkable>), ApiError> {
    let AccountPage { web, session, .. } = page;
    let identities = identities::of_user(&web.app.db, session.user.id)
        .await?
        .into_iter()
        .map(IdentityView::from)
        .collect();
    let linkable = providers::enabled(&web.app.db)
        .await?
        .into_iter()
        .map(|provider| Linkable {
            slug: provider.slug,
            display_name: provider.display_name,
        })
        .collect();
    Ok((identities, linkable))
}

#[derive(Deserialize)]
pub(super) struct LinkForm {
    #[serde(default)]
    provider: String,
}

/// `POST /account/security/identities/link`: leaves for the provider to link an identity.
pub(super) async fn link(page: AccountPage, ConsoleForm(form): ConsoleForm<LinkForm>) -> Response {
    let AccountPage { web, session, .. } = &page;
    if !is_recent(web, session) {
        return render(&page, None, Shown::not_recent(&web.pages)).await;
    }
    let provider = match providers::find_by_slug(&web.app.db, &form.provider).await {
        Ok(Some(stored)) if stored.provider.enabled => stored.provider,
        Ok(_) => {
            let refusal = Refusal::alert(
                StatusCode::NOT_FOUND,
                web.pages.tr("security-no-such-provider"),
            );
            return render(&page, None, Shown::refused("identities", refusal)).await;
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    match departure::leave_to_link(web, &provider, session.user.id, PATH).await {
        Ok(response) => response,
        Err(e) => {
            tracing::warn!(provider = %provider.slug, error = %e, "could not send a browser to its provider to link");
            let refusal = Refusal::alert(
                StatusCode::BAD_GATEWAY,
                web.pages.tr("security-provider-broken"),
            );
            render(&page, None, Shown::refused("identities", refusal)).await
        }
    }
}

/// `POST /account/security/identities/{identity_id}/remove`.
pub(super) async fn remove(
    client: ClientInfo,
    Path(identity_id): Path<String>,
    page: AccountPage,
    _: ConsoleForm,
) -> Response {
    let AccountPage { web, session, .. } = &page;
    let removed = match Uuid::parse_str(&identity_id) {
        Ok(id) => identities::unlink(&web.app, &session.user, id, &client).await,
        Err(_) => Err(ApiError::not_found(
            "identity",
            message_key("not-found-identity"),
        )),
    };
    let alert = |status, message| Refusal::alert(status, message);
    let refusal = match removed {
        Ok(()) => return done(PATH, "identity-removed"),
        Err(ApiError::NotFound(_)) => alert(
            StatusCode::NOT_FOUND,
            web.pages.tr("security-identity-not-linked"),
        ),
        Err(ApiError::Conflict { .. }) => {
            alert(StatusCode::CONFLICT, web.pages.tr("security-identity-last"))
        }
        Err(e) => return e.into_response(),
    };
    render(&page, None, Shown::refused("identities", refusal)).await
}
