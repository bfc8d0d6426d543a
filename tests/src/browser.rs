//! Headless Chromium driven over WebDriver, for the sidebar's browser tests: chromedriver is
//! started on a free port with a fresh profile and stopped when the [`Browser`] is dropped.
//! A machine without Chromium fails the test with the command that installs it; never a skip.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

const INSTALL_HINT: &str = "install them with `apt-get install -y chromium chromium-driver` \
     (or set CHROMIUM and CHROMEDRIVER to their paths)";

/// A Chromium session and the chromedriver serving it.
pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_url: String,
    profile: PathBuf,
}

fn find_program(variable: &str, names: &[&str]) -> PathBuf {
    if let Ok(path) = std::env::var(variable) {
        return PathBuf::from(path);
    }
    let path = std::env::var("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("{} not found: {INSTALL_HINT}", names.join(" or "));
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("address").port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium `width` by `height` pixels.
    pub async fn start(width: u32, height: u32) -> Browser {
        let chromium = find_program(
            "CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let chromedriver = find_program("CHROMEDRIVER", &["chromedriver"]);
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}; {INSTALL_HINT}", chromedriver.display()));
        let driver_url = format!("http://127.0.0.1:{port}");
        wait_for_driver(&driver_url).await;
        let profile =
            std::env::temp_dir().join(format!("sidebar-chromium-{}", uuid::Uuid::new_v4()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={width},{height}"),
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        // Headless windows are at least 500 px wide: a narrower page is emulated, exactly.
        let mut capabilities = capabilities;
        if width < 500 {
            capabilities["goog:chromeOptions"]["mobileEmulation"] = json!({
                "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0, "mobile": false, "touch": false}
            });
        }
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let client = ClientBuilder::rustls()
            .expect("rustls roots")
            .capabilities(capabilities)
            .connect(&driver_url)
            .await
            .unwrap_or_else(|e| {
                panic!("a Chromium session through chromedriver: {e}; {INSTALL_HINT}")
            });
        Browser {
            client,
            driver,
            driver_url,
            profile,
        }
    }

    /// Runs `script` (a function body returning a value) in the page.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script {script}: {e}"))
    }

    /// Waits until `script` returns `true` in the page, failing with `what` after `limit`.
    pub async fn wait_until(&self, what: &str, script: &str, limit: Duration) {
        let started = Instant::now();
        loop {
            if self.client.execute(script, vec![]).await.ok() == Some(Value::Bool(true)) {
                return;
            }
            if started.elapsed() > limit {
                let text = self.eval("return document.body.innerText").await;
                panic!("{what}: not seen within {limit:?}; the page shows:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element that `selector` (CSS) names.
    pub async fn click(&self, selector: &str) {
        self.client
            .find(fantoccini::Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("{selector}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {selector}: {e}"));
    }

    /// Types `text` into the element that `selector` names.
    pub async fn type_into(&self, selector: &str, text: &str) {
        let element = self
            .client
            .find(fantoccini::Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("{selector}: {e}"));
        element.clear().await.expect("clear");
        element.send_keys(text).await.expect("typing");
    }

    /// The browser console's messages at level SEVERE (script errors, failed loads, CSP
    /// violations), read through chromedriver's log endpoint.
    pub async fn console_errors(&self) -> Vec<String> {
        let session = self
            .client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let entries: Value = reqwest::Client::new()
            .post(format!("{}/session/{session}/se/log", self.driver_url))
            .json(&json!({"type": "browser"}))
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("log entries");
        entries["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Saves a screenshot as `name`.png under the target directory's `screenshots/`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
            |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
            PathBuf::from,
        );
        let dir = target.join("screenshots");
        std::fs::create_dir_all(&dir).expect("screenshots directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("screenshot written");
        path
    }

    /// Ends the session, then chromedriver.
    pub async fn stop(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    /// A test that failed before [`Browser::stop`] leaves no browser behind: killing
    /// chromedriver does not end the Chromium it started, so that one is found by its profile
    /// directory (unique to this browser) and killed too.
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let marker = format!("--user-data-dir={}", self.profile.display());
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", "--", &marker])
            .status();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

async fn wait_for_driver(url: &str) {
    let started = Instant::now();
    let http = reqwest::Client::new();
    while http.get(format!("{url}/status")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "chromedriver did not answer at {url}; {INSTALL_HINT}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
