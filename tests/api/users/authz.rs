//! The authorization matrix over every endpoint of the Users and Admin sections: what
//! an anonymous caller, a basic member, a premium member, the owner of the account in
//! the path and an administrator each get. For `/me` endpoints every signed-in caller
//! is the owner of what they touch.

use serde_json::{Value, json};

use crate::helpers::{Backend, DEFAULT_PASSWORD, Session, TestApp};
use crate::on_both_engines;
use crate::users::support::{premium, send};

on_both_engines!(
    every_users_and_admin_endpoint_answers_each_kind_of_caller_as_the_contract_says,
    destructive_endpoints_answer_each_kind_of_caller_as_the_contract_says,
);

/// Expected statuses for [anonymous, basic, premium, owner, admin].
type Expected = [u16; 5];

struct Case {
    method: &'static str,
    /// `{id}` stands for the owner's id.
    path: &'static str,
    body: Option<Value>,
    expected: Expected,
}

fn case(method: &'static str, path: &'static str, body: Option<Value>, expected: Expected) -> Case {
    Case {
        method,
        path,
        body,
        expected,
    }
}

struct Callers {
    basic: Session,
    premium: Session,
    owner: Session,
    admin: Session,
}

impl Callers {
    async fn new(app: &TestApp) -> Callers {
        Callers {
            basic: app.user().await,
            premium: premium(app).await,
            owner: app.user().await,
            admin: app.admin().await,
        }
    }

    fn tokens(&self) -> [Option<&str>; 5] {
        [
            None,
            Some(self.basic.access_token.as_str()),
            Some(self.premium.access_token.as_str()),
            Some(self.owner.access_token.as_str()),
            Some(self.admin.access_token.as_str()),
        ]
    }
}

const WHO: [&str; 5] = ["anonymous", "basic", "premium", "owner", "admin"];

