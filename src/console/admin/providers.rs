//! `/admin/providers`: the identity providers users may sign in with, through the
//! registry functions the admin API (`/api/v1/admin/identity-providers`) calls, audited
//! as there:
//!
//! - `GET /admin/providers`: every provider (a deployment has a handful), the redirect
//!   URI to register at each, and the form to add one;
//! - `POST /admin/providers`: adds one (kind `oidc` reads the issuer's discovery
//!   document); the client secret goes in and is never shown again;
//! - `POST /admin/providers/{id}/enabled`: shows or hides its button (`enabled`);
//! - `POST /admin/providers/{id}/delete`: removes it ("I am sure"); the identities linked
//!   through it stay with their accounts.

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{SECTION, failure_page, field_errors, refused, ticked, view};
use crate::console::frame::{AdminPage, ConsoleForm, ReturnTo, done};
use crate::error::ApiError;
use crate::federation::departure::callback_uri;
use crate::federation::providers::api::settle;
use crate::federation::providers::input::{CheckedChange, ProviderInput};
use crate::federation::providers::{self, Actor, Provider};
use crate::federation::upstream::Upstream;
use crate::http::ClientInfo;
use crate::i18n::message_key;
use crate::web::Web;

const PATH: &str = "/admin/providers";

pub fn router(upstream: &Upstream) -> Router<Web> {
    Router::new()
        .route(PATH, get(list).post(add))
        .route("/admin/providers/{provider_id}/enabled", post(set_enabled))
        .route("/admin/providers/{provider_id}/delete", post(remove))
        .route_layer(Extension(ReturnTo(PATH)))
        .layer(Extension(upstream.clone()))
}

/// A provider as the page shows it (never its secret: [`Provider`] has none).
#[derive(Serialize)]
struct ProviderView {
    id: Uuid,
    slug: String,
    kind: &'static str,
    display_name: String,
    issuer: String,
    trust_email: &'static str,
    allow_signup: bool,
    enabled: bool,
    redirect_uri: String,
}

/// The form to add a provider, as typed (kept when refused; the secret never is).
#[derive(Debug, Default, Serialize, Deserialize)]
struct ProviderForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    client_id: String,
    #[serde(default, skip_serializing)]
    client_secret: String,
    /// `apple` only.
    #[serde(default)]
    team_id: String,
    /// `apple` only.
    #[serde(default)]
    key_id: String,
    #[serde(default)]
    issuer: String,
    /// Space-separated; empty: the kind's default.
    #[serde(default)]
    scopes: String,
    /// Empty: the kind's default.
    #[serde(default)]
    trust_email: String,
    allow_signup: Option<String>,
}

impl ProviderForm {
    fn blank() -> ProviderForm {
        ProviderForm {
            kind: "oidc".into(),
            allow_signup: Some("on".into()),
            ..ProviderForm::default()
        }
    }

    fn input(&self) -> ProviderInput {
        let given = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
        let scopes: Vec<String> = self.scopes.split_whitespace().map(str::to_owned).collect();
        ProviderInput {
            slug: Some(self.slug.trim().to_owned()),
            kind: Some(self.kind.clone()),
            display_name: Some(self.display_name.clone()),
            client_id: Some(self.client_id.trim().to_owned()),
            client_secret: given(&self.client_secret),
            team_id: given(&self.team_id),
            key_id: given(&self.key_id),
            issuer: given(&self.issuer),
            scopes: (!scopes.is_empty()).then_some(scopes),
            trust_email: given(&self.trust_email),
            allow_signup: Some(ticked(&self.allow_signup)),
        }
    }
}

fn admin<'a>(page: &AdminPage, client: &'a ClientInfo) -> Actor<'a> {
    Actor::Admin {
        user_id: page.session.user.id,
        client,
    }
}

/// The page: the providers and the form (`form`, `errors`).
async fn page_of(
    page: &AdminPage,
    status: StatusCode,
    query: Option<&str>,
    form: &ProviderForm,
    errors: BTreeMap<String, String>,
) -> Response {
    let web = &page.web;
    let all = match providers::list_all(&web.app.db).await {
        Ok(all) => all,
        Err(e) => return failure_page(web, &page.headers, e.into()).await,
    };
    let public_url = &web.app.config.http.public_url;
    let rows: Vec<ProviderView> = all
        .iter()
        .map(|provider: &Provider| ProviderView {
            id: provider.id,
            slug: provider.slug.clone(),
            kind: provider.kind.as_str(),
            display_name: provider.display_name.clone(),
            issuer: provider.issuer.clone(),
            trust_email: provider.trust_email.as_str(),
            allow_signup: provider.allow_signup,
            enabled: provider.enabled,
            redirect_uri: callback_uri(public_url, &provider.slug),
        })
        .collect();
    page.frame().render(
        status,
        "console/admin/providers.html",
        SECTION,
        query,
        context! {
            title => web.pages.tr("admin-providers-title"),
            providers => view(&rows),
            redirect_example => callback_uri(public_url, "SLUG"),
            form => view(form),
            add_refused => errors.keys().any(|field| !field.starts_with("confirm-")),
            errors => errors,
        },
    )
}

