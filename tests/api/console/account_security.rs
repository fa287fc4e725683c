//! The security page (`/account/security`): each form does what its JSON endpoint does
//! (checked through the API) and shows a refusal next to the field it names. The
//! sessions, applications and achievements pages, and the CSRF check of every form of
//! these four pages, are in [`pages`].

mod pages;

use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp, TestResponse};
use crate::mfa::{fresh_code, mfa_token};
use crate::on_both_engines;

use super::{set_up_totp_answering, signed_in, submit};

on_both_engines!(
    a_password_change_on_the_page_keeps_this_browser_and_signs_out_the_rest,
    a_wrong_current_password_is_shown_and_counts_toward_the_lockout,
    totp_is_set_up_on_the_page_and_then_asked_at_sign_in,
    second_factor_changes_need_a_recent_sign_in,
    recovery_codes_are_shown_once,
    the_passkey_endpoints_check_the_form_and_the_credential,
);

const NEW_PASSWORD: &str = "Fresh-Lantern-Orbit-42";
const SECURITY: &str = "/account/security";

/// The text of the first `<code class="CLASS">` of a page.
pub(super) fn code_of(page: &TestResponse, class: &str) -> String {
    let marker = format!("<code class=\"{class}\">");
    let start = page.text.find(&marker).expect(&marker) + marker.len();
    let end = page.text[start..].find("</code>").unwrap() + start;
    page.text[start..end].to_owned()
}

/// The recovery codes a page shows.
pub(super) fn recovery_codes(page: &TestResponse) -> Vec<String> {
    page.text
        .split("<li><code>")
        .skip(1)
        .map(|rest| rest[..rest.find("</code>").unwrap()].to_owned())
        .collect()
}

pub(super) async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/auth/me")
        .bearer(token)
        .send()
        .await
        .status
        .as_u16()
}

