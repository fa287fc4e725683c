//! Roster's pages in a real browser: Debian's headless Chromium, driven through
//! chromedriver by `fantoccini` (WebDriver). What a cookie jar over the router cannot
//! show is shown here: the browser's own Content-Security-Policy enforcement (a
//! `form-action` that blocks the redirect to the client), the `Origin` it sends with a
//! form post (which the CSRF check reads), cookies with `SameSite`, and the pages'
//! script calling the browser's WebAuthn API (a virtual authenticator stands in for
//! the user's).
//!
//! These tests fail, never skip, when `chromium` or `chromedriver` is missing: `.ci/run`
//! installs Debian's `chromium` and `chromium-driver`. Accessibility is checked with
//! axe-core (Deque's engine, MPL-2.0, vendored in `axe/` at version 4.14.1), injected
//! into the page through WebDriver (so the pages' CSP need not admit it).

mod console;
mod federation;
mod phone;
mod sign_in;
mod webhooks;
mod widths;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::Method;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a page may take to appear after a click.
const PAGE_WAIT: Duration = Duration::from_secs(15);

/// A headless Chromium behind its own chromedriver; both end when this is dropped.
pub struct Chromium {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// Replaces what `field` holds with `text`, typed.
async fn type_into(field: fantoccini::elements::Element, text: &str) {
    field.clear().await.expect("the field clears");
    field.send_keys(text).await.expect("typing");
}

impl Chromium {
    pub async fn start() -> Chromium {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(program).exists(),
                "{program} is missing: install Debian's chromium and chromium-driver \
                 (apt-get install chromium chromium-driver; .ci/run does)"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let driver = {
            use std::os::unix::process::CommandExt;
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Its own process group, so that the browser it starts ends with it.
                .process_group(0)
                .spawn()
                .expect("chromedriver starts")
        };
        let profile = tempfile::tempdir().expect("a profile directory");
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1000,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("an object")
        };
        let webdriver = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&webdriver)
                .await
            {
                Ok(client) => break client,
                Err(e) if started.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("chromedriver on {webdriver} never started a session: {e}"),
            }
        };
        Chromium {
            client,
            driver,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("the page loads");
    }

    /// Types `text` into the field with id `id`.
    pub async fn fill(&self, id: &str, text: &str) {
        type_into(self.find(id).await, text).await;
    }

    /// Types `text` into the field named `name` (pages not written here, whose fields
    /// have no id).
    pub async fn fill_named(&self, name: &str, text: &str) {
        let css = format!("input[name='{name}']");
        let field = match self
            .client
            .wait()
            .at_most(PAGE_WAIT)
            .for_element(Locator::Css(&css))
            .await
        {
            Ok(field) => field,
            Err(e) => panic!("no field named {name}: {e}\n{}", self.page_text().await),
        };
        type_into(field, text).await;
    }

    /// Fills in the sign-in page the browser shows and submits it.
    pub async fn submit_sign_in(&self, login: &str, password: &str) {
        self.fill("login", login).await;
        self.fill("password", password).await;
        self.press("Sign in").await;
    }

    /// The text of the first element `css` selects, once the page shows it.
    pub async fn text_of(&self, css: &str) -> String {
        let element = match self
            .client
            .wait()
            .at_most(PAGE_WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("{css} never appeared: {e}\n{}", self.page_text().await),
        };
        element.text().await.expect("its text")
    }

    /// The element with id `id`, once the page shows it.
    pub async fn find(&self, id: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(PAGE_WAIT)
            .for_element(Locator::Id(id))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("#{id} never appeared: {e}\n{}", self.page_text().await),
        }
    }

    /// Chooses the option `value` of the select with id `id`.
    pub async fn choose(&self, id: &str, value: &str) {
        self.find(id).await;
        self.client
            .find(Locator::Css(&format!("#{id} option[value='{value}']")))
            .await
            .unwrap_or_else(|e| panic!("#{id} has no option {value}: {e}"))
            .click()
            .await
            .expect("the option is chosen");
    }

    /// Clicks the link whose text is `text`.
    pub async fn follow_link(&self, text: &str) {
        let link = match self
            .client
            .wait()
            .at_most(PAGE_WAIT)
            .for_element(Locator::LinkText(text))
            .await
        {
            Ok(link) => link,
            Err(e) => panic!("no link {text:?}: {e}\n{}", self.page_text().await),
        };
        link.click().await.expect("the click");
    }

    /// Clicks the button whose text is `label`.
    pub async fn press(&self, label: &str) {
        let xpath = format!("//button[normalize-space(.)='{label}']");
        let button = match self
            .client
            .wait()
            .at_most(PAGE_WAIT)
            .for_element(Locator::XPath(&xpath))
            .await
        {
            Ok(button) => button,
            Err(e) => panic!("no button {label:?}: {e}\n{}", self.page_text().await),
        };
        button.click().await.expect("the click");
    }

    /// Waits until the address starts with `prefix`; answers the address.
    pub async fn wait_for_url(&self, prefix: &str) -> url::Url {
        let started = Instant::now();
        loop {
            let url = self.client.current_url().await.expect("the address");
            if url.as_str().starts_with(prefix) {
                return url;
            }
            assert!(
                started.elapsed() < PAGE_WAIT,
                "the browser stayed at {url}, not {prefix}...:\n{}",
                self.page_text().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the page's text holds `needle` (the page after a click may still be
    /// loading); answers the text.
    pub async fn wait_for_text(&self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let text = self.page_text().await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                started.elapsed() < PAGE_WAIT,
                "the page never said {needle:?}:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The visible text of the page (for failure messages).
    pub async fn page_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(e) => format!("(no page: {e})"),
        }
    }

    /// Adds a WebDriver virtual authenticator (W3C WebAuthn §11.3): a platform
    /// authenticator with resident keys that verifies its user.
    pub async fn add_virtual_authenticator(&self) {
        let command = WebDriverCall {
            method: Method::POST,
            path: "webauthn/authenticator",
            body: json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserVerified": true,
                "automaticPresenceSimulation": true,
            }),
        };
        self.client
            .issue_cmd(command)
            .await
            .expect("chromedriver adds a virtual authenticator");
    }

    /// Ends the browser session (the processes end on drop).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // The whole group: chromedriver and the browser it started.
        let group = self.driver.id() as i32;
        unsafe {
            libc::killpg(group, libc::SIGKILL);
        }
        let _ = self.driver.wait();
    }
}

