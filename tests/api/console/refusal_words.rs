//! A refusal whose reason the pages show says it in the reader's language (the `Why` of
//! `ApiError::WrongFactor`, `BadToken`, `NotFound` and `TooManyRequests`,
//! `locales/*/refusals.ftl`): a wrong TOTP code when turning TOTP on, a used or wrong
//! second factor when confirming who one is, a passkey answer refused and its spent
//! ceremony, an authenticator that is not there, too many wrong passwords, and a dead
//! link; the JSON API keeps its English `detail` word for word.

use serde_json::{Value, json};

use super::conflict_words::{GERMAN, in_german};
use crate::console::{set_up_totp_answering, signed_in, submit};
use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp, TestResponse};
use crate::mfa::authenticator::{Algorithm, SoftAuthenticator};
use crate::mfa::{enrol_totp, mfa_token, verify};
use crate::oidc::Browser;
use crate::on_both_engines;

on_both_engines!(
    a_wrong_code_is_refused_in_german_when_turning_on_totp,
    a_used_recovery_code_and_a_wrong_code_are_refused_in_german_on_confirming,
    a_refused_passkey_answer_and_its_spent_ceremony_are_said_in_german,
    a_missing_authenticator_is_said_in_german,
    too_many_wrong_passwords_are_said_in_german,
    dead_links_are_said_in_german_and_the_api_keeps_each_tokens_english,
);

const SECURITY: &str = "/account/security";

/// The API's `answer` is a problem with `status` whose `detail` is `detail`, in English
/// whatever language was asked for; its body.
fn api_detail(answer: &TestResponse, status: u16, detail: &str) -> Value {
    let body = answer.problem(status);
    assert_eq!(body["detail"], detail, "{body}");
    body
}

/// A German browser signed in as a new member, on the security page.
async fn on_the_security_page(app: &TestApp) -> (Browser<'_>, crate::helpers::Session) {
    let user = app.user().await;
    let browser = signed_in(app, &user).await.speaking(GERMAN);
    (browser, user)
}

/// Posts the re-authentication form of `page` with the password and `proof` (a second
/// factor's field and value).
async fn reauthenticate(
    browser: &mut Browser<'_>,
    page: &TestResponse,
    proof: (&str, &str),
) -> TestResponse {
    let fields = [("password", DEFAULT_PASSWORD), proof];
    submit(browser, page, "/account/security/reauthenticate", &fields).await
}

async fn a_wrong_code_is_refused_in_german_when_turning_on_totp(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (mut browser, user) = on_the_security_page(&app).await;
    let page = browser.get(SECURITY).await;
    let (_, wrong) = set_up_totp_answering(&mut browser, &page, "000000").await;
    in_german(
        &wrong,
        400,
        "Der Code ist nicht der aktuelle Code Ihrer Authenticator-App.",
        "current code",
    );
    assert!(wrong.text.contains("id=\"code-error\""), "{}", wrong.text);

    let start = app
        .post("/api/v1/auth/mfa/totp")
        .bearer(&user.access_token)
        .send()
        .await;
    assert_eq!(start.status, 200, "{}", start.text);
    let confirm = app
        .post("/api/v1/auth/mfa/totp/confirm")
        .bearer(&user.access_token)
        .header("accept-language", "de")
        .json(json!({"code": "000000"}))
        .send()
        .await;
    let body = api_detail(
        &confirm,
        400,
        "code is not the authenticator's current code",
    );
    assert_eq!(
        body["errors"],
        json!([{"field": "code", "message": "is not the authenticator's current code"}])
    );
}

async fn a_used_recovery_code_and_a_wrong_code_are_refused_in_german_on_confirming(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let (mut browser, user) = on_the_security_page(&app).await;
    let (_, codes) = enrol_totp(&app, &user).await;
    // Through the API (before its access token expires): a recovery code works once.
    let reauthenticate_api = || {
        app.post("/api/v1/auth/reauthenticate")
            .bearer(&user.access_token)
            .header("accept-language", "de")
            .json(json!({"password": DEFAULT_PASSWORD, "recovery_code": codes[1]}))
            .send()
    };
    let first = reauthenticate_api().await;
    assert_eq!(first.status, 200, "{}", first.text);
    let api = reauthenticate_api().await;
    let detail = "recovery_code is not correct, or was used already";
    let body = api_detail(&api, 400, detail);
    assert_eq!(
        body["errors"],
        json!([{"field": "recovery_code", "message": "is not correct, or was used already"}])
    );

    app.clock.advance(chrono::Duration::minutes(11));
    let page = browser.get(SECURITY).await;
    let used = reauthenticate(&mut browser, &page, ("recovery_code", &codes[0])).await;
    assert_eq!(used.status, 303, "{}", used.text);

    app.clock.advance(chrono::Duration::minutes(11));
    let page = browser.get(SECURITY).await;
    let again = reauthenticate(&mut browser, &page, ("recovery_code", &codes[0])).await;
    in_german(
        &again,
        400,
        "Der Wiederherstellungscode ist nicht richtig oder wurde bereits verwendet.",
        "was used already",
    );
    let wrong = reauthenticate(&mut browser, &page, ("code", "000000")).await;
    in_german(
        &wrong,
        400,
        "Der Code ist nicht richtig oder wurde bereits verwendet.",
        "was used already",
    );

    let token = mfa_token(&app, &user).await;
    let answer = verify(&app, json!({"mfa_token": token, "code": "000000"})).await;
    api_detail(&answer, 400, "code is not correct, or was used already");
}

