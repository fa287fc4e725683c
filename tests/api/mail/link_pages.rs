//! The links in Roster's mails open pages of Roster's own (they used to land on a 404):
//! verification, the reset form, and the email-change confirmation and cancellation,
//! each with the pages' hardening (CSP, no framing, no caching, no referrer to other sites, CSRF).

use serde_json::json;

use crate::helpers::{Backend, DEFAULT_PASSWORD, TestApp, TestResponse};
use crate::mail::smtp_sink::{Mode, SmtpSink};
use crate::mail::support::{RESET, VERIFY, email_of, mail_app, request_reset};
use crate::on_both_engines;
use crate::users::support::get_ok;

on_both_engines!(
    the_verification_link_opens_a_page_that_verifies_the_address,
    the_reset_link_opens_a_form_that_sets_the_new_password,
    the_email_change_links_confirm_and_cancel_on_pages,
);

/// Asserts an HTML page with the pages' security headers and `status`.
#[track_caller]
pub(crate) fn assert_page(response: &TestResponse, status: u16) {
    assert_eq!(response.status.as_u16(), status, "{}", response.text);
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = response.header("content-security-policy").expect("a CSP");
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(response.header("x-frame-options"), Some("DENY"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    // Same-origin, not no-referrer: the latter makes browsers post `Origin: null`.
    assert_eq!(response.header("referrer-policy"), Some("same-origin"));
    assert!(
        response.text.starts_with("<!DOCTYPE html>"),
        "{}",
        response.text
    );
    assert!(!response.text.contains("<script"), "{}", response.text);
}

/// The hidden CSRF field's value and the cookie that goes with it.
pub(crate) fn form_credentials(page: &TestResponse) -> (String, String) {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.text.find(marker).expect("a CSRF field") + marker.len();
    let value = page.text[start..].split('"').next().unwrap().to_owned();
    let cookie = page
        .header("set-cookie")
        .expect("a CSRF cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("roster-csrf="), "{cookie}");
    let set = page.header("set-cookie").unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    (value, cookie)
}

pub(crate) fn post_form(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> crate::helpers::RequestBuilder {
    let request = app.post(path).form(fields);
    match cookie {
        Some(cookie) => request.header("cookie", cookie),
        None => request,
    }
}

async fn the_verification_link_opens_a_page_that_verifies_the_address(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let mail = &sink.wait_for(&email_of(&session), VERIFY, 1).await[0];
    let link = mail
        .links()
        .into_iter()
        .find(|l| l.contains("/verify-email?token="))
        .expect("a verification link");
    let path = link.trim_start_matches("http://roster.test");
    let page = app.get(path).send().await;
    assert_page(&page, 200);
    assert!(
        page.text.contains("Your email address is confirmed"),
        "{}",
        page.text
    );
    // On to the account, not a dead end.
    assert_leads_to(&page, "/account", "Go to your account");
    assert!(!page.text.contains("close this page"));
    let me = get_ok(&app, "/api/v1/users/me", &session.access_token).await;
    assert_eq!(me["email_verified"], true);
    // The link works once; a page says so.
    let again = app.get(path).send().await;
    assert_page(&again, 400);
    assert!(
        again
            .text
            .contains("invalid, was already used or has expired")
    );
    // The way to a new mail: the profile page's "send it again".
    assert_leads_to(&again, "/account/profile", "Send a new verification email");
    assert_page(&app.get("/verify-email").send().await, 400);
}

async fn the_reset_link_opens_a_form_that_sets_the_new_password(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let email = email_of(&session);
    request_reset(&app, &email).await;
    let token = sink.wait_for(&email, RESET, 1).await[0].token();
    let form = app
        .get(&format!("/reset-password?token={token}"))
        .send()
        .await;
    assert_page(&form, 200);
    assert!(
        form.text.contains("<label for=\"new_password\">"),
        "{}",
        form.text
    );
    assert!(form.text.contains(&session.username));
    let (csrf, cookie) = form_credentials(&form);
    let new_password = "Lantern-Orbit-51";
    let fields =
        |password: &'static str, again: &'static str, csrf: &str| -> Vec<(String, String)> {
            vec![
                ("token".into(), token.clone()),
                ("csrf_token".into(), csrf.to_owned()),
                ("new_password".into(), password.into()),
                ("confirm_password".into(), again.into()),
            ]
        };
    let send =
        |cookie: Option<String>, fields: Vec<(String, String)>, origin: Option<&'static str>| {
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let mut request = post_form(&app, "/reset-password", cookie.as_deref(), &pairs);
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            request.send()
        };
    // Forged: no cookie, a wrong token, or another site's origin.
    assert_page(
        &send(
            None,
            fields("Lantern-Orbit-51", "Lantern-Orbit-51", &csrf),
            None,
        )
        .await,
        403,
    );
    assert_page(
        &send(
            Some(cookie.clone()),
            fields("Lantern-Orbit-51", "Lantern-Orbit-51", "forged"),
            None,
        )
        .await,
        403,
    );
    assert_page(
        &send(
            Some(cookie.clone()),
            fields("Lantern-Orbit-51", "Lantern-Orbit-51", &csrf),
            Some("https://evil.example"),
        )
        .await,
        403,
    );
    // Mistakes come back on the form.
    let mismatch = send(
        Some(cookie.clone()),
        fields("Lantern-Orbit-51", "Lantern-Orbit-52", &csrf),
        None,
    )
    .await;
    assert_page(&mismatch, 422);
    assert!(mismatch.text.contains("not the same"), "{}", mismatch.text);
    let weak = send(
        Some(cookie.clone()),
        fields("password", "password", &csrf),
        None,
    )
    .await;
    assert_page(&weak, 422);
    assert!(weak.text.contains("role=\"alert\""), "{}", weak.text);
    // The password is still the old one, and the link still works.
    app.login(&session.username, DEFAULT_PASSWORD).await;
    let done = send(
        Some(cookie.clone()),
        fields("Lantern-Orbit-51", "Lantern-Orbit-51", &csrf),
        Some("http://roster.test"),
    )
    .await;
    assert_page(&done, 200);
    assert!(
        done.text.contains("Your new password is set"),
        "{}",
        done.text
    );
    assert_leads_to(&done, "/account", "Sign in");
    app.login(&session.username, new_password).await;
    app.get("/api/v1/auth/me")
        .bearer(&session.access_token)
        .send()
        .await
        .problem(401);
    assert_page(
        &send(
            Some(cookie),
            fields("Lantern-Orbit-53", "Lantern-Orbit-53", &csrf),
            None,
        )
        .await,
        400,
    );
    let used = app
        .get(&format!("/reset-password?token={token}"))
        .send()
        .await;
    assert_page(&used, 400);
    assert_leads_to(
        &used,
        "/account/forgot-password",
        "Send a new password reset email",
    );
}

async fn the_email_change_links_confirm_and_cancel_on_pages(backend: Backend) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = mail_app(backend, &sink).await;
    let session = app.user().await;
    let old = email_of(&session);
    let changed = app
        .patch("/api/v1/users/me")
        .bearer(&session.access_token)
        .json(json!({"email": "moved@elsewhere.example", "current_password": DEFAULT_PASSWORD}))
        .send()
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let confirm = sink
        .wait_for(
            "moved@elsewhere.example",
            "Confirm your new email address",
            1,
        )
        .await[0]
        .token();
    let cancel = sink
        .wait_for(&old, "Your Roster address is being changed", 1)
        .await[0]
        .token();
    let page = app
        .get(&format!("/confirm-email-change?token={confirm}"))
        .send()
        .await;
    assert_page(&page, 200);
    assert!(
        page.text
            .contains("moved@elsewhere.example is now the address"),
        "{}",
        page.text
    );
    assert_leads_to(&page, "/account", "Go to your account");
    let used = app
        .get(&format!("/confirm-email-change?token={confirm}"))
        .send()
        .await;
    assert_page(&used, 400);
    assert_leads_to(&used, "/account/profile", "Change the address again");

    // Opening the cancel link (as a mail scanner would) changes nothing by itself.
    let form = app
        .get(&format!("/cancel-email-change?token={cancel}"))
        .send()
        .await;
    assert_page(&form, 200);
    let me = get_ok(&app, "/api/v1/users/me", &session.access_token).await;
    assert_eq!(me["email"], "moved@elsewhere.example");
    let (csrf, cookie) = form_credentials(&form);
    let undone = post_form(
        &app,
        "/cancel-email-change",
        Some(&cookie),
        &[("token", &cancel), ("csrf_token", &csrf)],
    )
    .send()
    .await;
    assert_page(&undone, 200);
    assert!(
        undone.text.contains("has this address again"),
        "{}",
        undone.text
    );
    assert_leads_to(&undone, "/account/forgot-password", "Reset your password");
    let back = app.login(&old, DEFAULT_PASSWORD).await;
    let me = get_ok(&app, "/api/v1/users/me", &back.access_token).await;
    assert_eq!(me["email"], old.as_str());
}

/// Asserts that `page` offers the way on: a link to `href` that says `words`.
fn assert_leads_to(page: &TestResponse, href: &str, words: &str) {
    let link = format!("<a class=\"button\" href=\"{href}\">{words}</a>");
    assert!(page.text.contains(&link), "no {link} on:\n{}", page.text);
}
