//! The OpenID provider in the OpenAPI document: its endpoints are listed with their form
//! bodies and client authentication, and what they really answer (success and refusal)
//! is what the document says, status, content type and body schema.

use serde_json::{Value, json};

use super::{LOGOUT_URI, basic, confidential_client, register_client, sign_in_through};
use crate::helpers::{Backend, TestApp, TestResponse};
use crate::on_both_engines;

on_both_engines!(
    the_document_lists_the_provider_endpoints_with_their_form_bodies,
    the_back_channel_answers_what_the_document_says,
    the_browser_endpoints_answer_what_the_document_says,
);

/// Asserts that `response` to `method path` is one the document describes: a documented
/// status, a documented content type, and a JSON body valid against its schema.
#[track_caller]
pub fn assert_documented(doc: &Value, method: &str, path: &str, response: &TestResponse) {
    let status = response.status.as_str();
    let documented = &doc["paths"][path][method]["responses"][status];
    assert!(
        documented.is_object(),
        "{method} {path} answered {status}, which the document does not list: {}",
        response.text
    );
    let content = &documented["content"];
    let Some(kind) = response.header("content-type") else {
        assert!(
            response.text.is_empty(),
            "{method} {path} {status}: a body without a content type: {}",
            response.text
        );
        return;
    };
    let kind = kind.split(';').next().unwrap_or_default().trim();
    let Some(schema) = content.get(kind).map(|media| &media["schema"]) else {
        panic!("{method} {path} {status}: {kind} is not documented, only {content}");
    };
    if !kind.ends_with("json") {
        return;
    }
    let mut schema = schema.clone();
    schema["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&schema).expect("the documented schema compiles");
    let body = response.json();
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: {body} does not match the document: {errors:?}"
    );
}