async fn a_password_change_on_the_page_keeps_this_browser_and_signs_out_the_rest(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get(SECURITY).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");

    // The API's policy, with its message, next to the field; nothing changes.
    let weak = submit(
        &mut browser,
        &page,
        "/account/security/password",
        &[
            ("current_password", DEFAULT_PASSWORD),
            ("new_password", "short"),
            ("confirm_password", "short"),
        ],
    )
    .await;
    assert_eq!(weak.status, 422, "{}", weak.text);
    assert!(
        weak.text.contains("id=\"new_password-error\""),
        "{}",
        weak.text
    );
    assert!(
        weak.text
            .contains("aria-invalid=\"true\" aria-describedby=\"new_password-error")
    );
    assert_eq!(me_status(&app, &user.access_token).await, 200);

    let changed = submit(
        &mut browser,
        &page,
        "/account/security/password",
        &[
            ("current_password", DEFAULT_PASSWORD),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(changed.status, 303, "{}", changed.text);
    assert_eq!(
        changed.header("location"),
        Some("/account/security?done=password-changed")
    );
    let after = browser.follow(&changed).await;
    assert_eq!(after.status, 200);
    assert!(after.text.contains("Your password was changed"));
    // The API session of before is gone; the new password logs in, the old one not.
    assert_eq!(me_status(&app, &user.access_token).await, 401);
    app.login(&user.username, NEW_PASSWORD).await;
    let old = app
        .post("/api/v1/auth/login")
        .json(json!({"login": user.username, "password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(old.status, 401);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'password_change'")
            .await,
        1
    );
}

async fn a_wrong_current_password_is_shown_and_counts_toward_the_lockout(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get(SECURITY).await;
    let fields = [
        ("current_password", "Not-The-Password-1"),
        ("new_password", NEW_PASSWORD),
        ("confirm_password", NEW_PASSWORD),
    ];
    let wrong = submit(&mut browser, &page, "/account/security/password", &fields).await;
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    assert!(
        wrong.text.contains("Your current password is not correct."),
        "{}",
        wrong.text
    );
    assert!(
        wrong
            .text
            .contains("aria-describedby=\"current_password-error\"")
    );
    for _ in 0..4 {
        submit(&mut browser, &page, "/account/security/password", &fields).await;
    }
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_events WHERE event = 'password_confirmation_failure'"
        )
        .await,
        5
    );
    // Locked: the right password is refused too, on the page and through the API.
    let right = [
        ("current_password", DEFAULT_PASSWORD),
        ("new_password", NEW_PASSWORD),
        ("confirm_password", NEW_PASSWORD),
    ];
    let locked = submit(&mut browser, &page, "/account/security/password", &right).await;
    assert_eq!(locked.status, 429, "{}", locked.text);
    assert!(locked.header("retry-after").is_some());
    app.post("/api/v1/auth/change-password")
        .bearer(&user.access_token)
        .json(json!({"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .problem(429);
}

/// Sets up TOTP on the security page: the secret and the recovery codes shown.
async fn set_up_totp(
    app: &TestApp,
    browser: &mut crate::oidc::Browser<'_>,
) -> (String, Vec<String>) {
    let page = browser.get(SECURITY).await;
    let started = submit(browser, &page, "/account/security/totp", &[]).await;
    assert_eq!(started.status, 200, "{}", started.text);
    let secret = code_of(&started, "secret");
    assert!(code_of(&started, "uri").starts_with("otpauth:"));
    assert!(
        started.text.contains("<svg role=\"img\""),
        "an inline QR code"
    );
    let confirmed = submit(
        browser,
        &started,
        "/account/security/totp/confirm",
        &[("code", &fresh_code(app, &secret))],
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let codes = recovery_codes(&confirmed);
    assert_eq!(codes.len(), 10, "{}", confirmed.text);
    (secret, codes)
}

async fn totp_is_set_up_on_the_page_and_then_asked_at_sign_in(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get(SECURITY).await;
    // A wrong code: said next to the field, the same set-up shown again.
    let (started, wrong) = set_up_totp_answering(&mut browser, &page, "000000").await;
    let secret = code_of(&started, "secret");
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    assert!(
        wrong
            .text
            .contains("The code is not the authenticator&#x27;s current code."),
        "{}",
        wrong.text
    );
    assert_eq!(code_of(&wrong, "secret"), secret);
    let status = app
        .get("/api/v1/auth/mfa")
        .bearer(&user.access_token)
        .send()
        .await
        .json();
    assert_eq!(status["totp"], false);

    let confirmed = submit(
        &mut browser,
        &started,
        "/account/security/totp/confirm",
        &[("code", &fresh_code(&app, &secret))],
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    assert_eq!(recovery_codes(&confirmed).len(), 10);
    let status = app
        .get("/api/v1/auth/mfa")
        .bearer(&user.access_token)
        .send()
        .await
        .json();
    assert_eq!(status["totp"], true, "{status}");
    assert_eq!(status["recovery_codes_left"], 10);
    // Signing in now asks for the second factor.
    mfa_token(&app, &user).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'mfa_totp_added'")
            .await,
        1
    );
    // And it can be removed on the page.
    let page = browser.get(SECURITY).await;
    let removed = submit(&mut browser, &page, "/account/security/totp/remove", &[]).await;
    assert_eq!(
        removed.header("location"),
        Some("/account/security?done=totp-removed")
    );
    let status = app
        .get("/api/v1/auth/mfa")
        .bearer(&user.access_token)
        .send()
        .await
        .json();
    assert_eq!(status["totp"], false);
    assert_eq!(status["recovery_codes_left"], 0);
}

async fn second_factor_changes_need_a_recent_sign_in(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    app.clock.advance(chrono::Duration::minutes(11));
    let page = browser.get(SECURITY).await;
    assert!(page.text.contains("id=\"reauth-form\""), "{}", page.text);
    assert!(!page.text.contains("action=\"/account/security/totp\""));
    let refused = submit(&mut browser, &page, "/account/security/totp", &[]).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.text.contains("Nothing was changed."));
    assert_eq!(app.count("SELECT COUNT(*) FROM mfa_totp").await, 0);

    let wrong = submit(
        &mut browser,
        &page,
        "/account/security/reauthenticate",
        &[("password", "Not-The-Password-1")],
    )
    .await;
    assert_eq!(wrong.status, 400);
    assert!(
        wrong.text.contains("Your password is not correct."),
        "{}",
        wrong.text
    );
    let again = submit(
        &mut browser,
        &page,
        "/account/security/reauthenticate",
        &[("password", DEFAULT_PASSWORD)],
    )
    .await;
    assert_eq!(again.status, 303, "{}", again.text);
    assert_eq!(
        again.header("location"),
        Some("/account/security?done=reauthenticated")
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE event = 'reauthenticated'")
            .await,
        1
    );
    let (secret, _) = set_up_totp(&app, &mut browser).await;

    // Later, with a second factor: the password alone is not enough.
    app.clock.advance(chrono::Duration::minutes(11));
    let page = browser.get(SECURITY).await;
    assert!(page.text.contains("name=\"code\""));
    let no_code = submit(
        &mut browser,
        &page,
        "/account/security/reauthenticate",
        &[("password", DEFAULT_PASSWORD)],
    )
    .await;
    assert_eq!(no_code.status, 422, "{}", no_code.text);
    assert!(no_code.text.contains("id=\"code-error\""));
    let with_code = submit(
        &mut browser,
        &page,
        "/account/security/reauthenticate",
        &[
            ("password", DEFAULT_PASSWORD),
            ("code", &fresh_code(&app, &secret)),
        ],
    )
    .await;
    assert_eq!(with_code.status, 303, "{}", with_code.text);
    let page = browser.get(SECURITY).await;
    assert!(
        page.text
            .contains("action=\"/account/security/totp/remove\"")
    );
}

async fn recovery_codes_are_shown_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get(SECURITY).await;
    let none = submit(&mut browser, &page, "/account/security/recovery-codes", &[]).await;
    assert_eq!(none.status, 409, "{}", none.text);
    let (_, first) = set_up_totp(&app, &mut browser).await;
    // Not on the page again.
    let page = browser.get(SECURITY).await;
    assert!(recovery_codes(&page).is_empty());
    assert!(!page.text.contains(&first[0]));
    let renewed = submit(&mut browser, &page, "/account/security/recovery-codes", &[]).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let second = recovery_codes(&renewed);
    assert_eq!(second.len(), 10);
    assert!(second.iter().all(|code| !first.contains(code)));
    assert!(renewed.text.contains("the earlier ones no longer work"));
    assert!(recovery_codes(&browser.get(SECURITY).await).is_empty());
    // The first set no longer signs in; the second does.
    let token = mfa_token(&app, &user).await;
    let old = app
        .post("/api/v1/auth/mfa/verify")
        .json(json!({"mfa_token": token, "recovery_code": first[0]}))
        .send()
        .await;
    assert_eq!(old.status, 400, "{}", old.text);
    let new = app
        .post("/api/v1/auth/mfa/verify")
        .json(json!({"mfa_token": token, "recovery_code": second[0]}))
        .send()
        .await;
    assert_eq!(new.status, 200, "{}", new.text);
}

async fn the_passkey_endpoints_check_the_form_and_the_credential(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.user().await;
    let mut browser = signed_in(&app, &user).await;
    let page = browser.get(SECURITY).await;
    assert!(page.text.contains(
        "<script src=\"/assets/webauthn.js\" defer></script><script src=\"/assets/passkey-register.js\""
    ));
    let script = app.get("/assets/passkey-register.js").send().await;
    assert_eq!(script.status, 200);
    assert!(
        script
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.text.contains("navigator.credentials.create"));
    let helpers = app.get("/assets/webauthn.js").send().await;
    assert!(helpers.text.contains("parseCreationOptionsFromJSON"));

    let options = submit(
        &mut browser,
        &page,
        "/account/security/passkey-options",
        &[("purpose", "register")],
    )
    .await;
    assert_eq!(options.status, 200, "{}", options.text);
    let options = options.json();
    let challenge_id = options["challenge_id"].as_str().unwrap().to_owned();
    assert_eq!(options["publicKey"]["user"]["name"], user.username.as_str());
    // No passkey yet: nothing to re-authenticate with.
    let reauth = submit(
        &mut browser,
        &page,
        "/account/security/passkey-options",
        &[("purpose", "reauthenticate")],
    )
    .await;
    assert_eq!(reauth.status, 409, "{}", reauth.text);

    let nameless = submit(
        &mut browser,
        &page,
        "/account/security/passkeys",
        &[
            ("name", " "),
            ("challenge_id", &challenge_id),
            ("credential", "{}"),
        ],
    )
    .await;
    assert_eq!(nameless.status, 422, "{}", nameless.text);
    assert!(nameless.text.contains("id=\"name-error\""));
    let bad = submit(
        &mut browser,
        &page,
        "/account/security/passkeys",
        &[
            ("name", "Laptop"),
            ("challenge_id", &challenge_id),
            ("credential", "{\"id\": 1}"),
        ],
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(
        bad.text
            .contains("The passkey&#x27;s answer is not a WebAuthn response"),
        "{}",
        bad.text
    );
    assert!(bad.text.contains("value=\"Laptop\""));
    let status = app
        .get("/api/v1/auth/mfa")
        .bearer(&user.access_token)
        .send()
        .await
        .json();
    assert_eq!(status["passkeys"], json!([]));

    // Not recent: no ceremony is begun.
    app.clock.advance(chrono::Duration::minutes(11));
    let stale = submit(
        &mut browser,
        &page,
        "/account/security/passkey-options",
        &[("purpose", "register")],
    )
    .await;
    assert_eq!(stale.status, 403);
    assert_eq!(
        stale.json()["type"],
        "urn:roster:problem:reauthentication-required"
    );
}
