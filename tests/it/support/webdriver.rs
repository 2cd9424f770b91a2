//! A small WebDriver client for Debian's chromium + chromedriver (installed by `.ci/run`):
//! enough to load pages, run script, click and take screenshots.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// A headless Chromium session driven through chromedriver on a loopback port.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    client: reqwest::Client,
    _profile: tempfile::TempDir,
}

/// Whether chromium and chromedriver are installed.
/// Fails a browser step, saving a screenshot named after it under `target/browser-screenshots/`.
#[macro_export]
macro_rules! check {
    ($browser:expr, $name:expr, $cond:expr) => {
        if !$cond {
            $browser.screenshot($name).await;
            panic!("browser step failed: {} (screenshot target/browser-screenshots/{}.png)", $name, $name);
        }
    };
}

pub fn available() -> bool {
    std::path::Path::new("/usr/bin/chromium").exists() && std::path::Path::new("/usr/bin/chromedriver").exists()
}

impl Browser {
    pub async fn start() -> Browser {
        reelvault::providers::http::install_crypto_provider();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        for _ in 0..100 {
            if client.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--window-size=1280,900",
            "--autoplay-policy=no-user-gesture-required",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}});
        let created: Value = client.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session = created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).to_string();
        Browser { driver, base, session, client, _profile: profile }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let value: Value = request.send().await.unwrap().json().await.unwrap();
        value["value"].clone()
    }

    pub async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    /// Runs script in the page; `return` gives the result.
    pub async fn js(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// Waits (at most `seconds`) until `script` returns true.
    pub async fn wait_for(&self, script: &str, seconds: u64) -> bool {
        for _ in 0..seconds * 10 {
            if self.js(script).await == Value::Bool(true) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Signs in on the sign-in page of `base` as the test admin and waits (10 s at most) for
    /// the home page; `false` when it did not come.
    pub async fn sign_in_as_admin(&self, base: &str) -> bool {
        self.go(&format!("{base}/login")).await;
        self.js(&format!(
            "document.getElementById('email').value='{}';document.getElementById('password').value='{}';document.querySelector('main form').submit();",
            super::ADMIN_EMAIL,
            super::ADMIN_PASSWORD
        ))
        .await;
        self.wait_for("return location.pathname === '/' && !!document.querySelector('header form[role=search]')", 10).await
    }

    /// Resizes the window (a phone: 390 × 844).
    pub async fn set_window(&self, width: u32, height: u32) {
        self.call(reqwest::Method::POST, "/window/rect", Some(json!({"width": width, "height": height}))).await;
    }

    /// Runs asynchronous script in the page: it calls `done(value)` (defined for it) when finished.
    pub async fn js_async(&self, script: &str) -> Value {
        let wrapped = format!("var done = arguments[arguments.length - 1]; {script}");
        self.call(reqwest::Method::POST, "/execute/async", Some(json!({"script": wrapped, "args": []}))).await
    }

    /// Emulates the system's colour scheme (`prefers-color-scheme`) for the pages from now on.
    pub async fn set_color_scheme(&self, dark: bool) {
        let value = if dark { "dark" } else { "light" };
        let features = json!([{"name": "prefers-color-scheme", "value": value}]);
        self.call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({"cmd": "Emulation.setEmulatedMedia", "params": {"features": features}})),
        )
        .await;
    }

    /// Saves a screenshot of the viewport at `path`.
    pub async fn screenshot_to(&self, path: &std::path::Path) {
        use base64::Engine;
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        if let Some(data) = png.as_str().and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok()) {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::write(path, data);
        }
    }

    /// Saves a screenshot under `target/browser-screenshots/`.
    pub async fn screenshot(&self, name: &str) {
        use base64::Engine;
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        if let Some(data) = png.as_str().and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok()) {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join(format!("{name}.png")), data);
        }
    }

    pub async fn quit(mut self) {
        self.call(reqwest::Method::DELETE, "", None).await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// Real (trusted) input through WebDriver actions: keys and Shift-clicks as a person makes them.
impl Browser {
    /// WebDriver's codes for keys that are not characters.
    pub const ARROW_RIGHT: &str = "\u{E014}";
    pub const ESCAPE: &str = "\u{E00C}";
    const SHIFT: &str = "\u{E008}";
    /// The key of an element reference in WebDriver's answers.
    const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

    /// Presses and releases `key` (a character or one of the key constants).
    pub async fn press(&self, key: &str) {
        let keys =
            json!([{"type": "key", "id": "keyboard", "actions": [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]);
        self.call(reqwest::Method::POST, "/actions", Some(json!({"actions": keys}))).await;
    }

    /// Clicks the first element matching `css` while holding Shift.
    pub async fn shift_click(&self, css: &str) {
        let found = self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        let element = found[Self::ELEMENT].clone();
        assert!(element.is_string(), "no element {css}: {found}");
        let pause = json!({"type": "pause", "duration": 0});
        let actions = json!([
            {"type": "key", "id": "keyboard", "actions": [{"type": "keyDown", "value": Self::SHIFT}, pause, pause, pause, {"type": "keyUp", "value": Self::SHIFT}]},
            {"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
                pause,
                {"type": "pointerMove", "origin": {(Self::ELEMENT): element}, "x": 0, "y": 0},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerUp", "button": 0},
                pause
            ]}
        ]);
        self.call(reqwest::Method::POST, "/actions", Some(json!({"actions": actions}))).await;
    }

    /// Moves the mouse over the first element matching `css`.
    pub async fn hover(&self, css: &str) {
        let found = self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        let element = found[Self::ELEMENT].clone();
        assert!(element.is_string(), "no element {css}: {found}");
        let moves = json!([{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
            {"type": "pointerMove", "origin": {(Self::ELEMENT): element}, "x": 0, "y": 0}
        ]}]);
        self.call(reqwest::Method::POST, "/actions", Some(json!({"actions": moves}))).await;
    }

    /// Clicks the first element matching `css` (a plain, trusted click).
    pub async fn click(&self, css: &str) {
        let found = self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        let element = found[Self::ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_string();
        self.call(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
    }
}