async fn a_refused_passkey_answer_and_its_spent_ceremony_are_said_in_german(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (mut browser, user) = on_the_security_page(&app).await;
    let page = browser.get(SECURITY).await;
    let purpose = [("purpose", "register")];
    let options = submit(
        &mut browser,
        &page,
        "/account/security/passkey-options",
        &purpose,
    )
    .await;
    assert_eq!(options.status, 200, "{}", options.text);
    let ceremony = options.json();
    // An authenticator that answers for another origin: the answer is refused.
    let mut elsewhere = SoftAuthenticator::new(Algorithm::Es256, "http://evil.test");
    let credential = elsewhere.register(&ceremony["publicKey"]).to_string();
    let challenge_id = ceremony["challenge_id"].as_str().unwrap();
    let form = [
        ("name", "Laptop"),
        ("challenge_id", challenge_id),
        ("credential", credential.as_str()),
    ];
    let refused = submit(&mut browser, &page, "/account/security/passkeys", &form).await;
    in_german(
        &refused,
        400,
        "Die Antwort des Passkeys wurde nicht akzeptiert.",
        "was not accepted",
    );
    let spent = submit(&mut browser, &page, "/account/security/passkeys", &form).await;
    in_german(
        &spent,
        400,
        "Die challenge_id ist unbekannt, abgelaufen, bereits verwendet oder nicht für diese Anfrage bestimmt.",
        "is unknown",
    );

    let register = |body: Value| {
        app.post("/api/v1/auth/mfa/passkeys")
            .bearer(&user.access_token)
            .header("accept-language", "de")
            .json(body)
            .send()
    };
    let ceremony = app
        .post("/api/v1/auth/mfa/passkeys/options")
        .bearer(&user.access_token)
        .json(json!({}))
        .send()
        .await
        .json();
    let credential = elsewhere.register(&ceremony["publicKey"]);
    let body =
        json!({"challenge_id": ceremony["challenge_id"], "name": "x", "credential": credential});
    let refused = register(body.clone()).await.problem(400);
    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("credential was not accepted: "),
        "{refused}"
    );
    api_detail(
        &register(body).await,
        400,
        "the challenge_id is unknown, expired, used, or not for this request",
    );
}

async fn a_missing_authenticator_is_said_in_german(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (mut browser, user) = on_the_security_page(&app).await;
    let page = browser.get(SECURITY).await;
    // Another tab removed it meanwhile: nothing to remove.
    let none = submit(&mut browser, &page, "/account/security/totp/remove", &[]).await;
    in_german(
        &none,
        404,
        "Es ist keine Authenticator-App eingerichtet.",
        "not found",
    );

    let api = app
        .delete("/api/v1/auth/mfa/totp")
        .bearer(&user.access_token)
        .header("accept-language", "de")
        .send()
        .await;
    api_detail(&api, 404, "TOTP authenticator not found");
}

async fn too_many_wrong_passwords_are_said_in_german(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (mut browser, user) = on_the_security_page(&app).await;
    let page = browser.get(SECURITY).await;
    let change = |current| {
        [
            ("current_password", current),
            ("new_password", "Fresh-Lantern-Orbit-42"),
            ("confirm_password", "Fresh-Lantern-Orbit-42"),
        ]
    };
    for _ in 0..5 {
        let wrong = change("Not-The-Password-1");
        let refused = submit(&mut browser, &page, "/account/security/password", &wrong).await;
        assert_eq!(refused.status, 400, "{}", refused.text);
    }
    let right = change(DEFAULT_PASSWORD);
    let locked = submit(&mut browser, &page, "/account/security/password", &right).await;
    in_german(
        &locked,
        429,
        "Zu viele falsche Passwörter für dieses Konto; versuchen Sie es später erneut.",
        "Too many",
    );
    assert!(locked.header("retry-after").is_some());

    let api = app
        .post("/api/v1/auth/change-password")
        .bearer(&user.access_token)
        .header("accept-language", "de")
        .json(
            json!({"current_password": DEFAULT_PASSWORD, "new_password": "Fresh-Lantern-Orbit-42"}),
        )
        .send()
        .await;
    api_detail(
        &api,
        429,
        "too many failed password attempts for this account; try again later",
    );
}

async fn dead_links_are_said_in_german_and_the_api_keeps_each_tokens_english(backend: Backend) {
    let app = TestApp::new(backend).await;
    for path in [
        "/verify-email?token=unknown",
        "/confirm-email-change?token=unknown",
    ] {
        let page = app.get(path).header("accept-language", GERMAN).send().await;
        in_german(
            &page,
            400,
            "Dieser Link ist ungültig, wurde bereits verwendet oder ist abgelaufen.",
            "has expired",
        );
    }

    let password = DEFAULT_PASSWORD;
    for (path, body, detail) in [
        (
            "/api/v1/auth/verify-email",
            json!({"token": "unknown"}),
            "the verification token is invalid, used or expired",
        ),
        (
            "/api/v1/auth/password-reset-confirm",
            json!({"token": "unknown", "new_password": password}),
            "the reset token is invalid, used or expired",
        ),
        (
            "/api/v1/auth/accept-invitation",
            json!({"token": "unknown", "new_password": password}),
            "the invitation token is invalid, used or expired",
        ),
        (
            "/api/v1/auth/email-change-confirm",
            json!({"token": "unknown"}),
            "the confirmation link is invalid, used, expired or replaced by a newer change",
        ),
        (
            "/api/v1/auth/email-change-cancel",
            json!({"token": "unknown"}),
            "the cancellation link is invalid, used or expired",
        ),
    ] {
        let answer = app
            .post(path)
            .header("accept-language", "de")
            .json(body)
            .send()
            .await;
        let problem = api_detail(&answer, 400, detail);
        assert_eq!(
            problem["type"], "urn:roster:problem:invalid-token",
            "{path}"
        );
    }
}
