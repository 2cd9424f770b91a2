//! Test kit: starts the real app on 127.0.0.1:0 with a temp data dir, and drives it over
//! real HTTP as a browser (cookies, CSRF tokens, redirects) or a script (bearer tokens).

pub mod api;
pub mod fake_openai;
pub mod garage;
pub mod oidc_provider;
pub mod process;
pub mod provider_rig;
pub mod s3_client;
pub mod smtp_server;
pub mod webdriver;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use reelvault::app::{self, Running};
use reelvault::config::Config;
use reqwest::header::HeaderMap;

pub use api::{
    admin_with_credits, api_get, api_multipart, api_post, api_post_raw, app_with_credits, client, credits, generate, sha256_hex,
    wait_terminal,
};

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery";

/// A running app with its own data directory.
pub struct TestApp {
    pub running: Running,
    pub url: String,
    pub dir: tempfile::TempDir,
    config: Config,
}

/// The config tests start from: defaults, the temp data dir, port 0, one worker.
pub fn test_config(root: &Path) -> Config {
    reelvault::providers::http::install_crypto_provider();
    let mut config = Config::for_data_dir(&root.join("data"));
    config.workers = 1;
    config.model.extend(priced_demo_models());
    config
}

/// The demo models with a price (they are free by default), so that holds, settlements and
/// refunds have credits to move: 1 credit an image, 2 a second of video.
pub fn priced_demo_models() -> Vec<reelvault::domain::catalog::ModelEntry> {
    #[derive(serde::Deserialize)]
    struct Entries {
        model: Vec<reelvault::domain::catalog::ModelEntry>,
    }
    toml::from_str::<Entries>(DEMO_PRICES).expect("model entries").model
}

/// [`priced_demo_models`] as `config.toml` entries, for tests that write their own config.
pub const DEMO_PRICES: &str = "[[model]]\nid = \"demo-image\"\nprice = { type = \"per_image\", credits = 1 }\n\n\
                               [[model]]\nid = \"demo-video\"\nprice = { type = \"per_second\", credits = 2 }\n";

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    /// Starts with a config edited by `edit` (after the test defaults are applied).
    pub async fn start_with(edit: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(dir.path());
        edit(&mut config);
        Self::start_in(dir, config).await
    }

    async fn start_in(dir: tempfile::TempDir, config: Config) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let running = app::build(config.clone(), listener).await.expect("app starts");
        let url = running.url();
        TestApp { running, url, dir, config }
    }

    /// Stops gracefully and starts again on the same data directory.
    pub async fn restart(self) -> TestApp {
        let TestApp { running, dir, config, .. } = self;
        running.stop().await;
        Self::start_in(dir, config).await
    }

    /// Stops gracefully, lets `between` change the data directory (the app is down), and
    /// starts again on it.
    pub async fn restart_after(self, between: impl FnOnce(&Path)) -> TestApp {
        let TestApp { running, dir, config, .. } = self;
        running.stop().await;
        between(&config.data_dir);
        Self::start_in(dir, config).await
    }

    /// Stops gracefully and starts again on the same data directory with the config edited
    /// by `edit` (what an admin does by changing config.toml and restarting).
    pub async fn restart_with(self, edit: impl FnOnce(&mut Config)) -> TestApp {
        let TestApp { running, dir, mut config, .. } = self;
        running.stop().await;
        edit(&mut config);
        Self::start_in(dir, config).await
    }

    pub async fn stop(self) -> tempfile::TempDir {
        self.running.stop().await;
        self.dir
    }

    pub fn data_dir(&self) -> PathBuf {
        self.config.data_dir.clone()
    }

    pub fn setup_path(&self) -> String {
        format!("/setup/{}", self.running.setup_secret.as_deref().expect("setup pending"))
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.url)
    }

    /// Completes first-run setup as the admin; returns the admin's signed-in browser.
    pub async fn with_admin() -> (TestApp, Browser) {
        let app = TestApp::start().await;
        let admin = app.setup_admin().await;
        (app, admin)
    }

    pub async fn setup_admin(&self) -> Browser {
        let b = self.browser();
        let page = b.get(&self.setup_path()).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let done = b
            .post_form(
                &self.setup_path(),
                &[("email", ADMIN_EMAIL), ("name", "Ada Admin"), ("password", ADMIN_PASSWORD), ("confirm", ADMIN_PASSWORD)],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        b
    }

    /// Creates a member through the admin UI's invitation flow and returns their browser.
    pub async fn invite_member(&self, admin: &Browser, email: &str, password: &str) -> Browser {
        let page = admin.post_form("/admin/invitations", &[("email", email), ("role", "member")]).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let link = page.text_of("#issued-link");
        let path = link.strip_prefix(&self.url).expect("absolute link to this instance").to_string();
        let b = self.browser();
        assert_eq!(b.get(&path).await.status, 200);
        let done = b.post_form(&path, &[("name", "Member"), ("password", password), ("confirm", password)]).await;
        assert_eq!(done.status, 303, "{}", done.body);
        b
    }
}

