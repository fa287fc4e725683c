//! API documentation served from the binary, no CDN: the OpenAPI document, Swagger UI
//! (vendored by utoipa-swagger-ui) at `/docs`, and ReDoc (its standalone bundle from
//! the `redoc` npm package, in `assets/redoc/`) at `/redoc`.

use std::sync::Arc;

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Router};
use utoipa::openapi::HttpMethod;
use utoipa::openapi::path::OperationBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::state::AppState;

static REDOC_JS: &[u8] = include_bytes!("../../assets/redoc/redoc.standalone.js");
const REDOC_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Roster API</title></head>
<body><redoc spec-url="/openapi.json"></redoc><script src="/redoc/redoc.standalone.js"></script></body>
</html>"#;

/// The serialized OpenAPI document, made once at start-up.
#[derive(Clone)]
pub struct OpenApiJson(Arc<Vec<u8>>);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi_json))
        .routes(routes!(redoc))
}

/// Adds the documentation viewers and the serialized document to the finished router.
pub fn with_docs(
    router: Router<AppState>,
    mut openapi: utoipa::openapi::OpenApi,
) -> Router<AppState> {
    // Swagger UI's own routes: `/docs` redirects to `/docs/`, the page.
    let swagger = OperationBuilder::new()
        .summary(Some("Swagger UI viewer of the API documentation"))
        .tag("system")
        .response(
            "303",
            ResponseBuilder::new()
                .description("Redirect to /docs/, the Swagger UI page")
                .build(),
        )
        .build();
    openapi
        .paths
        .add_path_operation("/docs", vec![HttpMethod::Get], swagger);
    crate::http::openapi::document_layer_responses(&mut openapi);
    let json = serde_json::to_vec(&openapi).expect("the OpenAPI document serializes");
    router
        .merge(
            SwaggerUi::new("/docs").config(
                Config::from("/openapi.json")
                    .try_it_out_enabled(true)
                    .persist_authorization(true),
            ),
        )
        .route("/redoc/redoc.standalone.js", axum::routing::get(redoc_js))
        .layer(Extension(OpenApiJson(Arc::new(json))))
}

/// This OpenAPI 3.1 document
#[utoipa::path(get, path = "/openapi.json", tag = "system", responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)))]
pub async fn openapi_json(Extension(OpenApiJson(json)): Extension<OpenApiJson>) -> Response {
    let mut response = json.as_ref().clone().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// ReDoc viewer of the API documentation
#[utoipa::path(get, path = "/redoc", tag = "system", responses((status = 200, description = "HTML page", content_type = "text/html", body = String)))]
pub async fn redoc() -> Html<&'static str> {
    Html(REDOC_PAGE)
}

async fn redoc_js() -> Response {
    let mut response = REDOC_JS.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}
