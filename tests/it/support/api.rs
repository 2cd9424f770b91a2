//! Driving the API as a script does: bearer-token requests, waiting for a generation to end,
//! and the credits of the token's owner.

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{Browser, Page, TestApp};

/// A client for scripts and downloads: no cookies, no proxy.
pub fn client() -> reqwest::Client {
    reelvault::providers::http::install_crypto_provider();
    reqwest::Client::builder().no_proxy().pool_idle_timeout(super::CLIENT_IDLE).build().expect("client")
}

/// A script: no cookies, a bearer token.
pub async fn api_get(base: &str, path: &str, token: Option<&str>) -> Page {
    let mut request = client().get(format!("{base}{path}"));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    Browser::read(request.send().await.expect("GET")).await
}

/// An app with an admin who has `credits` and an API token; demo delay as given.
pub async fn app_with_credits(delay: Duration, credits: i64) -> (TestApp, Browser, String) {
    let app = TestApp::start_with(|c| c.connection[0].delay = delay).await;
    let (admin, token) = admin_with_credits(&app, credits).await;
    (app, admin, token)
}

/// Sets up the admin of `app`, grants them `credits` and makes an API token.
pub async fn admin_with_credits(app: &TestApp, credits: i64) -> (Browser, String) {
    let admin = app.setup_admin().await;
    let users = admin.get("/admin/users").await;
    let action = users.attr_of("form[action$='/credits']", "action").expect("credits form");
    let granted = admin.post_form(&action, &[("amount", &credits.to_string())]).await;
    assert_eq!(granted.status, 303, "{}", granted.body);
    let token = admin.post_form("/account/tokens", &[("name", "tests"), ("expires", "30")]).await.text_of("#new-token");
    (admin, token)
}

pub async fn api_post(base: &str, path: &str, token: &str, body: serde_json::Value) -> Page {
    Browser::read(client().post(format!("{base}{path}")).bearer_auth(token).json(&body).send().await.unwrap()).await
}

/// Submits a generation through `POST /api/v1/generations`.
pub async fn generate(base: &str, token: &str, body: serde_json::Value) -> Page {
    api_post(base, "/api/v1/generations", token, body).await
}

/// POSTs a multipart form with the bearer token.
pub async fn api_multipart(base: &str, path: &str, token: &str, form: reqwest::multipart::Form) -> Page {
    Browser::read(client().post(format!("{base}{path}")).bearer_auth(token).multipart(form).send().await.expect("POST")).await
}

/// POSTs `body` as given, with this content type and the bearer token.
pub async fn api_post_raw(base: &str, path: &str, token: &str, content_type: &str, body: &'static str) -> Page {
    let request = client().post(format!("{base}{path}")).bearer_auth(token).header("content-type", content_type).body(body);
    Browser::read(request.send().await.expect("POST")).await
}

/// Polls the API until the generation is in a terminal state (at most 60 s).
/// Polls quickly at first, then once a second (a token's requests per minute are limited,
/// and a loaded machine finishes jobs late), for at most about two minutes.
pub async fn wait_terminal(base: &str, token: &str, id: &str) -> serde_json::Value {
    let mut pause = Duration::from_millis(50);
    for _ in 0..150 {
        let g = api_get(base, &format!("/api/v1/generations/{id}"), Some(token)).await.json();
        if ["succeeded", "failed", "cancelled"].contains(&g["state"].as_str().unwrap_or("")) {
            return g;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
    panic!("generation {id} did not finish");
}

/// (available, held) of the token's owner.
pub async fn credits(base: &str, token: &str) -> (i64, i64) {
    let c = api_get(base, "/api/v1/credits", Some(token)).await.json();
    (c["available"].as_i64().unwrap(), c["held"].as_i64().unwrap())
}

/// The lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
