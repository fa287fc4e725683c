//! Every task of the console on a phone (390×844), as a newcomer does it: signs up,
//! confirms the address from the mail, signs in, sets up an authenticator app, signs out
//! another device, withdraws an application's access; then an administrator, on a phone
//! too, deactivates the account from its danger zone, and follows a link to an account
//! that is not there. After every step the page is no
//! wider than the window, axe-core finds nothing serious, no time is shown raw (as
//! RFC 3339), and what the step did is checked through the API as well as on the page.

use serde_json::{Value, json};

use super::Chromium;
use crate::console::signed_in;
use crate::helpers::{Backend, Session, TestApp};
use crate::mail::smtp_sink::{Mode, SmtpSink};
use crate::mail::support::VERIFY;
use crate::mfa::{code_at, mfa_token};
use crate::oidc::{confidential_client, introspect, sign_in_through};
use crate::on_both_engines;

on_both_engines!(a_newcomer_does_every_task_on_a_phone);

/// A phone's window, in CSS pixels.
const PHONE: (u32, u32) = (390, 844);

const USERNAME: &str = "maria.lopez";
const EMAIL: &str = "maria@example.com";
const PASSWORD: &str = "Correct-Horse-Battery-7";

/// The other device, signed in through the JSON API.
const FIREFOX_ON_ANDROID: &str =
    "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0";
/// A script of hers, signed in through the JSON API too.
const CURL: &str = "curl/8.5.0";

/// Shapes of a time as the API writes it (`d` a digit), which a page never shows.
const RAW_TIMES: [&str; 6] = [
    "dddd-dd-ddTdd:dd",
    "dddd-dd-dd dd:dd",
    "dd:dd:ddZ",
    "dd:dd:dd.d",
    "dd:dd:dd+dd:dd",
    "dd:dd:dd-dd:dd",
];

/// The first time in `text` written as the API writes it, if any.
fn raw_time(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    (0..bytes.len()).find_map(|start| {
        RAW_TIMES.iter().find_map(|shape| {
            let shape = shape.as_bytes();
            let candidate = bytes.get(start..start + shape.len())?;
            let fits = shape.iter().zip(candidate).all(|(s, b)| match s {
                b'd' => b.is_ascii_digit(),
                _ => s == b,
            });
            // Every byte matched is ASCII, so both ends are character boundaries.
            fits.then(|| &text[start..start + shape.len()])
        })
    })
}

#[test]
fn raw_times_are_found_and_readable_ones_are_not() {
    assert_eq!(
        raw_time("Signed in 2026-12-07T05:05:05.318Z"),
        Some("2026-12-07T05:05")
    );
    assert_eq!(raw_time("at 05:05:05+01:00"), Some("05:05:05+01:00"));
    assert_eq!(
        raw_time("Signed in Dec 7, 2026, 6:02 PM, 3 minutes ago"),
        None
    );
    assert_eq!(raw_time("7. Dez. 2026, 05:05 UTC"), None);
}

/// A browser with a phone's window.
async fn phone() -> Chromium {
    let chromium = Chromium::start().await;
    chromium.set_window(PHONE.0, PHONE.1).await;
    chromium
}

/// What every step's page must be, `step` naming it: no wider than the phone, no time of
/// day broken over two lines, nothing serious for axe-core, no time written as the API
/// writes it. Answers the page's text.
async fn check_step(chromium: &Chromium, step: &str) -> String {
    let (needed, window) = chromium.widths().await;
    assert_eq!(
        window,
        u64::from(PHONE.0),
        "{step}: the window is not a phone's"
    );
    assert!(
        needed <= window,
        "{step}: the page needs {needed} px of a {window} px window; reaching past it: {}",
        chromium.overflowing().await
    );
    let broken = chromium.broken_times().await;
    assert!(
        broken.is_empty(),
        "{step}: times of day broken over two lines: {broken:?}"
    );
    chromium.assert_accessible(step).await;
    let text = chromium.page_text().await;
    if let Some(raw) = raw_time(&text) {
        panic!("{step}: the page shows the time {raw:?} as the API writes it:\n{text}");
    }
    text
}

/// Signs in on the sign-in page the browser was sent to.
async fn sign_in(chromium: &Chromium, base: &str, login: &str, password: &str) {
    chromium.wait_for_url(&format!("{base}/login")).await;
    check_step(chromium, "the sign-in page").await;
    chromium.submit_sign_in(login, password).await;
}

