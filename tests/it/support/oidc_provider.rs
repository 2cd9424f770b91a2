//! A real OpenID provider on loopback: `tests/oidc/provider.mjs` (the npm package
//! oidc-provider, installed by `.ci/run` under `target/oidc-provider`) run with node, with
//! one client and test endpoints to register accounts, rotate its key and spoil ID tokens.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use reelvault::config::{OidcConfig, Secret};

/// The client the provider knows.
pub const CLIENT_ID: &str = "reelvault";
pub const CLIENT_SECRET: &str = "test-secret";

/// The running provider; stopped when dropped.
pub struct OidcProvider {
    child: Child,
    pub issuer: String,
    http: reqwest::Client,
}

fn modules() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/oidc-provider/node_modules")
}

impl OidcProvider {
    /// Starts the provider, or `None` (saying why) when node or the package is missing.
    pub fn start() -> Option<OidcProvider> {
        if !modules().join("oidc-provider/package.json").exists() {
            eprintln!("SKIPPED: oidc-provider is not installed under target/oidc-provider (.ci/run installs it)");
            return None;
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/provider.mjs");
        let spawned =
            Command::new("node").arg(script).arg(modules()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn();
        let Ok(mut child) = spawned else {
            eprintln!("SKIPPED: node is not installed (.ci/run installs it)");
            return None;
        };
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("provider stdout"));
        stdout.read_line(&mut line).expect("provider output");
        // keep reading what it prints later, so that its writes never meet a closed pipe
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let port = line.trim().strip_prefix("listening ").unwrap_or_else(|| panic!("the provider did not start: {line:?}"));
        reelvault::providers::http::install_crypto_provider();
        let http = reqwest::Client::builder().no_proxy().build().expect("client");
        Some(OidcProvider { child, issuer: format!("http://127.0.0.1:{port}"), http })
    }

    /// The `[[oidc]]` entry for this provider, named `corp`.
    pub fn config(&self) -> OidcConfig {
        OidcConfig {
            name: "corp".into(),
            issuer: self.issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: Secret::new(CLIENT_SECRET),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            label: "Corp ID".into(),
            allowed_domains: Vec::new(),
            role_claim: None,
            admin_values: Vec::new(),
            allow_private_network: true,
        }
    }

    async fn post(&self, path: &str, body: serde_json::Value) {
        let response = self.http.post(format!("{}{path}", self.issuer)).json(&body).send().await.expect("provider test endpoint");
        assert!(response.status().is_success(), "{path}: {}", response.status());
    }

    /// Registers the app's redirect URI and post-logout URI with the client.
    pub async fn register(&self, app_url: &str) {
        let body = serde_json::json!({
            "redirect_uri": format!("{app_url}/auth/oidc/corp/callback"),
            "post_logout_redirect_uri": format!("{app_url}/login"),
        });
        self.post("/test/configure", body).await;
    }

    /// The account the next sign-in at the provider is made as.
    pub async fn next_account(&self, sub: &str, email: &str, verified: bool, groups: &[&str]) {
        let body = serde_json::json!({"sub": sub, "email": email, "email_verified": verified, "name": sub, "groups": groups});
        self.post("/test/account", body).await;
    }

    /// Signs ID tokens with a new key from now on (the old one leaves the JWKS).
    pub async fn rotate_key(&self) {
        self.post("/test/rotate", serde_json::json!({})).await;
    }

    /// Spoils the next ID token: `aud` (another audience), `exp` (expired) or `sig` (a key not
    /// in the JWKS).
    pub async fn tamper_next(&self, mode: &str) {
        self.post("/test/tamper", serde_json::json!({"mode": mode})).await;
    }

    /// How many requests reached the end-session endpoint.
    pub async fn end_session_hits(&self) -> u64 {
        let stats: serde_json::Value =
            self.http.get(format!("{}/test/stats", self.issuer)).send().await.expect("stats").json().await.expect("json");
        stats["end_session"].as_u64().unwrap_or(0)
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