async fn run(app: &TestApp, callers: &Callers, cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let path = case.path.replace("{id}", &callers.owner.user_id);
        for (index, token) in callers.tokens().into_iter().enumerate() {
            let response = send(app, case.method, &path, token, case.body.clone()).await;
            let status = response.status.as_u16();
            if status != case.expected[index] {
                failures.push(format!(
                    "{} {} as {}: expected {}, got {} ({})",
                    case.method, case.path, WHO[index], case.expected[index], status, response.text
                ));
            }
            if status >= 400 {
                response.problem(status);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

async fn every_users_and_admin_endpoint_answers_each_kind_of_caller_as_the_contract_says(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let callers = Callers::new(&app).await;
    let profile = Some(json!({"occupation": "Tester"}));
    let preferences = Some(json!({"wifi": true}));
    let payment = Some(json!({"payment_token": "tok_matrix_00001234"}));
    let name = Some(json!({"full_name": "Matrix Person"}));
    let cases = vec![
        // Users: the admin listing and search.
        case("GET", "/api/v1/users", None, [401, 403, 403, 403, 200]),
        case(
            "GET",
            "/api/v1/users/search?q=user",
            None,
            [401, 403, 200, 403, 200],
        ),
        // The caller's own account.
        case("GET", "/api/v1/users/me", None, [401, 200, 200, 200, 200]),
        case(
            "PUT",
            "/api/v1/users/me",
            name.clone(),
            [401, 200, 200, 200, 200],
        ),
        case(
            "PATCH",
            "/api/v1/users/me",
            name.clone(),
            [401, 200, 200, 200, 200],
        ),
        case(
            "GET",
            "/api/v1/users/me/profile",
            None,
            [401, 200, 200, 200, 200],
        ),
        case(
            "PUT",
            "/api/v1/users/me/profile",
            profile.clone(),
            [401, 200, 200, 200, 200],
        ),
        case(
            "PATCH",
            "/api/v1/users/me/profile",
            profile.clone(),
            [401, 200, 200, 200, 200],
        ),
        case(
            "DELETE",
            "/api/v1/users/me/profile",
            None,
            [401, 204, 204, 204, 204],
        ),
        case(
            "GET",
            "/api/v1/users/me/preferences",
            None,
            [401, 200, 200, 200, 200],
        ),
        case(
            "PUT",
            "/api/v1/users/me/preferences",
            preferences.clone(),
            [401, 200, 200, 200, 200],
        ),
        case(
            "PATCH",
            "/api/v1/users/me/preferences",
            preferences.clone(),
            [401, 200, 200, 200, 200],
        ),
        case(
            "DELETE",
            "/api/v1/users/me/preferences",
            None,
            [401, 204, 204, 204, 204],
        ),
        case(
            "GET",
            "/api/v1/users/me/stats",
            None,
            [401, 200, 200, 200, 200],
        ),
        case(
            "GET",
            "/api/v1/users/me/payment-info",
            None,
            [401, 404, 404, 404, 404],
        ),
        case(
            "POST",
            "/api/v1/users/me/payment-info",
            payment.clone(),
            [401, 201, 201, 201, 201],
        ),
        case(
            "POST",
            "/api/v1/users/me/payment-info",
            payment.clone(),
            [401, 409, 409, 409, 409],
        ),
        case(
            "PUT",
            "/api/v1/users/me/payment-info",
            payment.clone(),
            [401, 200, 200, 200, 200],
        ),
        case(
            "GET",
            "/api/v1/users/me/payment-info",
            None,
            [401, 200, 200, 200, 200],
        ),
        case(
            "DELETE",
            "/api/v1/users/me/payment-info",
            None,
            [401, 204, 204, 204, 204],
        ),
        // Another account by id (the owner's).
        case("GET", "/api/v1/users/{id}", None, [200, 200, 200, 200, 200]),
        case(
            "PUT",
            "/api/v1/users/{id}",
            name.clone(),
            [401, 403, 403, 200, 200],
        ),
        case(
            "GET",
            "/api/v1/users/{id}/profile",
            None,
            [401, 403, 200, 200, 200],
        ),
        case(
            "GET",
            "/api/v1/users/{id}/preferences",
            None,
            [401, 403, 200, 200, 200],
        ),
        case(
            "PUT",
            "/api/v1/users/{id}/preferences",
            preferences.clone(),
            [401, 403, 403, 200, 200],
        ),
        case(
            "PATCH",
            "/api/v1/users/{id}/preferences",
            preferences.clone(),
            [401, 403, 403, 200, 200],
        ),
        case(
            "DELETE",
            "/api/v1/users/{id}/preferences",
            None,
            [401, 403, 403, 204, 204],
        ),
        // Admin.
        case(
            "PATCH",
            "/api/v1/admin/users/{id}",
            Some(json!({"email_verified": true})),
            [401, 403, 403, 403, 200],
        ),
        case(
            "GET",
            "/api/v1/admin/audit",
            None,
            [401, 403, 403, 403, 200],
        ),
        case(
            "GET",
            "/api/v1/admin/audit?user_id={id}",
            None,
            [401, 403, 403, 403, 200],
        ),
        // Tier changes (each caller acts on itself), then the admin ends the owner's sessions.
        case(
            "POST",
            "/api/v1/users/me/upgrade",
            None,
            [401, 200, 200, 200, 200],
        ),
        case(
            "POST",
            "/api/v1/users/me/downgrade",
            None,
            [401, 200, 200, 200, 200],
        ),
        case(
            "POST",
            "/api/v1/admin/users/{id}/revoke-sessions",
            None,
            [401, 403, 403, 403, 204],
        ),
    ];
    run(&app, &callers, &cases).await;
    // The last case ended the owner's sessions: the owner's token is dead now.
    app.get("/api/v1/users/me")
        .bearer(&callers.owner.access_token)
        .send()
        .await
        .problem(401);
    // A token that is not valid is 401 even where anonymous callers are welcome.
    app.get(&format!("/api/v1/users/{}", callers.owner.user_id))
        .bearer("not-a-token")
        .send()
        .await
        .problem(401);
}

async fn destructive_endpoints_answer_each_kind_of_caller_as_the_contract_says(backend: Backend) {
    let app = TestApp::new(backend).await;
    let callers = Callers::new(&app).await;
    // DELETE /me: every signed-in caller deletes their own (fresh) account.
    app.delete("/api/v1/users/me")
        .json(json!({"password": DEFAULT_PASSWORD}))
        .send()
        .await
        .problem(401);
    let fresh_basic = app.user().await;
    let fresh_premium = premium(&app).await;
    let fresh_admin = app.admin().await;
    for session in [&fresh_basic, &fresh_premium, &fresh_admin] {
        let response = app
            .delete("/api/v1/users/me")
            .bearer(&session.access_token)
            .json(json!({"password": DEFAULT_PASSWORD}))
            .send()
            .await;
        assert_eq!(response.status, 204, "{}", response.text);
    }
    // DELETE /{id}: anonymous, basic, premium refused; the owner (with password) and an
    // admin succeed, each on an account of their own to delete.
    let path = format!("/api/v1/users/{}", callers.owner.user_id);
    app.delete(&path).send().await.problem(401);
    for other in [&callers.basic, &callers.premium] {
        app.delete(&path)
            .bearer(&other.access_token)
            .json(json!({"password": DEFAULT_PASSWORD}))
            .send()
            .await
            .problem(403);
    }
    let by_owner = app
        .delete(&path)
        .bearer(&callers.owner.access_token)
        .json(json!({"password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(by_owner.status, 204, "{}", by_owner.text);
    let victim = app.user().await;
    let by_admin = app
        .delete(&format!("/api/v1/users/{}", victim.user_id))
        .bearer(&callers.admin.access_token)
        .send()
        .await;
    assert_eq!(by_admin.status, 204, "{}", by_admin.text);
    // Deleted accounts answer 404 to everyone, their tokens 401.
    for gone in [&callers.owner, &victim, &fresh_basic] {
        app.get(&format!("/api/v1/users/{}", gone.user_id))
            .bearer(&callers.admin.access_token)
            .send()
            .await
            .problem(404);
        app.get("/api/v1/users/me")
            .bearer(&gone.access_token)
            .send()
            .await
            .problem(401);
    }
}

on_both_engines!(openapi_documents_every_users_and_admin_operation_with_its_errors);

async fn openapi_documents_every_users_and_admin_operation_with_its_errors(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doc = app.get("/openapi.json").send().await.json();
    let operations: &[(&str, &str, &[&str])] = &[
        ("get", "/api/v1/users", &["200", "401", "403", "422"]),
        ("get", "/api/v1/users/me", &["200", "401"]),
        ("put", "/api/v1/users/me", &["200", "401", "409", "422"]),
        ("patch", "/api/v1/users/me", &["200", "401", "409", "422"]),
        (
            "delete",
            "/api/v1/users/me",
            &["204", "400", "401", "409", "422"],
        ),
        ("get", "/api/v1/users/me/profile", &["200", "401"]),
        ("put", "/api/v1/users/me/profile", &["200", "401", "422"]),
        ("patch", "/api/v1/users/me/profile", &["200", "401", "422"]),
        ("delete", "/api/v1/users/me/profile", &["204", "401"]),
        ("get", "/api/v1/users/me/preferences", &["200", "401"]),
        (
            "put",
            "/api/v1/users/me/preferences",
            &["200", "401", "422"],
        ),
        (
            "patch",
            "/api/v1/users/me/preferences",
            &["200", "401", "422"],
        ),
        ("delete", "/api/v1/users/me/preferences", &["204", "401"]),
        ("get", "/api/v1/users/me/stats", &["200", "401"]),
        ("post", "/api/v1/users/me/upgrade", &["200", "401"]),
        ("post", "/api/v1/users/me/downgrade", &["200", "401"]),
        (
            "get",
            "/api/v1/users/me/payment-info",
            &["200", "401", "404"],
        ),
        (
            "post",
            "/api/v1/users/me/payment-info",
            &["201", "401", "409", "422"],
        ),
        (
            "put",
            "/api/v1/users/me/payment-info",
            &["200", "401", "422"],
        ),
        ("delete", "/api/v1/users/me/payment-info", &["204", "401"]),
        ("get", "/api/v1/users/search", &["200", "401", "403", "422"]),
        ("get", "/api/v1/users/{user_id}", &["200", "404"]),
        (
            "put",
            "/api/v1/users/{user_id}",
            &["200", "401", "403", "404", "409", "422"],
        ),
        (
            "delete",
            "/api/v1/users/{user_id}",
            &["204", "400", "401", "403", "404", "409"],
        ),
        (
            "get",
            "/api/v1/users/{user_id}/profile",
            &["200", "401", "403", "404"],
        ),
        (
            "get",
            "/api/v1/users/{user_id}/preferences",
            &["200", "401", "403", "404"],
        ),
        (
            "put",
            "/api/v1/users/{user_id}/preferences",
            &["200", "401", "403", "404", "422"],
        ),
        (
            "patch",
            "/api/v1/users/{user_id}/preferences",
            &["200", "401", "403", "404", "422"],
        ),
        (
            "delete",
            "/api/v1/users/{user_id}/preferences",
            &["204", "401", "403", "404"],
        ),
        (
            "patch",
            "/api/v1/admin/users/{user_id}",
            &["200", "401", "403", "404", "409", "422"],
        ),
        (
            "post",
            "/api/v1/admin/users/{user_id}/revoke-sessions",
            &["204", "401", "403", "404"],
        ),
        ("get", "/api/v1/admin/audit", &["200", "401", "403", "422"]),
        (
            "post",
            "/api/v1/admin/users",
            &["201", "401", "403", "409", "422"],
        ),
        (
            "post",
            "/api/v1/admin/users/{user_id}/password-reset",
            &["202", "401", "403", "404", "409", "429"],
        ),
    ];
    for (method, path, statuses) in operations {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        assert!(
            operation["summary"].is_string(),
            "{method} {path} has no summary"
        );
        let security = operation["security"].to_string();
        assert!(security.contains("bearer"), "{method} {path}: {security}");
        for status in *statuses {
            assert!(
                operation["responses"][status].is_object(),
                "{method} {path} does not document {status}"
            );
        }
    }
    // GET /users/{user_id} also works without a token.
    assert!(
        doc["paths"]["/api/v1/users/{user_id}"]["get"]["security"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_object().is_some_and(|o| o.is_empty()))
    );
}