/// axe-core, run in the page under test.
const AXE: &str = include_str!("axe/axe.min.js");

impl Chromium {
    /// Runs axe-core on the current page (WCAG 2.x A and AA rules) and fails on any
    /// violation of serious or critical impact, naming the rule and the elements.
    pub async fn assert_accessible(&self, what: &str) {
        let serious = self.serious_violations().await;
        assert!(
            serious.is_empty(),
            "{what}: accessibility violations: {}",
            serde_json::to_string_pretty(&serious).unwrap_or_default()
        );
    }

    /// The WCAG violations of serious or critical impact axe-core finds on the page.
    pub async fn serious_violations(&self) -> Vec<Value> {
        self.client
            .execute(&format!("{AXE}\nreturn typeof axe;"), vec![])
            .await
            .expect("axe-core loads");
        let violations = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                   axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
                      .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                             nodes: v.nodes.map(n => n.target.join(" "))}))),
                            e => done([{id: "axe-error", impact: "critical", help: String(e), nodes: []}]));"#,
                vec![],
            )
            .await
            .expect("axe-core runs");
        violations
            .as_array()
            .expect("a list of violations")
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .cloned()
            .collect()
    }

    /// Whether the page is wider than the window at `width` CSS pixels (a phone's is 390):
    /// the width the page's content needs, and the window's.
    pub async fn widths_at(&self, width: u32) -> (u64, u64) {
        self.widths_at_size(width, 844).await
    }

    /// [`Self::widths_at`] in a window of `width`×`height`.
    pub async fn widths_at_size(&self, width: u32, height: u32) -> (u64, u64) {
        self.set_window(width, height).await;
        self.widths().await
    }

    /// Makes the window `width`×`height` CSS pixels (a phone's is 390×844), for every
    /// page from now on.
    pub async fn set_window(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("the window resizes");
    }

    /// The width the current page's content needs, and the window's, at the window's
    /// present size.
    pub async fn widths(&self) -> (u64, u64) {
        let measured = self
            .client
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            )
            .await
            .expect("the script runs");
        let number = |i: usize| measured[i].as_u64().expect("a width");
        (number(0), number(1))
    }

    /// The innermost elements whose right edge is past the window, as `tag.class` with
    /// their text's start (for the failure message of a page too wide).
    pub async fn overflowing(&self) -> String {
        let found = self
            .client
            .execute(
                r#"const out = [];
                   for (const e of document.body.querySelectorAll("*")) {
                     const r = e.getBoundingClientRect();
                     if (r.right > window.innerWidth + 0.5 &&
                         ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 0.5)) {
                       out.push(e.tagName.toLowerCase() + (e.className ? "." + e.className : "") +
                                " (" + Math.round(r.right) + " px) " + (e.textContent || "").trim().slice(0, 40));
                     }
                   }
                   return out.slice(0, 8).join("; ");"#,
                vec![],
            )
            .await
            .expect("the script runs");
        found.as_str().unwrap_or_default().to_owned()
    }

    /// The times of day (`|when`'s `<span class="clock">`) the page breaks over two
    /// lines ("6:02" above "PM"), as their text.
    pub async fn broken_times(&self) -> Vec<String> {
        let found = self
            .client
            .execute(
                r#"return [...document.querySelectorAll(".when .clock")]
                     .filter(e => e.getClientRects().length > 1)
                     .map(e => e.textContent);"#,
                vec![],
            )
            .await
            .expect("the script runs");
        found
            .as_array()
            .expect("a list")
            .iter()
            .map(|text| text.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Saves a screenshot of the page as `NAME.png` in `ROSTER_SCREENSHOTS`, when that
    /// variable names a folder (the README's pictures are made this way).
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("ROSTER_SCREENSHOTS") else {
            return;
        };
        let png = self.client.screenshot().await.expect("a screenshot");
        let path = std::path::Path::new(&dir).join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// A WebDriver command of the session that fantoccini has no method for.
#[derive(Debug)]
struct WebDriverCall {
    method: Method,
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for WebDriverCall {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/{}", self.path))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (Method, Option<String>) {
        (self.method.clone(), Some(self.body.to_string()))
    }
}