async fn the_document_lists_the_provider_endpoints_with_their_form_bodies(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doc = app.get("/openapi.json").send().await.json();
    let paths = &doc["paths"];
    for (method, path) in [
        ("get", "/.well-known/openid-configuration"),
        ("get", "/.well-known/oauth-authorization-server"),
        ("get", "/oauth2/jwks"),
        ("post", "/oauth2/token"),
        ("get", "/oauth2/userinfo"),
        ("post", "/oauth2/userinfo"),
        ("post", "/oauth2/revoke"),
        ("post", "/oauth2/introspect"),
        ("get", "/oauth2/authorize"),
        ("post", "/oauth2/authorize"),
        ("get", "/oauth2/logout"),
        ("post", "/oauth2/logout"),
    ] {
        let operation = &paths[path][method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        assert_eq!(operation["tags"], json!(["oauth"]), "{method} {path}");
        if method == "post" {
            assert!(
                operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
                    .is_object(),
                "{method} {path} takes a form"
            );
            assert_eq!(
                operation["requestBody"]["content"]
                    .as_object()
                    .map(|c| c.len()),
                Some(1),
                "{method} {path} takes only a form"
            );
        }
    }
    // The pages reached only through the flow's redirects are not part of the API.
    assert!(paths.get("/login").is_none() && paths.get("/consent").is_none());

    let token = &paths["/oauth2/token"]["post"];
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        token["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"],
        "#/components/schemas/TokenRequest"
    );
    assert_eq!(schemas["TokenRequest"]["required"], json!(["grant_type"]));
    assert_eq!(
        token["security"],
        json!([{}, {"client_secret_basic": []}]),
        "client_secret_post, public clients, or client_secret_basic"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["client_secret_basic"]["scheme"],
        "basic"
    );
    for status in ["200", "400"] {
        assert!(
            token["responses"][status]["headers"]["Cache-Control"].is_object(),
            "token {status} says no-store"
        );
    }
    assert!(token["responses"]["401"]["headers"]["WWW-Authenticate"].is_object());
    assert_eq!(
        token["responses"]["400"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/OAuthErrorBody"
    );
    // The token endpoint spends the authentication budget like the API's logins.
    let limited = roster::http::ratelimit::RATE_LIMITED_ROUTES.contains(&"/oauth2/token");
    assert_eq!(
        token["responses"]["429"]["content"]["application/problem+json"].is_object(),
        limited,
        "429 is documented exactly when /oauth2/token is rate limited"
    );
    for (method, path) in [("post", "/oauth2/revoke"), ("post", "/oauth2/introspect")] {
        let responses = &paths[path][method]["responses"];
        assert!(
            responses["401"]["headers"]["WWW-Authenticate"].is_object(),
            "{path}"
        );
        assert!(responses.get("429").is_none(), "{path} is not rate limited");
        assert!(responses.get("415").is_none() && responses.get("422").is_none());
    }
    for method in ["get", "post"] {
        let userinfo = &paths["/oauth2/userinfo"][method];
        assert!(userinfo["security"][0]["bearer"].is_array());
        for status in ["401", "403"] {
            assert!(
                userinfo["responses"][status]["headers"]["WWW-Authenticate"].is_object(),
                "{method} userinfo {status}"
            );
        }
    }
    let authorize = &paths["/oauth2/authorize"]["get"];
    let parameters: Vec<&str> = authorize["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
    ] {
        assert!(parameters.contains(&name), "authorize takes {name}");
    }
    assert!(authorize["responses"]["303"]["headers"]["Location"].is_object());
    assert!(authorize["responses"]["400"]["content"]["text/html"].is_object());
    let logout = &paths["/oauth2/logout"]["get"];
    assert!(logout["responses"]["303"]["headers"]["Location"].is_object());
    assert!(logout["responses"]["200"]["content"]["text/html"].is_object());
}

async fn the_back_channel_answers_what_the_document_says(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doc = app.get("/openapi.json").send().await.json();
    let admin = app.admin().await;
    let user = app.user().await;
    let client = confidential_client(&app, &admin, true).await;
    let client_id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    let authorization = basic(client_id, secret);

    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/oauth2/jwks",
    ] {
        let answer = app.get(path).send().await;
        assert_eq!(answer.status, 200);
        assert_documented(&doc, "get", path, &answer);
    }

    // Success: tokens, userinfo with every claim, introspection, refresh, revocation.
    let tokens = sign_in_through(&app, &client, &user, "openid profile email offline_access").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let info = app.get("/oauth2/userinfo").bearer(access).send().await;
    assert_eq!(info.status, 200, "{}", info.text);
    assert_documented(&doc, "get", "/oauth2/userinfo", &info);
    let info = app
        .post("/oauth2/userinfo")
        .form(&[("access_token", access)])
        .send()
        .await;
    assert_eq!(info.status, 200, "{}", info.text);
    assert_documented(&doc, "post", "/oauth2/userinfo", &info);
    for token in [access, refresh, user.access_token.as_str(), "never-issued"] {
        let answer = app
            .post("/oauth2/introspect")
            .header("authorization", &authorization)
            .form(&[("token", token)])
            .send()
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_documented(&doc, "post", "/oauth2/introspect", &answer);
    }
    let refreshed = app
        .post("/oauth2/token")
        .header("authorization", &authorization)
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .send()
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_documented(&doc, "post", "/oauth2/token", &refreshed);
    let service = register_client(
        &app,
        &admin,
        json!({"name": "Reports", "type": "confidential", "redirect_uris": [],
               "grant_types": ["client_credentials"], "scopes": ["reports:read"]}),
    )
    .await;
    let service_token = app
        .post("/oauth2/token")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", service["client_id"].as_str().unwrap()),
            ("client_secret", service["client_secret"].as_str().unwrap()),
        ])
        .send()
        .await;
    assert_eq!(service_token.status, 200, "{}", service_token.text);
    assert_documented(&doc, "post", "/oauth2/token", &service_token);
    let service_access = service_token.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let described = app
        .post("/oauth2/introspect")
        .header("authorization", &authorization)
        .form(&[("token", &service_access)])
        .send()
        .await;
    assert_eq!(described.json()["active"], true, "{}", described.text);
    assert_documented(&doc, "post", "/oauth2/introspect", &described);
    let revoked = app
        .post("/oauth2/revoke")
        .header("authorization", &authorization)
        .form(&[("token", refreshed.json()["refresh_token"].as_str().unwrap())])
        .send()
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_documented(&doc, "post", "/oauth2/revoke", &revoked);

    // Refusals.
    let token_refusals = [
        app.post("/oauth2/token").body(
            "application/json",
            r#"{"grant_type": "client_credentials"}"#,
        ),
        app.post("/oauth2/token")
            .header("authorization", &authorization)
            .form(&[("grant_type", "password")]),
        app.post("/oauth2/token")
            .header("authorization", &authorization)
            .form(&[("grant_type", "authorization_code"), ("code", "x")]),
        app.post("/oauth2/token")
            .header("authorization", &basic(client_id, "wrong"))
            .form(&[("grant_type", "client_credentials")]),
        app.post("/oauth2/token")
            .form(&[("grant_type", "client_credentials")]),
    ];
    let mut statuses = Vec::new();
    for request in token_refusals {
        let answer = request.send().await;
        assert_documented(&doc, "post", "/oauth2/token", &answer);
        statuses.push(answer.status.as_u16());
    }
    assert_eq!(statuses, [400, 400, 400, 401, 401]);
    for path in ["/oauth2/revoke", "/oauth2/introspect"] {
        for (request, status) in [
            (app.post(path).form(&[("token", "t")]), 401),
            (
                app.post(path)
                    .header("authorization", &basic(client_id, "wrong"))
                    .form(&[("token", "t")]),
                401,
            ),
            (
                app.post(path)
                    .header("authorization", &authorization)
                    .form(&[]),
                400,
            ),
            (
                app.post(path)
                    .header("authorization", &authorization)
                    .form(&[("token", "a"), ("client_secret", secret)]),
                400,
            ),
        ] {
            let answer = request.send().await;
            assert_eq!(answer.status, status, "{path}: {}", answer.text);
            assert_documented(&doc, "post", path, &answer);
        }
    }
    // A first-party session's token has no `openid` scope; no token; a bad one; both.
    for (method, request, status) in [
        (
            "get",
            app.get("/oauth2/userinfo").bearer(&user.access_token),
            403,
        ),
        ("get", app.get("/oauth2/userinfo"), 401),
        (
            "get",
            app.get("/oauth2/userinfo").bearer("not-a-token"),
            401,
        ),
        ("post", app.post("/oauth2/userinfo").form(&[]), 401),
        (
            "post",
            app.post("/oauth2/userinfo")
                .bearer(access)
                .form(&[("access_token", access)]),
            400,
        ),
    ] {
        let answer = request.send().await;
        assert_eq!(answer.status, status, "{method}: {}", answer.text);
        assert!(
            answer
                .header("www-authenticate")
                .is_some_and(|h| h.starts_with("Bearer"))
        );
        assert_documented(&doc, method, "/oauth2/userinfo", &answer);
    }
}

