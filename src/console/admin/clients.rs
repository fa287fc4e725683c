//! `/admin/clients`: the OpenID clients, through the registry functions the admin API
//! (`/api/v1/admin/clients`) calls, audited as there:
//!
//! - `GET /admin/clients`: the clients by id, a page at a time, and the form to register one;
//! - `POST /admin/clients`: registers one; a confidential client's secret is on the page
//!   that answers, once (nothing stores it but its hash);
//! - `GET /admin/clients/{client_id}`, `POST /admin/clients/{client_id}`: its settings,
//!   changed as `PATCH` changes them;
//! - `POST /admin/clients/{client_id}/secret`: a new secret, shown once ("I am sure");
//! - `POST /admin/clients/{client_id}/delete`: deletes it and revokes every session
//!   issued to it ("I am sure").

use std::collections::BTreeMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::client_form::ClientForm;
use super::listing::{Listing, limit_of, query_value};
use super::{SECTION, failure_page, field_errors, refused, ticked, view};
use crate::console::frame::{AdminPage, ConsoleForm, ReturnTo, done};
use crate::error::ApiError;
use crate::http::{ClientInfo, PageQuery};
use crate::i18n::message_key;
use crate::oidc::browser::BrowserSession;
use crate::oidc::clients::{self, Actor, Client, ClientSecret, SecretRotation};
use crate::oidc::clients_api::{clients_page, public_client_has_no_secret};
use crate::web::Web;

pub fn router() -> Router<Web> {
    let all = Router::new()
        .route("/admin/clients", get(list).post(create))
        .route_layer(Extension(ReturnTo("/admin/clients")));
    Router::new()
        .route("/admin/clients/{client_id}", get(edit).post(update))
        .route("/admin/clients/{client_id}/secret", post(rotate_secret))
        .route("/admin/clients/{client_id}/delete", post(delete))
        .route_layer(Extension(ReturnTo("/admin/clients/{client_id}")))
        .merge(all)
}

/// A client as the pages show it (never a secret or its hash: [`Client`] has neither).
#[derive(Serialize)]
struct ClientView {
    client_id: String,
    name: String,
    client_type: &'static str,
    is_public: bool,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    grant_types: Vec<&'static str>,
    scopes: Vec<String>,
    first_party: bool,
    id_token_signed_response_alg: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&Client> for ClientView {
    fn from(client: &Client) -> ClientView {
        ClientView {
            client_id: client.client_id.clone(),
            name: client.name.clone(),
            client_type: client.client_type.as_str(),
            is_public: client.is_public(),
            redirect_uris: client.redirect_uris.clone(),
            post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
            grant_types: client.grant_types.iter().map(|g| g.as_str()).collect(),
            scopes: client.scopes.clone(),
            first_party: client.first_party,
            id_token_signed_response_alg: client.id_token_signed_response_alg.clone(),
            created_at: client.created_at,
            updated_at: client.updated_at,
        }
    }
}

fn admin<'a>(session: &BrowserSession, client: &'a ClientInfo) -> Actor<'a> {
    Actor::Admin {
        user_id: session.user.id,
        client,
    }
}

/// The list page, with the registration form (`form`, kept when refused).
async fn list_page(
    page: &AdminPage,
    status: StatusCode,
    query: Option<&str>,
    form: ClientForm,
    errors: BTreeMap<String, String>,
) -> Response {
    let AdminPage { web, .. } = page;
    let limit = query_value(query, "limit");
    let mut page_errors = Vec::new();
    let page_query = PageQuery {
        limit: limit_of(limit.as_deref(), &mut page_errors),
        cursor: query_value(query, "cursor"),
    };
    let found = if page_errors.is_empty() {
        clients_page(&web.app.db, &page_query).await
    } else {
        Err(ApiError::Validation(page_errors))
    };
    let filters = [("limit", limit.as_deref())];
    let row = |client: Client| ClientView::from(&client);
    let listing =
        match Listing::of(web, &page.headers, found, "/admin/clients", &filters, row).await {
            Ok(listing) => listing,
            Err(response) => return response,
        };
    // A refused page query outranks the status the form's answer has.
    let status = if listing.status == StatusCode::OK {
        status
    } else {
        listing.status
    };
    page.frame().render(
        status,
        "console/admin/clients.html",
        SECTION,
        query,
        context! {
            title => web.pages.tr("admin-clients-title"),
            clients => view(&listing.rows),
            next => listing.next,
            page_errors => listing.errors,
            form => view(&form),
            errors => errors,
        },
    )
}

/// `GET /admin/clients`.
async fn list(page: AdminPage) -> Response {
    list_page(
        &page,
        StatusCode::OK,
        page.query.as_deref(),
        ClientForm::blank(),
        BTreeMap::new(),
    )
    .await
}

/// The page that shows a secret, once: after a registration or a rotation.
fn secret_page(
    page: &AdminPage,
    status: StatusCode,
    client: &Client,
    secret: Option<ClientSecret>,
    created: bool,
) -> Response {
    page.frame().render(
        status,
        "console/admin/client_secret.html",
        SECTION,
        None,
        context! {
            title => if created {
                page.web.pages.tr("admin-clients-title-registered")
            } else {
                page.web.pages.tr("admin-clients-title-secret")
            },
            created => created,
            client => view(&ClientView::from(client)),
            secret => secret.as_ref().map(|s| s.expose().to_owned()),
        },
    )
}