/// `GET /admin/providers`.
async fn list(page: AdminPage) -> Response {
    let query = page.query.clone();
    page_of(
        &page,
        StatusCode::OK,
        query.as_deref(),
        &ProviderForm::blank(),
        BTreeMap::new(),
    )
    .await
}

/// `POST /admin/providers`: adds a provider.
async fn add(
    info: ClientInfo,
    Extension(upstream): Extension<Upstream>,
    page: AdminPage,
    ConsoleForm(form): ConsoleForm<ProviderForm>,
) -> Response {
    let web = &page.web;
    let input = form.input();
    let added = match settle(&web.app, &upstream, &input).await {
        Ok((settings, endpoints)) => {
            let now = web.app.clock.now();
            let actor = admin(&page, &info);
            providers::add(
                &web.app.db,
                &web.app.cipher,
                &settings,
                &endpoints,
                actor,
                now,
            )
            .await
        }
        Err(e) => Err(e),
    };
    let errors = match added {
        Ok(_) => return done(PATH, "provider-added"),
        Err(ApiError::Validation(errors)) => errors,
        Err(ApiError::Conflict { why, field }) => {
            vec![why.at(field.unwrap_or_else(|| "slug".into()))]
        }
        Err(other) => return failure_page(web, &page.headers, other).await,
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    page_of(
        &page,
        status,
        None,
        &form,
        field_errors(&web.pages, &errors),
    )
    .await
}

#[derive(Deserialize)]
struct EnabledForm {
    #[serde(default)]
    enabled: String,
}

/// `POST /admin/providers/{id}/enabled`: `enabled=true` shows its button, `false` hides it.
async fn set_enabled(
    info: ClientInfo,
    Path(provider_id): Path<Uuid>,
    page: AdminPage,
    ConsoleForm(form): ConsoleForm<EnabledForm>,
) -> Response {
    let web = &page.web;
    let enabled = match form.enabled.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            return failure_page(
                web,
                &page.headers,
                ApiError::Validation(vec![refused(
                    "enabled",
                    message_key("admin-field-true-or-false"),
                )]),
            )
            .await;
        }
    };
    let change = CheckedChange {
        display_name: None,
        client_id: None,
        client_secret: None,
        scopes: None,
        trust_email: None,
        allow_signup: None,
        enabled: Some(enabled),
    };
    let now = web.app.clock.now();
    let changed = providers::change(
        &web.app.db,
        &web.app.cipher,
        provider_id,
        &change,
        admin(&page, &info),
        now,
    )
    .await;
    match changed {
        Ok(Some(_)) if enabled => done(PATH, "provider-enabled"),
        Ok(Some(_)) => done(PATH, "provider-disabled"),
        Ok(None) => failure_page(web, &page.headers, no_such_provider()).await,
        Err(e) => failure_page(web, &page.headers, e).await,
    }
}

#[derive(Deserialize)]
struct ConfirmForm {
    confirm: Option<String>,
}

/// `POST /admin/providers/{id}/delete`: removes it once "I am sure" is ticked.
async fn remove(
    info: ClientInfo,
    Path(provider_id): Path<Uuid>,
    page: AdminPage,
    ConsoleForm(form): ConsoleForm<ConfirmForm>,
) -> Response {
    let web = &page.web;
    if !ticked(&form.confirm) {
        let errors = field_errors(
            &web.pages,
            &[refused(
                format!("confirm-{provider_id}"),
                message_key("admin-field-confirm"),
            )],
        );
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return page_of(&page, status, None, &ProviderForm::blank(), errors).await;
    }
    let now = web.app.clock.now();
    match providers::remove(&web.app.db, provider_id, admin(&page, &info), now).await {
        Ok(Some(_)) => done(PATH, "provider-removed"),
        Ok(None) => failure_page(web, &page.headers, no_such_provider()).await,
        Err(e) => failure_page(web, &page.headers, e).await,
    }
}

/// The refusal of an address that names no identity provider (a 404 page).
fn no_such_provider() -> ApiError {
    ApiError::not_found("identity provider", message_key("not-found-provider"))
}
