//! One rig for the provider end-to-end tests: the app with a connection to a scripted
//! [`FakeUpstream`], an admin with credits and an API token, and the checks those tests share.

use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply, Request};
use reelvault::config::{Config, ConnectionConfig, Secret};

use super::{Browser, Page, TestApp, admin_with_credits, api_get, api_post, client, credits, sha256_hex, wait_terminal};

/// The credits a rig's admin gets unless [`RigBuilder::credits`] says otherwise.
const DEFAULT_CREDITS: i64 = 200;

/// What a rig starts with: the connection (its base URL is the fake's, under
/// [`RigBuilder::under`]), the admin's credits and any change to the app's config.
pub struct RigBuilder {
    connection: ConnectionConfig,
    under: String,
    credits: i64,
    config: Vec<Box<ConfigEdit>>,
    refusals: Vec<(Box<Check>, Reply)>,
}

type Check = dyn Fn(&Request) -> bool + Send + Sync;
type ConfigEdit = dyn FnOnce(&mut Config);

/// A rig for a connection called `name` of kind `kind`: no delay, a one-second timeout,
/// one retry, loopback allowed.
pub fn provider(name: &str, kind: &str) -> RigBuilder {
    let connection = ConnectionConfig {
        allow_private_network: true,
        delay: Duration::ZERO,
        timeout: Duration::from_secs(1),
        max_retries: 1,
        ..ConnectionConfig::new(name, kind)
    };
    RigBuilder { connection, under: String::new(), credits: DEFAULT_CREDITS, config: Vec::new(), refusals: Vec::new() }
}

impl RigBuilder {
    /// The connection's API key.
    pub fn key(mut self, key: &str) -> Self {
        self.connection.api_key = Some(Secret::new(key));
        self
    }

    /// The base URL is this path of the fake (e.g. `v1/`) instead of its root.
    pub fn under(mut self, path: &str) -> Self {
        self.under = path.to_string();
        self
    }

    /// The credits granted to the admin.
    pub fn credits(mut self, credits: i64) -> Self {
        self.credits = credits;
        self
    }

    /// Changes the connection further (timeouts, limits, other credentials).
    pub fn connection(mut self, edit: impl FnOnce(&mut ConnectionConfig)) -> Self {
        edit(&mut self.connection);
        self
    }

    /// Changes the app's config before it starts.
    pub fn config(mut self, edit: impl FnOnce(&mut Config) + 'static) -> Self {
        self.config.push(Box::new(edit));
        self
    }

    /// The fake answers `refusal` to the requests `refused` picks (a missing or wrong key),
    /// before its script sees them.
    pub fn refuse_when(mut self, refused: impl Fn(&Request) -> bool + Send + Sync + 'static, refusal: Reply) -> Self {
        self.refusals.push((Box::new(refused), refusal));
        self
    }

    /// The fake refuses with `refusal` every request without `Authorization: Bearer KEY` (the
    /// key given to [`RigBuilder::key`]), except those to paths starting with one of `open`.
    pub fn bearer_required(self, open: &[&str], refusal: Reply) -> Self {
        let key = self.connection.api_key.as_ref().expect("a key first").expose().to_string();
        let open: Vec<String> = open.iter().map(|p| p.to_string()).collect();
        let expected = format!("Bearer {key}");
        self.refuse_when(move |r| r.header("authorization") != Some(&expected) && !open.iter().any(|p| r.path.starts_with(p)), refusal)
    }

