//! The admin API of the client registry, under `/api/v1/admin/clients`: register, list,
//! read, change, delete, and rotate a confidential client's secret. The secret is in
//! the answer exactly once (creation, rotation) and never again.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::clients::{self, Actor, Client, ClientInput, ClientSecret, SecretRotation};
use crate::db::Db;
use crate::error::{ApiError, ApiResult, Problem, Why};
use crate::http::{AdminUser, ApiJson, ApiPath, ApiQuery, ClientInfo, NoContent, Page, PageQuery};
use crate::i18n::message_key;
use crate::state::AppState;

/// A client with the secret it was just given (confidential clients only).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientWithSecret {
    #[serde(flatten)]
    pub client: Client,
    /// Shown once: only its hash is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// `201` (or `200`) with `Cache-Control: no-store`: the body holds a secret.
fn with_secret(
    status: axum::http::StatusCode,
    client: Client,
    secret: Option<ClientSecret>,
) -> Response {
    let body = ClientWithSecret {
        client,
        client_secret: secret.map(|s| s.expose().to_owned()),
    };
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn admin_actor<'a>(admin: &AdminUser, client: &'a ClientInfo) -> Actor<'a> {
    Actor::Admin {
        user_id: admin.0.id(),
        client,
    }
}

/// Register a client
///
/// A confidential client's `client_secret` is in this answer only. `redirect_uris`
/// are matched exactly; `first_party` clients skip the consent page.
#[utoipa::path(post, path = "/clients", tag = "admin", security(("bearer" = [])), request_body = ClientInput,
    responses(
        (status = 201, description = "The client, with its secret when confidential", body = ClientWithSecret),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (every failing field named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_client(
    State(state): State<AppState>,
    admin: AdminUser,
    info: ClientInfo,
    ApiJson(input): ApiJson<ClientInput>,
) -> ApiResult<Response> {
    let (client, secret) = clients::register(
        &state.db,
        &input,
        admin_actor(&admin, &info),
        state.clock.now(),
    )
    .await?;
    Ok(with_secret(axum::http::StatusCode::CREATED, client, secret))
}

/// List the clients
#[utoipa::path(get, path = "/clients", tag = "admin", security(("bearer" = [])), params(PageQuery),
    responses(
        (status = 200, description = "A page of clients, by id", body = Page<Client>),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_clients(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<Client>>> {
    Ok(Json(clients_page(&state.db, &page).await?))
}

/// One page of clients by id (the JSON listing and the console's); 422 for a bad limit
/// or cursor.
pub async fn clients_page(db: &Db, page: &PageQuery) -> ApiResult<Page<Client>> {
    let cursor = page.decode(|bytes| String::from_utf8(bytes.to_vec()).ok())?;
    let rows = clients::list(db, &cursor).await?;
    Ok(Page::from_rows(rows, cursor.limit, |client| {
        client.client_id.as_bytes().to_vec()
    }))
}

/// Read one client
#[utoipa::path(get, path = "/clients/{client_id}", tag = "admin", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id")),
    responses(
        (status = 200, description = "The client (never its secret)", body = Client),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_client(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(client_id): ApiPath<String>,
) -> ApiResult<Json<Client>> {
    clients::find(&state.db, &client_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("client", message_key("not-found-client")))
}

/// Change a client
///
/// Fields left out stay as they are; the result is checked like a new registration.
#[utoipa::path(patch, path = "/clients/{client_id}", tag = "admin", security(("bearer" = [])), request_body = ClientInput,
    params(("client_id" = String, Path, description = "The client's id")),
    responses(
        (status = 200, description = "The changed client", body = Client),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (every failing field named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_client(
    State(state): State<AppState>,
    admin: AdminUser,
    info: ClientInfo,
    ApiPath(client_id): ApiPath<String>,
    ApiJson(change): ApiJson<ClientInput>,
) -> ApiResult<Json<Client>> {
    clients::update(
        &state.db,
        &client_id,
        move |current| change.over(current),
        admin_actor(&admin, &info),
        state.clock.now(),
    )
    .await?
    .map(Json)
    .ok_or_else(|| ApiError::not_found("client", message_key("not-found-client")))
}

/// Delete a client
///
/// Every session issued to it is revoked in the same transaction: its tokens are
/// refused at once, on every instance.
#[utoipa::path(delete, path = "/clients/{client_id}", tag = "admin", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_client(
    State(state): State<AppState>,
    admin: AdminUser,
    info: ClientInfo,
    ApiPath(client_id): ApiPath<String>,
) -> ApiResult<NoContent> {
    clients::delete(
        &state.db,
        &client_id,
        admin_actor(&admin, &info),
        state.clock.now(),
    )
    .await?
    .map(|_| NoContent)
    .ok_or_else(|| ApiError::not_found("client", message_key("not-found-client")))
}

/// Rotate a confidential client's secret
///
/// The old secret stops working at once; the new one is in this answer only.
#[utoipa::path(post, path = "/clients/{client_id}/secret", tag = "admin", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id")),
    responses(
        (status = 200, description = "The client with its new secret", body = ClientWithSecret),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A public client has no secret", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate_client_secret(
    State(state): State<AppState>,
    admin: AdminUser,
    info: ClientInfo,
    ApiPath(client_id): ApiPath<String>,
) -> ApiResult<Response> {
    match clients::rotate_secret(
        &state.db,
        &client_id,
        admin_actor(&admin, &info),
        state.clock.now(),
    )
    .await?
    {
        SecretRotation::Rotated(client, secret) => Ok(with_secret(
            axum::http::StatusCode::OK,
            client,
            Some(secret),
        )),
        SecretRotation::PublicClient => Err(public_client_has_no_secret()),
        SecretRotation::NotFound => Err(ApiError::not_found(
            "client",
            message_key("not-found-client"),
        )),
    }
}

/// The 409 of a secret rotation asked of a public client (the console's too).
pub fn public_client_has_no_secret() -> ApiError {
    let why = Why::new(
        "a public client has no secret to rotate",
        message_key("conflict-public-client-secret"),
    );
    ApiError::conflict("client_id", why)
}
