//! `/account/preferences`: the preferences as a form generated from the configured JSON
//! Schema ([`super::schema_form`]).
//!
//! - `GET /account/preferences`: the form, showing the preferences with defaults filled in.
//! - `POST /account/preferences`: the whole document, as `PUT /api/v1/users/me/preferences`
//!   (same function, same validation; mistakes next to their fields by dotted path).
//! - `POST /account/preferences/reset`: back to the defaults, as `DELETE`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use minijinja::context;
use minijinja::value::Serde;

use super::profile::{Refused, refused};
use super::schema_form::{FieldView, SchemaForm};
use crate::console::frame::{AccountPage, ConsoleForm, ReturnTo, SignedIn, done};
use crate::error::{ApiError, FieldError};
use crate::http::ClientInfo;
use crate::i18n::Arg;
use crate::users::preferences::{Write, read_preferences, write_preferences};
use crate::web::Web;

pub const TEMPLATES: &[(&str, &str)] = &[(
    "console/account/preferences.html",
    include_str!("../../../templates/web/console/account/preferences.html"),
)];

const PATH: &str = "/account/preferences";

pub fn router() -> Router<Web> {
    Router::new()
        .route(PATH, get(show).post(save))
        .route("/account/preferences/reset", post(reset))
        .route_layer(Extension(ReturnTo(PATH)))
}

/// The form for the configured schema (checked at start-up, so it parses), in the
/// request's language.
fn form_of(web: &Web) -> Result<SchemaForm, ApiError> {
    SchemaForm::from_text(web.app.preferences.source(), &|key, args| {
        web.pages.tr_with(key, args)
    })
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("the preferences schema: {e}")))
}

fn schema_heading(web: &Web) -> (Option<String>, Option<String>) {
    let schema: serde_json::Value =
        serde_json::from_str(web.app.preferences.source()).unwrap_or_default();
    let text = |key: &str| schema.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    (text("title"), text("description"))
}

fn render(
    page: &AccountPage,
    query: Option<&str>,
    status: StatusCode,
    fields: Vec<FieldView>,
    general: Vec<String>,
) -> Response {
    let AccountPage { web, .. } = page;
    let (schema_title, schema_description) = schema_heading(web);
    page.frame().render(
        status,
        "console/account/preferences.html",
        "preferences",
        query,
        context! {
            title => web.pages.tr("preferences-title"),
            schema_title => schema_title,
            schema_description => schema_description,
            fields => minijinja::Value::from(Serde(&fields)),
            general => general,
        },
    )
}

/// `GET /account/preferences`.
async fn show(page: AccountPage) -> Response {
    let AccountPage { web, session, .. } = &page;
    let form = match form_of(web) {
        Ok(form) => form,
        Err(error) => return error.into_response(),
    };
    let document = match read_preferences(&web.app, session.user.id).await {
        Ok(document) => document,
        Err(error) => return error.into_response(),
    };
    let fields = form.show(&document);
    render(
        &page,
        page.query.as_deref(),
        StatusCode::OK,
        fields,
        Vec::new(),
    )
}

/// `POST /account/preferences`: the whole document, validated as `PUT` does.
async fn save(
    client: ClientInfo,
    page: AccountPage,
    ConsoleForm(pairs): ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let AccountPage { web, session, .. } = &page;
    let form = match form_of(web) {
        Ok(form) => form,
        Err(error) => return error.into_response(),
    };
    let say = |key: &str, args: &[(&str, Arg)]| web.pages.tr_with(key, args);
    let again = |status: StatusCode, errors: &[FieldError]| {
        let (fields, general) = form.show_posted(&pairs, errors, &say);
        render(&page, None, status, fields, general)
    };
    let document = match form.read(&pairs, &say) {
        Ok(document) => document,
        Err(errors) => return again(StatusCode::UNPROCESSABLE_ENTITY, &errors),
    };
    let id = session.user.id;
    match write_preferences(&web.app, id, id, &client, Write::Replace(document)).await {
        Ok(_) => done(PATH, "preferences-saved"),
        Err(error) => match refused(&web.pages, error) {
            Refused::Fields(status, errors) => again(status, &errors),
            Refused::Page(response) => response,
        },
    }
}

/// `POST /account/preferences/reset`: back to the schema's defaults.
async fn reset(
    State(web): State<Web>,
    client: ClientInfo,
    SignedIn(session): SignedIn,
    _: ConsoleForm,
) -> Response {
    let id = session.user.id;
    match write_preferences(&web.app, id, id, &client, Write::Reset).await {
        Ok(_) => done(PATH, "preferences-reset"),
        Err(error) => error.into_response(),
    }
}