    /// Starts a fake answering with `reply` (after the refusals), then the app connected to it.
    pub async fn serve(mut self, reply: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> ProviderRig {
        let refusals = std::mem::take(&mut self.refusals);
        let fake = FakeUpstream::start(move |r| match refusals.iter().find(|(refused, _)| refused(r)) {
            Some((_, refusal)) => refusal.clone(),
            None => reply(r),
        })
        .await;
        self.start(fake).await
    }

    /// Starts the app connected to `fake`, and its admin with credits and a token.
    pub async fn start<F: Fake>(self, fake: F) -> ProviderRig<F> {
        let RigBuilder { mut connection, under, credits, config, .. } = self;
        connection.base_url = Some(fake.root().join(&under).expect("URL"));
        let app = TestApp::start_with(|c| {
            for edit in config {
                edit(c);
            }
            c.connection.push(connection);
        })
        .await;
        let (admin, token) = admin_with_credits(&app, credits).await;
        ProviderRig { app, fake, admin, token, credits }
    }
}

/// A fake upstream server a rig can connect the app to and stop at the end.
pub trait Fake {
    /// `http://127.0.0.1:PORT/`
    fn root(&self) -> url::Url;
    fn stop(self) -> impl Future<Output = ()>;
}

impl Fake for FakeUpstream {
    fn root(&self) -> url::Url {
        self.url.clone()
    }

    async fn stop(self) {
        FakeUpstream::stop(self).await;
    }
}

/// The app, the fake it talks to, and the admin who submits.
pub struct ProviderRig<F = FakeUpstream> {
    pub app: TestApp,
    pub fake: F,
    pub admin: Browser,
    /// The admin's API token.
    pub token: String,
    /// The credits the admin started with.
    pub credits: i64,
}

/// `http://HOST/` of the fake as the request reached it: where a fake points its own output URLs.
pub fn origin(request: &Request) -> String {
    format!("http://{}/", request.header("host").expect("a Host header"))
}

impl<F: Fake> ProviderRig<F> {
    /// Submits a generation; returns its id.
    pub async fn submit(&self, body: serde_json::Value) -> String {
        let created = api_post(&self.app.url, "/api/v1/generations", &self.token, body).await;
        assert_eq!(created.status, 201, "{}", created.body);
        created.json()["id"].as_str().expect("id").to_string()
    }

    /// Submits a generation and waits for its end.
    pub async fn run(&self, body: serde_json::Value) -> serde_json::Value {
        let id = self.submit(body).await;
        self.finished(&id).await
    }

    /// Waits for the end of `id`; its API answer and its page answer without an error.
    pub async fn finished(&self, id: &str) -> serde_json::Value {
        let done = wait_terminal(&self.app.url, &self.token, id).await;
        assert_eq!(api_get(&self.app.url, &format!("/api/v1/generations/{id}"), Some(&self.token)).await.status, 200);
        assert_eq!(self.page(id).await.status, 200);
        done
    }

    /// Runs `body` and checks it succeeded with all its credits settled at `price`.
    pub async fn succeeds(&self, body: serde_json::Value, price: i64) -> serde_json::Value {
        let done = self.run(body).await;
        assert_eq!(done["state"], "succeeded", "{done}");
        self.assert_settled(price).await;
        done
    }

    /// Runs `body`, checks it succeeded with `price` settled and stored exactly `outputs`, in order.
    pub async fn stores(&self, body: serde_json::Value, price: i64, outputs: &[&[u8]]) -> serde_json::Value {
        let done = self.succeeds(body, price).await;
        assert_eq!(done["outputs"].as_array().map(Vec::len), Some(outputs.len()), "{done}");
        for (n, expected) in outputs.iter().enumerate() {
            self.assert_output(&done, n, expected).await;
        }
        done
    }

    /// Runs `body`, checks it failed with `code`, released its hold, and that its page's reason
    /// shows every one of `shown`.
    pub async fn fails_showing(&self, body: serde_json::Value, code: &str, shown: &[&str]) -> serde_json::Value {
        let done = self.fails_with(body, code).await;
        let reason = self.reason(&done).await;
        assert!(shown.iter().all(|s| reason.contains(s)), "{reason} shows all of {shown:?}");
        done
    }

    /// Runs `body` and checks it failed with `code` and released its hold.
    pub async fn fails_with(&self, body: serde_json::Value, code: &str) -> serde_json::Value {
        let done = self.run(body).await;
        assert_eq!(done["state"], "failed", "{done}");
        assert_eq!(done["reason"]["code"], code, "{done}");
        self.assert_released().await;
        done
    }

    /// (available, held) of the admin.
    pub async fn credits(&self) -> (i64, i64) {
        credits(&self.app.url, &self.token).await
    }