async fn the_browser_endpoints_answer_what_the_document_says(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doc = app.get("/openapi.json").send().await.json();
    let admin = app.admin().await;
    let client = confidential_client(&app, &admin, true).await;
    let client_id = client["client_id"].as_str().unwrap();
    let unknown = app
        .get("/oauth2/authorize?response_type=code&client_id=nobody&redirect_uri=https%3A%2F%2Fx.example%2F&scope=openid")
        .send()
        .await;
    assert_eq!(unknown.status, 400);
    assert_documented(&doc, "get", "/oauth2/authorize", &unknown);
    let path = super::authorize_path(client_id, "openid", &[]);
    let to_login = app.get(&path).send().await;
    assert_eq!(to_login.status, 303);
    assert_documented(&doc, "get", "/oauth2/authorize", &to_login);
    let query = path.split_once('?').unwrap().1.to_owned();
    let posted = app
        .post("/oauth2/authorize")
        .body("application/x-www-form-urlencoded", query)
        .send()
        .await;
    assert_eq!(posted.status, 303);
    assert_documented(&doc, "post", "/oauth2/authorize", &posted);

    let signed_out = app.get("/oauth2/logout").send().await;
    assert_eq!(signed_out.status, 200);
    assert_documented(&doc, "get", "/oauth2/logout", &signed_out);
    let back = app
        .get(&format!(
            "/oauth2/logout?client_id={client_id}&post_logout_redirect_uri={}&state=s",
            form_urlencoded::byte_serialize(LOGOUT_URI.as_bytes()).collect::<String>()
        ))
        .send()
        .await;
    assert_eq!(back.status, 303);
    assert_documented(&doc, "get", "/oauth2/logout", &back);
    let refused = app
        .post("/oauth2/logout")
        .form(&[
            ("client_id", client_id),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ])
        .send()
        .await;
    assert_eq!(refused.status, 400);
    assert_documented(&doc, "post", "/oauth2/logout", &refused);
}