/// A JSON API login from a device that says it is `user_agent`.
async fn login_as(app: &TestApp, user_agent: &str) -> Session {
    let response = app
        .post("/api/v1/auth/login")
        .header("user-agent", user_agent)
        .json(json!({"login": USERNAME, "password": PASSWORD}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    Session::from_pair(&response.json(), USERNAME, PASSWORD)
}

/// What `GET /api/v1/users/me` says with `session`'s access token.
async fn me(app: &TestApp, session: &Session) -> Value {
    let response = app
        .get("/api/v1/users/me")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.json()
}

async fn a_newcomer_does_every_task_on_a_phone(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let (app, base) = TestApp::builder(backend)
        .env("SMTP_URL", sink.url())
        .env("MAIL_POLL_MILLIS", "50")
        .start_served_as("localhost")
        .await;
    let admin_session = app.admin().await;
    let client = confidential_client(&app, &admin_session, false).await;
    let user = phone().await;

    // Sign up.
    user.goto(&format!("{base}/account/signup")).await;
    user.find("username").await;
    check_step(&user, "the sign-up page").await;
    user.fill("username", USERNAME).await;
    user.fill("email", EMAIL).await;
    user.fill("full_name", "María López").await;
    user.fill("password", PASSWORD).await;
    user.fill("confirm_password", PASSWORD).await;
    user.press("Create the account").await;
    user.wait_for_text(EMAIL).await;
    check_step(&user, "the sign-up's answer").await;

    // Confirm the address from the mail.
    let mail = &sink.wait_for(EMAIL, VERIFY, 1).await[0];
    let link = mail
        .links()
        .into_iter()
        .find(|l| l.contains("/verify-email?token="))
        .expect("a verification link");
    user.goto(&link).await;
    user.wait_for_text("confirmed").await;
    check_step(&user, "the confirmation page").await;
    // Her phone's app and a script of hers sign in through the API; an application she
    // allows gets tokens of its own.
    let other_device = login_as(&app, FIREFOX_ON_ANDROID).await;
    let script = login_as(&app, CURL).await;
    assert_eq!(me(&app, &script).await["email_verified"], true);
    let application = sign_in_through(
        &app,
        &client,
        &script,
        "openid profile email offline_access",
    )
    .await;

    // Sign in to the account pages.
    user.goto(&format!("{base}/account")).await;
    sign_in(&user, &base, USERNAME, PASSWORD).await;
    user.wait_for_url(&format!("{base}/account")).await;
    user.find("content").await;
    check_step(&user, "the account overview").await;

    // An authenticator app.
    user.goto(&format!("{base}/account/security")).await;
    user.find("factors-heading").await;
    check_step(&user, "the security page").await;
    user.press("Set up an authenticator app").await;
    let secret = user.text_of("code.secret").await.replace(' ', "");
    check_step(&user, "the authenticator app's key").await;
    user.fill("totp_code", &code_at(&app, &secret, 0)).await;
    user.press("Finish setting up").await;
    user.find("codes-heading").await;
    check_step(&user, "the recovery codes").await;
    // A password alone no longer signs her in through the API.
    mfa_token(&app, &script).await;

    // Sign out the other device.
    user.goto(&format!("{base}/account/sessions")).await;
    let sessions = user.wait_for_text("Firefox on Android").await;
    assert!(sessions.contains("An application (curl)"), "{sessions}");
    check_step(&user, "the sessions page").await;
    user.client
        .find(fantoccini::Locator::XPath(
            "//tr[td[contains(., 'Firefox on Android')]]//button",
        ))
        .await
        .expect("the other device's sign-out button")
        .click()
        .await
        .expect("the click");
    user.wait_for_url(&format!("{base}/account/sessions?done=signed-out"))
        .await;
    let sessions = check_step(&user, "the sessions page, one signed out").await;
    assert!(
        sessions.contains("That session was signed out"),
        "{sessions}"
    );
    assert!(!sessions.contains("Firefox on Android"), "{sessions}");
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": other_device.refresh_token}))
        .send()
        .await
        .problem(400);

    // Withdraw the application's access.
    user.goto(&format!("{base}/account/applications")).await;
    user.wait_for_text("Study Spots").await;
    check_step(&user, "the applications page").await;
    user.press("Withdraw access").await;
    user.wait_for_text("Access withdrawn").await;
    let applications = check_step(&user, "the applications page, one withdrawn").await;
    assert!(!applications.contains("Study Spots"), "{applications}");
    let grants = app
        .get("/api/v1/users/me/grants")
        .bearer(&script.access_token)
        .send()
        .await
        .json();
    assert_eq!(grants["items"], json!([]));
    for token in ["access_token", "refresh_token"] {
        let token = application[token].as_str().expect("a token");
        assert_eq!(introspect(&app, &client, token).await["active"], false);
    }

    // An administrator, on a phone too, finds the account and deactivates it.
    let admin = phone().await;
    admin.goto(&format!("{base}/admin")).await;
    sign_in(
        &admin,
        &base,
        &admin_session.username,
        &admin_session.password,
    )
    .await;
    admin.wait_for_url(&format!("{base}/admin")).await;
    admin.find("content").await;
    check_step(&admin, "the administration's start").await;
    admin.fill("q", "maria").await;
    admin.press("Search").await;
    admin.wait_for_url(&format!("{base}/admin/users?")).await;
    admin.wait_for_text(USERNAME).await;
    check_step(&admin, "the user search").await;
    admin.follow_link(USERNAME).await;
    admin.find("danger").await;
    check_step(&admin, "the account's page").await;
    admin
        .client
        .find(fantoccini::Locator::Id("confirm"))
        .await
        .expect("the confirmation box")
        .click()
        .await
        .expect("ticked");
    admin.press("Deactivate the account").await;
    admin.wait_for_text("Reactivate the account").await;
    check_step(&admin, "the account's page, deactivated").await;
    let status = admin.find("account-status").await.text().await;
    assert_eq!(status.expect("its text"), "Deactivated");
    let refused = app
        .post("/api/v1/auth/login")
        .json(json!({"login": USERNAME, "password": PASSWORD}))
        .send()
        .await;
    let problem = refused.problem(401);
    assert_ne!(problem["type"], "urn:roster:problem:mfa-required");
    app.get("/api/v1/users/me")
        .bearer(&script.access_token)
        .send()
        .await
        .problem(401);

    // A link to an account that is not there (deleted meanwhile): a 404 page that says
    // so, in the console's frame, as every other refusal is.
    let gone = format!("/admin/users/{}", uuid::Uuid::new_v4());
    admin.goto(&format!("{base}{gone}")).await;
    admin.wait_for_text("There is no such account.").await;
    check_step(&admin, "an account that is not there").await;
    admin
        .client
        .find(fantoccini::Locator::Css("header.console-header nav"))
        .await
        .expect("the console's frame, with its sections");
    let page = signed_in(&app, &admin_session).await.get(&gone).await;
    assert_eq!(page.status, 404, "{}", page.text);
    assert!(page.text.contains("<header class=\"console-header\">"));
    user.close().await;
    admin.close().await;
}