/// `POST /admin/clients`: registers a client.
async fn create(
    info: ClientInfo,
    page: AdminPage,
    ConsoleForm(form): ConsoleForm<ClientForm>,
) -> Response {
    let AdminPage { web, session, .. } = &page;
    let now = web.app.clock.now();
    match clients::register(&web.app.db, &form.input(), admin(session, &info), now).await {
        Ok((client, secret)) => secret_page(&page, StatusCode::CREATED, &client, secret, true),
        Err(ApiError::Validation(errors)) => {
            let errors = field_errors(&web.pages, &errors);
            list_page(&page, StatusCode::UNPROCESSABLE_ENTITY, None, form, errors).await
        }
        Err(other) => failure_page(web, &page.headers, other).await,
    }
}

/// The page of one client: its settings as a form (`form`, kept when refused).
#[allow(clippy::too_many_arguments)]
fn client_page(
    page: &AdminPage,
    status: StatusCode,
    query: Option<&str>,
    client: &Client,
    form: ClientForm,
    errors: BTreeMap<String, String>,
) -> Response {
    page.frame().render(
        status,
        "console/admin/client.html",
        SECTION,
        query,
        context! {
            title => page.web.pages.tr_with(
                "admin-clients-title-one",
                &[("name", client.name.clone().into())],
            ),
            client => view(&ClientView::from(client)),
            form => view(&form),
            errors => errors,
        },
    )
}

/// The client named in the path (`/admin/clients/{client_id}`); an unknown one is
/// refused with the 404 page.
struct NamedClient(Client);

impl FromRequestParts<Web> for NamedClient {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Response> {
        let Path(client_id) = Path::<String>::from_request_parts(parts, web)
            .await
            .map_err(IntoResponse::into_response)?;
        match clients::find(&web.app.db, &client_id).await {
            Ok(Some(client)) => Ok(NamedClient(client)),
            Ok(None) => Err(failure_page(web, &parts.headers, no_such_client()).await),
            Err(e) => Err(failure_page(web, &parts.headers, e.into()).await),
        }
    }
}

/// `GET /admin/clients/{client_id}`.
async fn edit(page: AdminPage, NamedClient(client): NamedClient) -> Response {
    let form = ClientForm::of(&client);
    client_page(
        &page,
        StatusCode::OK,
        page.query.as_deref(),
        &client,
        form,
        BTreeMap::new(),
    )
}

/// `POST /admin/clients/{client_id}`: changes its settings.
async fn update(
    info: ClientInfo,
    page: AdminPage,
    NamedClient(client): NamedClient,
    ConsoleForm(form): ConsoleForm<ClientForm>,
) -> Response {
    let AdminPage { web, session, .. } = &page;
    let change = form.input();
    let now = web.app.clock.now();
    let updated = clients::update(
        &web.app.db,
        &client.client_id,
        move |current| change.over(current),
        admin(session, &info),
        now,
    )
    .await;
    match updated {
        Ok(Some(_)) => done(
            &format!("/admin/clients/{}", client.client_id),
            "client-saved",
        ),
        Ok(None) => failure_page(web, &page.headers, no_such_client()).await,
        Err(ApiError::Validation(errors)) => {
            let errors = field_errors(&web.pages, &errors);
            client_page(
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                &client,
                form,
                errors,
            )
        }
        Err(other) => failure_page(web, &page.headers, other).await,
    }
}

#[derive(Debug, Deserialize)]
struct ConfirmForm {
    confirm: Option<String>,
}

/// The client page again, with "I am sure" marked on the form whose box is `field`.
fn unconfirmed(page: &AdminPage, client: &Client, field: &str) -> Response {
    let errors = field_errors(
        &page.web.pages,
        &[refused(field, message_key("admin-field-confirm"))],
    );
    client_page(
        page,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        client,
        ClientForm::of(client),
        errors,
    )
}

/// `POST /admin/clients/{client_id}/secret`: a new secret, shown once.
async fn rotate_secret(
    info: ClientInfo,
    page: AdminPage,
    NamedClient(client): NamedClient,
    ConsoleForm(form): ConsoleForm<ConfirmForm>,
) -> Response {
    let AdminPage { web, session, .. } = &page;
    if !ticked(&form.confirm) {
        return unconfirmed(&page, &client, "rotate_confirm");
    }
    let now = web.app.clock.now();
    match clients::rotate_secret(&web.app.db, &client.client_id, admin(session, &info), now).await {
        Ok(SecretRotation::Rotated(client, secret)) => {
            secret_page(&page, StatusCode::OK, &client, Some(secret), false)
        }
        Ok(SecretRotation::PublicClient) => {
            failure_page(web, &page.headers, public_client_has_no_secret()).await
        }
        Ok(SecretRotation::NotFound) => failure_page(web, &page.headers, no_such_client()).await,
        Err(other) => failure_page(web, &page.headers, other).await,
    }
}

/// `POST /admin/clients/{client_id}/delete`: deletes it and revokes its sessions.
async fn delete(
    info: ClientInfo,
    page: AdminPage,
    NamedClient(client): NamedClient,
    ConsoleForm(form): ConsoleForm<ConfirmForm>,
) -> Response {
    let AdminPage { web, session, .. } = &page;
    if !ticked(&form.confirm) {
        return unconfirmed(&page, &client, "delete_confirm");
    }
    let now = web.app.clock.now();
    match clients::delete(&web.app.db, &client.client_id, admin(session, &info), now).await {
        Ok(Some(_)) => done("/admin/clients", "client-deleted"),
        Ok(None) => failure_page(web, &page.headers, no_such_client()).await,
        Err(other) => failure_page(web, &page.headers, other).await,
    }
}

/// The refusal of an address that names no client (a 404 page).
fn no_such_client() -> ApiError {
    ApiError::not_found("client", message_key("not-found-client"))
}
