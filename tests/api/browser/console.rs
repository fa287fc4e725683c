//! The web console in a real browser, as a newcomer uses it: signs up, confirms the
//! address from the mail, sets job-matching preferences through the form generated from
//! the configured schema, turns on an authenticator app, signs out and back in with it;
//! then an administrator finds the account and deactivates it, and the user's open page
//! is sent to the sign-in page. Every page on the way is checked with axe-core, and the
//! README's screenshots are taken here (`ROSTER_SCREENSHOTS=docs/screenshots`).

use serde_json::json;

use super::Chromium;
use crate::helpers::{Backend, TestApp};
use crate::mail::smtp_sink::{Mode, SmtpSink};
use crate::mail::support::VERIFY;
use crate::mfa::code_at;
use crate::on_both_engines;

on_both_engines!(a_newcomer_manages_their_account_and_an_administrator_deactivates_it);

const USERNAME: &str = "maria.lopez";
const EMAIL: &str = "maria@example.com";
const PASSWORD: &str = "Correct-Horse-Battery-7";

async fn sign_in(chromium: &Chromium, base: &str, login: &str, password: &str) {
    chromium.wait_for_url(&format!("{base}/login")).await;
    chromium.submit_sign_in(login, password).await;
}

async fn a_newcomer_manages_their_account_and_an_administrator_deactivates_it(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let (app, base) = TestApp::builder(backend)
        .env("SMTP_URL", sink.url())
        .env("MAIL_POLL_MILLIS", "50")
        .env("PREFERENCES_SCHEMA", "schemas/job_matching.json")
        .start_served_as("localhost")
        .await;
    let user = Chromium::start().await;

    // Sign up.
    user.goto(&format!("{base}/account/signup")).await;
    user.find("username").await;
    user.assert_accessible("the sign-up page").await;
    user.screenshot("sign-up").await;
    user.fill("username", USERNAME).await;
    user.fill("email", EMAIL).await;
    user.fill("full_name", "María López").await;
    user.fill("password", PASSWORD).await;
    user.fill("confirm_password", PASSWORD).await;
    user.press("Create the account").await;
    user.wait_for_text(EMAIL).await;

    // Confirm the address from the mail.
    let mail = &sink.wait_for(EMAIL, VERIFY, 1).await[0];
    let link = mail
        .links()
        .into_iter()
        .find(|l| l.contains("/verify-email?token="))
        .expect("a verification link");
    user.goto(&link).await;
    user.wait_for_text("confirmed").await;

    // Sign in to the account pages.
    user.goto(&format!("{base}/account")).await;
    sign_in(&user, &base, USERNAME, PASSWORD).await;
    user.wait_for_url(&format!("{base}/account")).await;
    user.find("content").await;
    user.assert_accessible("the account overview").await;
    user.screenshot("account").await;

    // Preferences through the form the job-matching schema generates.
    user.goto(&format!("{base}/account/preferences")).await;
    user.fill(
        "pref-desired_titles",
        "Rust developer\nSite reliability engineer",
    )
    .await;
    user.choose("pref-remote", "only").await;
    user.fill("pref-min_salary", "65000").await;
    user.assert_accessible("the preferences form").await;
    user.client
        .execute(
            "document.activeElement.blur(); window.scrollTo(0, 0);",
            vec![],
        )
        .await
        .expect("scrolled up");
    user.screenshot("preferences").await;
    user.press("Save preferences").await;
    user.wait_for_url(&format!("{base}/account/preferences?done="))
        .await;
    let session = app.login(USERNAME, PASSWORD).await;
    let saved = app
        .get("/api/v1/users/me/preferences")
        .bearer(&session.access_token)
        .send()
        .await
        .json();
    assert_eq!(
        saved["desired_titles"],
        json!(["Rust developer", "Site reliability engineer"])
    );
    assert_eq!(saved["remote"], "only");
    assert_eq!(saved["min_salary"], 65000);

    // An authenticator app.
    user.goto(&format!("{base}/account/security")).await;
    user.assert_accessible("the security page").await;
    user.press("Set up an authenticator app").await;
    let secret = user.text_of("code.secret").await.replace(' ', "");
    user.client
        .execute(
            "document.querySelector('code.secret').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await
        .expect("scrolled to the key");
    user.screenshot("security-totp").await;
    user.fill("totp_code", &code_at(&app, &secret, 0)).await;
    user.press("Finish setting up").await;
    // The ten recovery codes, shown this once.
    user.find("codes-heading").await;
    let codes = user
        .client
        .find_all(fantoccini::Locator::Css("ul.codes li"))
        .await
        .expect("the codes");
    assert_eq!(codes.len(), 10);
    user.assert_accessible("the recovery codes").await;

    // Sign out, and back in with the password and a code.
    user.press("Sign out").await;
    // The sign-out page, before going on: leaving earlier can cancel the post.
    user.wait_for_text("You are signed out").await;
    user.goto(&format!("{base}/account")).await;
    sign_in(&user, &base, USERNAME, PASSWORD).await;
    user.find("code").await;
    app.clock.advance(chrono::Duration::seconds(30));
    user.fill("code", &code_at(&app, &secret, 0)).await;
    user.press("Verify").await;
    user.wait_for_url(&format!("{base}/account")).await;
    user.find("content").await;

    // An administrator finds the account and deactivates it.
    let admin_session = app.admin().await;
    let admin = Chromium::start().await;
    admin.goto(&format!("{base}/admin")).await;
    sign_in(
        &admin,
        &base,
        &admin_session.username,
        &admin_session.password,
    )
    .await;
    admin.wait_for_url(&format!("{base}/admin")).await;
    admin.fill("q", "maria").await;
    admin.press("Search").await;
    admin.wait_for_url(&format!("{base}/admin/users?")).await;
    admin.wait_for_text(USERNAME).await;
    admin.assert_accessible("the user search").await;
    admin.screenshot("admin-users").await;
    admin.follow_link(USERNAME).await;
    admin.find("danger").await;
    admin.assert_accessible("an account's admin page").await;
    admin.screenshot("admin-user").await;
    admin
        .client
        .find(fantoccini::Locator::Id("confirm"))
        .await
        .expect("the confirmation box")
        .click()
        .await
        .expect("ticked");
    admin.press("Deactivate the account").await;
    admin.wait_for_url(&format!("{base}/admin/users/")).await;
    admin.wait_for_text("Reactivate the account").await;

    // The user's open page notices: it goes to the sign-in page by itself.
    let gone = user.wait_for_url(&format!("{base}/login?return_to=")).await;
    assert!(gone.as_str().contains("return_to=%2Faccount"), "{gone}");
    let refused = app
        .get("/api/v1/users/me")
        .bearer(&session.access_token)
        .send()
        .await;
    assert_eq!(refused.status, 401);
    user.close().await;
    admin.close().await;
}