    /// `price` was taken and nothing is held.
    pub async fn assert_settled(&self, price: i64) {
        assert_eq!(self.credits().await, (self.credits - price, 0), "settled");
    }

    /// Nothing was taken and nothing is held.
    pub async fn assert_released(&self) {
        assert_eq!(self.credits().await, (self.credits, 0), "released");
    }

    /// The generation's page, as its admin sees it.
    pub async fn page(&self, id: &str) -> Page {
        self.admin.get(&format!("/generations/{id}")).await
    }

    /// The reason the generation's page gives.
    pub async fn reason(&self, done: &serde_json::Value) -> String {
        let page = self.page(done["id"].as_str().expect("id")).await;
        assert_eq!(page.status, 200);
        page.text_of(".status .reason")
    }

    /// Output `n` of `done` is `expected`: its recorded hash, and the bytes its signed URL serves.
    pub async fn assert_output(&self, done: &serde_json::Value, n: usize, expected: &[u8]) {
        let output = &done["outputs"][n];
        assert_eq!(output["sha256"], sha256_hex(expected), "{done}");
        let url = output["url"].as_str().expect("signed url");
        let served = client().get(url).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(sha256_hex(&served), sha256_hex(expected), "the vault gives back what upstream served");
    }

    pub async fn stop(self) {
        self.app.stop().await;
        self.fake.stop().await;
    }
}

impl ProviderRig<FakeUpstream> {
    /// Requests starting with `route` reached the fake, none of them with a key.
    pub fn assert_keyless(&self, route: &str) {
        let requests = self.fake.requests_to(route);
        assert!(!requests.is_empty(), "no {route}");
        assert!(requests.iter().all(|r| r.header("authorization").is_none()), "a key was sent with {route}");
    }

    /// Waits for `delete` to reach the fake, and checks it came after `download`.
    pub async fn assert_deleted_after(&self, download: &str, delete: &str) {
        let deleted = self.fake.wait_until(Duration::from_secs(5), |r| r.iter().any(|r| r.route() == delete)).await;
        assert!(deleted, "{delete} reached the fake");
        let routes: Vec<String> = self.fake.requests().iter().map(|r| r.route()).collect();
        let downloaded = routes.iter().position(|r| r.starts_with(download)).expect("downloaded");
        let deleted = routes.iter().position(|r| r == delete).expect("deleted");
        assert!(downloaded < deleted, "deleted upstream after custody: {routes:?}");
    }
}

/// Starts the app without connections; its admin adds a connection named `name` of `kind` in
/// the UI (base URL `base`, API key `key`, loopback allowed) and runs `body` through the API,
/// which must succeed through that connection.
pub async fn admin_added_connection_generates(kind: &str, name: &str, base: &str, key: &str, body: serde_json::Value) {
    let app = TestApp::start().await;
    let (admin, token) = admin_with_credits(&app, DEFAULT_CREDITS).await;
    let fields = [("name", name), ("kind", kind), ("base_url", base), ("api_key", key), ("allow_private_network", "on")];
    let added = admin.post_form("/admin/connections", &fields).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let created = api_post(&app.url, "/api/v1/generations", &token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let done = wait_terminal(&app.url, &token, created.json()["id"].as_str().expect("id")).await;
    assert_eq!((done["state"].as_str(), done["connection"].as_str()), (Some("succeeded"), Some(name)), "{done}");
    app.stop().await;
}

/// Output bytes for a fake to serve: `magic` (the format's signature), then `filler` bytes
/// patterned by `seed`.
pub fn media_bytes(magic: &[u8], filler: usize, seed: u8) -> Vec<u8> {
    let mut bytes = magic.to_vec();
    bytes.extend((0..filler).map(|n| (n % 251) as u8 ^ seed));
    bytes
}

/// An image of `width`×`height` in `format`, its pixels a gradient shaded by `seed`.
pub fn image_bytes(format: image::ImageFormat, width: u32, height: u32, seed: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 5) as u8, (y * 7) as u8, seed]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode");
    out.into_inner()
}
