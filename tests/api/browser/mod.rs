//! Roster's pages in a real browser: Debian's headless Chromium, driven through
//! chromedriver by `fantoccini` (WebDriver). What a cookie jar over the router cannot
//! show is shown here: the browser's own Content-Security-Policy enforcement (a
//! `form-action` that blocks the redirect to the client), the `Origin` it sends with a
//! form post (which the CSRF check reads), cookies with `SameSite`, and the pages'
//! script calling the browser's WebAuthn API (a virtual authenticator stands in for
//! the user's).
//!
//! These tests fail, never skip, when `chromium` or `chromedriver` is missing: `.ci/run`
//! installs Debian's `chromium` and `chromium-driver`.

mod sign_in;

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
        let field = self.find(id).await;
        field.clear().await.expect("the field clears");
        field.send_keys(text).await.expect("typing");
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