/// A response, read whole.
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The text of the first element matching a CSS selector.
    pub fn text_of(&self, selector: &str) -> String {
        let html = scraper::Html::parse_document(&self.body);
        let sel = scraper::Selector::parse(selector).expect("selector");
        html.select(&sel)
            .next()
            .map(|e| e.text().collect::<String>().trim().to_string())
            .unwrap_or_else(|| panic!("no {selector} in {}", self.body))
    }

    /// How many elements match a CSS selector.
    pub fn count(&self, selector: &str) -> usize {
        let html = scraper::Html::parse_document(&self.body);
        let sel = scraper::Selector::parse(selector).expect("selector");
        html.select(&sel).count()
    }

    /// The action of the form matching `form_selector` in the table row that mentions `text`.
    pub fn row_action(&self, text: &str, form_selector: &str) -> String {
        let html = scraper::Html::parse_document(&self.body);
        let row = scraper::Selector::parse("tbody tr").expect("selector");
        let form = scraper::Selector::parse(form_selector).expect("selector");
        html.select(&row)
            .find(|r| r.text().collect::<String>().contains(text))
            .and_then(|r| r.select(&form).next())
            .and_then(|f| f.value().attr("action"))
            .unwrap_or_else(|| panic!("no {form_selector} in the row of {text}"))
            .to_string()
    }

    /// The value of an attribute of the first matching element.
    pub fn attr_of(&self, selector: &str, attr: &str) -> Option<String> {
        let html = scraper::Html::parse_document(&self.body);
        let sel = scraper::Selector::parse(selector).expect("selector");
        html.select(&sel).next().and_then(|e| e.value().attr(attr)).map(str::to_string)
    }

    /// The attribute `attr` of every element `selector` matches that has it, in order.
    pub fn attr_all(&self, selector: &str, attr: &str) -> Vec<String> {
        let html = scraper::Html::parse_document(&self.body);
        let sel = scraper::Selector::parse(selector).expect("selector");
        html.select(&sel).filter_map(|e| e.value().attr(attr)).map(str::to_string).collect()
    }
}

/// A browser: a cookie jar, no automatic redirects, and the CSRF token of its pages.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
    csrf: Mutex<Option<String>>,
    cookies: std::sync::Arc<reqwest::cookie::Jar>,
}

/// How long the tests' clients keep an idle connection for reuse: less than the server's
/// keep-alive (5 s), as a browser's is, so that a request never races the server closing it.
pub const CLIENT_IDLE: std::time::Duration = std::time::Duration::from_secs(3);

impl Browser {
    pub fn new(base: &str) -> Browser {
        Self::with_headers(base, reqwest::header::HeaderMap::new())
    }

    /// A browser whose every request says `Accept-Language: <accept_language>`.
    pub fn speaking(base: &str, accept_language: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::ACCEPT_LANGUAGE, accept_language.parse().expect("header value"));
        Self::with_headers(base, headers)
    }

    fn with_headers(base: &str, headers: reqwest::header::HeaderMap) -> Browser {
        reelvault::providers::http::install_crypto_provider();
        let cookies = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .cookie_provider(cookies.clone())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("reelvault-tests/1.0 (browser)")
            .no_proxy()
            .pool_idle_timeout(CLIENT_IDLE)
            .build()
            .expect("client");
        Browser { client, base: base.to_string(), csrf: Mutex::new(None), cookies }
    }

    /// Sets a cookie as the page script would (`name=value`).
    pub fn set_cookie(&self, cookie: &str) {
        self.cookies.add_cookie_str(&format!("{cookie}; Path=/"), &self.base.parse().expect("base URL"));
    }

    pub async fn read(response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        Page { status, headers, body }
    }

    fn remember_token(&self, page: &Page) {
        if let Some(token) = page.attr_of("input[name=csrf_token]", "value").filter(|t| !t.is_empty()) {
            *self.csrf.lock().expect("lock") = Some(token);
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let page = Self::read(self.client.get(format!("{}{path}", self.base)).send().await.expect("GET")).await;
        self.remember_token(&page);
        page
    }

    /// GET, following redirects within the site (at most 5).
    pub async fn visit(&self, path: &str) -> (String, Page) {
        let mut path = path.to_string();
        for _ in 0..5 {
            let page = self.get(&path).await;
            match page.location() {
                Some(next) if (300..400).contains(&page.status) => path = next.to_string(),
                _ => return (path, page),
            }
        }
        panic!("too many redirects from {path}");
    }

    /// The CSRF token, fetching the sign-in page first when none is known yet.
    pub async fn csrf_token(&self) -> String {
        if let Some(t) = self.csrf.lock().expect("lock").clone() {
            return t;
        }
        let page = self.get("/login").await;
        page.attr_of("input[name=csrf_token]", "value").expect("csrf token on the sign-in page")
    }

    /// Submits a form as a same-origin browser would, with the page's CSRF token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf_token().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, &[("origin", self.base.as_str()), ("sec-fetch-site", "same-origin")]).await
    }

    /// Submits form fields exactly as given, with the given extra headers.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
        self.post_with(self.client.post(format!("{}{path}", self.base)).form(fields), headers).await
    }

    /// Submits a multipart form exactly as given (a page's form carries its CSRF token in
    /// `path`), with the given extra headers.
    pub async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form, headers: &[(&str, &str)]) -> Page {
        self.post_with(self.client.post(format!("{}{path}", self.base)).multipart(form), headers).await
    }

    async fn post_with(&self, mut request: reqwest::RequestBuilder, headers: &[(&str, &str)]) -> Page {
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let page = Self::read(request.send().await.expect("POST")).await;
        self.remember_token(&page);
        page
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        self.post_form("/login", &[("email", email), ("password", password)]).await
    }
}

/// Waits (checking every 100 ms, for at most 30 s) until `done` holds; `what` names it in
/// the failure.
pub async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 30 s");
}

/// The number of encrypted files (`.age`) under `dir`, recursively: what the vault holds.
pub fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| if e.path().is_dir() { walk(&e.path()) } else { usize::from(e.path().extension().is_some_and(|x| x == "age")) })
                .sum()
        })
        .unwrap_or(0)
}

/// Whether `ffmpeg` is on the PATH (the app then takes video poster frames with it).
pub fn has_ffmpeg() -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("ffmpeg").is_file()))
}
