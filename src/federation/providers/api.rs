//! The admin API of the identity providers, under `/api/v1/admin/identity-providers`:
//! add (kind `oidc` reads the issuer's discovery document), list, read, change, remove.
//! The client secret goes in and never comes out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use uuid::Uuid;

use super::input::{
    Endpoints, ProviderChange, ProviderInput, ProviderSettings, validate, validate_change,
};
use super::{Actor, Provider};
use crate::error::{ApiError, ApiResult, Problem};
use crate::federation::upstream::Upstream;
use crate::http::{AdminUser, ApiJson, ApiPath, ApiQuery, ClientInfo, NoContent, Page, PageQuery};
use crate::i18n::message_key;
use crate::state::AppState;

fn admin_actor<'a>(admin: &AdminUser, client: &'a ClientInfo) -> Actor<'a> {
    Actor::Admin {
        user_id: admin.0.id(),
        client,
    }
}

/// Checks `input` and finds the provider's endpoints (its preset, or its issuer's
/// discovery document): the settings to store, or 422 naming every failing field (409
/// for a taken slug).
pub async fn settle(
    state: &AppState,
    upstream: &Upstream,
    input: &ProviderInput,
) -> ApiResult<(ProviderSettings, Endpoints)> {
    let settings = validate(input).map_err(ApiError::Validation)?;
    if super::slug_taken(&state.db, &settings.slug).await? {
        return Err(super::duplicate_slug(&settings.slug));
    }
    let endpoints = match &settings.endpoints {
        Some(endpoints) => endpoints.clone(),
        None => upstream
            .discover(&settings.issuer)
            .await
            .map_err(|why| ApiError::validation("issuer", why))?,
    };
    Ok((settings, endpoints))
}

/// Add an identity provider
///
/// Users may then sign in with their account there (`/login/{slug}`). Kind `oidc` reads
/// the endpoints from the issuer's discovery document (422 naming `issuer` when it
/// cannot be read); the presets fill them in. The client secret is sealed at rest and
/// never shown again.
#[utoipa::path(post, path = "/identity-providers", tag = "admin", security(("bearer" = [])), request_body = ProviderInput,
    responses(
        (status = 201, description = "The provider (never its secret)", body = Provider),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (every failing field named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_provider(
    State(state): State<AppState>,
    Extension(upstream): Extension<Upstream>,
    admin: AdminUser,
    info: ClientInfo,
    ApiJson(input): ApiJson<ProviderInput>,
) -> ApiResult<(StatusCode, Json<Provider>)> {
    let (settings, endpoints) = settle(&state, &upstream, &input).await?;
    let provider = super::add(
        &state.db,
        &state.cipher,
        &settings,
        &endpoints,
        admin_actor(&admin, &info),
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(provider)))
}

/// List the identity providers
#[utoipa::path(get, path = "/identity-providers", tag = "admin", security(("bearer" = [])), params(PageQuery),
    responses(
        (status = 200, description = "A page of providers, by id", body = Page<Provider>),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_providers(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<Provider>>> {
    let cursor = page.by_id()?;
    let rows = super::list(&state.db, &cursor).await?;
    Ok(Json(Page::from_rows(rows, cursor.limit, |provider| {
        provider.id.as_bytes().to_vec()
    })))
}

/// Read one identity provider
#[utoipa::path(get, path = "/identity-providers/{provider_id}", tag = "admin", security(("bearer" = [])),
    params(("provider_id" = Uuid, Path, description = "The provider's id")),
    responses(
        (status = 200, description = "The provider (never its secret)", body = Provider),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_provider(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(provider_id): ApiPath<Uuid>,
) -> ApiResult<Json<Provider>> {
    super::find(&state.db, provider_id)
        .await?
        .map(|stored| Json(stored.provider))
        .ok_or_else(|| ApiError::not_found("identity provider", message_key("not-found-provider")))
}

/// Change an identity provider
///
/// Fields left out stay as they are. `"enabled": false` hides its button and refuses
/// sign-ins through it. The slug, kind and issuer cannot change (identities are keyed by
/// the issuer): remove the provider and add it again.
#[utoipa::path(patch, path = "/identity-providers/{provider_id}", tag = "admin", security(("bearer" = [])), request_body = ProviderChange,
    params(("provider_id" = Uuid, Path, description = "The provider's id")),
    responses(
        (status = 200, description = "The changed provider", body = Provider),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (every failing field named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_provider(
    State(state): State<AppState>,
    admin: AdminUser,
    info: ClientInfo,
    ApiPath(provider_id): ApiPath<Uuid>,
    ApiJson(change): ApiJson<ProviderChange>,
) -> ApiResult<Json<Provider>> {
    let kind = super::find(&state.db, provider_id)
        .await?
        .ok_or_else(|| ApiError::not_found("identity provider", message_key("not-found-provider")))?
        .provider
        .kind;
    let checked = validate_change(&change, kind).map_err(ApiError::Validation)?;
    super::change(
        &state.db,
        &state.cipher,
        provider_id,
        &checked,
        admin_actor(&admin, &info),
        state.clock.now(),
    )
    .await?
    .map(Json)
    .ok_or_else(|| ApiError::not_found("identity provider", message_key("not-found-provider")))
}

/// Remove an identity provider
///
/// Its button goes, and its sign-ins in flight fail. The identities linked through it
/// stay with their accounts (keyed by issuer and subject): a provider added again with
/// the same issuer signs them in again.
#[utoipa::path(delete, path = "/identity-providers/{provider_id}", tag = "admin", security(("bearer" = [])),
    params(("provider_id" = Uuid, Path, description = "The provider's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_provider(
    State(state): State<AppState>,
    admin: AdminUser,
    info: ClientInfo,
    ApiPath(provider_id): ApiPath<Uuid>,
) -> ApiResult<NoContent> {
    super::remove(
        &state.db,
        provider_id,
        admin_actor(&admin, &info),
        state.clock.now(),
    )
    .await?
    .map(|_| NoContent)
    .ok_or_else(|| ApiError::not_found("identity provider", message_key("not-found-provider")))
}
