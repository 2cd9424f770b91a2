//! The Luma Agents adapter end to end: the app with a `luma_agents` connection to a fake that
//! speaks the Agents wire format (`POST /generations`, `state`, `output[]`, `failure_code`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply};
use reelvault::config::{ConnectionConfig, Secret};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::{Browser, TestApp, api_get};
use crate::support::{admin_with_credits, api_post, credits, wait_terminal};

const CREDITS: i64 = 200;
/// luma-uni-1, one image.
const PRICE: i64 = 5;
const PNG: &[u8] = b"\x89PNG\r\n\x1a\nuni-1 image bytes";

struct Rig {
    app: TestApp,
    fake: FakeUpstream,
    admin: Browser,
    token: String,
}

/// Answers the poll with `outcome` (its `output[0].url` is pointed at the fake's bucket).
async fn rig(outcome: serde_json::Value) -> Rig {
    let outcome = Arc::new(Mutex::new(outcome));
    let fake = FakeUpstream::start(move |r| {
        if r.header("authorization") != Some("Bearer luma-api-it") && !r.path.starts_with("/bucket/") {
            return Reply::json(401, json!({"error": {"code": "unauthorized", "message": "Invalid API key"}}));
        }
        match r.route().as_str() {
            "POST /generations" => Reply::json(200, json!({"id": "ag-1", "model": "uni-1", "type": "image", "state": "queued"})),
            "GET /generations/ag-1" => {
                let mut g = outcome.lock().unwrap().clone();
                if let Some(url) = g.pointer_mut("/output/0/url") {
                    *url = json!(format!("http://{}/bucket/ag-1.png?X-Amz-Expires=3600", r.header("host").unwrap()));
                }
                Reply::json(200, g)
            }
            "GET /bucket/ag-1.png" => Reply::bytes(200, "image/png", PNG),
            _ => Reply::status(404),
        }
    })
    .await;
    let connection = ConnectionConfig {
        base_url: Some(fake.url.clone()),
        api_key: Some(Secret::new("luma-api-it")),
        allow_private_network: true,
        delay: Duration::ZERO,
        timeout: Duration::from_secs(1),
        max_retries: 1,
        ..ConnectionConfig::new("agents", "luma_agents")
    };
    let app = TestApp::start_with(|config| config.connection.push(connection)).await;
    let (admin, token) = admin_with_credits(&app, CREDITS).await;
    Rig { app, fake, admin, token }
}

impl Rig {
    async fn run(&self, prompt: &str) -> (String, serde_json::Value) {
        let body = json!({"model": "luma-uni-1", "prompt": prompt, "params": {"aspect_ratio": "16:9"}});
        let created = api_post(&self.app.url, "/api/v1/generations", &self.token, body).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.json()["id"].as_str().unwrap().to_string();
        let done = wait_terminal(&self.app.url, &self.token, &id).await;
        (id, done)
    }

    async fn stop(self) {
        self.app.stop().await;
        self.fake.stop().await;
    }
}

#[tokio::test]
async fn a_uni_1_image_is_generated_and_taken_into_custody() {
    let rig = rig(json!({"id": "ag-1", "state": "completed", "output": [{"type": "image", "url": ""}]})).await;
    let (_, done) = rig.run("a lighthouse made of glass").await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["outputs"][0]["sha256"], hex::encode(Sha256::digest(PNG)));
    assert_eq!(done["outputs"][0]["content_type"], "image/png");
    let url = done["outputs"][0]["url"].as_str().expect("signed url");
    let served = reqwest::Client::new().get(url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(Sha256::digest(&served), Sha256::digest(PNG), "the vault serves what Luma served");
    assert_eq!(credits(&rig.app.url, &rig.token).await, (CREDITS - PRICE, 0), "settled");

    let body = rig.fake.requests_to("POST /generations")[0].json();
    assert_eq!(
        body,
        json!({"model": "uni-1", "type": "image", "prompt": "a lighthouse made of glass", "aspect_ratio": "16:9", "output_format": "png"})
    );
    assert!(rig.fake.requests_to("GET /bucket/").iter().all(|r| r.header("authorization").is_none()), "no key to the bucket");
    rig.stop().await;
}

#[tokio::test]
async fn a_content_moderated_generation_is_a_content_policy_reason() {
    let rig =
        rig(json!({"id": "ag-1", "state": "failed", "failure_code": "content_moderated", "failure_reason": "The prompt was moderated"}))
            .await;
    let (id, done) = rig.run("something Luma refuses").await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["reason"]["code"], "provider.content_policy", "{done}");
    assert_eq!(credits(&rig.app.url, &rig.token).await, (CREDITS, 0), "the hold is released");
    let page = rig.admin.get(&format!("/generations/{id}")).await;
    assert_eq!(page.status, 200);
    let reason = page.text_of("#reason");
    assert!(reason.contains("content policy") && reason.contains("The prompt was moderated"), "{reason}");
    assert_eq!(api_get(&rig.app.url, &format!("/api/v1/generations/{id}"), Some(&rig.token)).await.status, 200);
    rig.stop().await;
}
