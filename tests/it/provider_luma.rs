//! The Luma Dream Machine adapter end to end: the app with a `luma` connection to a fake that
//! speaks the Dream Machine wire format (Generation objects, `assets.video`, DELETE after custody).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply};
use reelvault::config::{ConnectionConfig, Secret};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::{Browser, TestApp, api_get};
use crate::support::{admin_with_credits, api_post, credits, wait_terminal};

const CREDITS: i64 = 200;
/// luma-ray-flash-2, 5 s at 5 credits a second.
const PRICE: i64 = 25;
const VIDEO: &[u8] = b"\x00\x00\x00\x18ftypmp42 ray flash bytes";

struct Rig {
    app: TestApp,
    fake: FakeUpstream,
    admin: Browser,
    token: String,
}

/// Answers the poll with `outcome` (a Generation; `assets.video` is pointed at the fake's CDN).
async fn rig(outcome: serde_json::Value) -> Rig {
    let outcome = Arc::new(Mutex::new(outcome));
    let fake = FakeUpstream::start(move |r| {
        if r.header("authorization") != Some("Bearer luma-it-key") && !r.path.starts_with("/cdn/") {
            return Reply::json(401, json!({"detail": "Invalid API key"}));
        }
        match r.route().as_str() {
            "POST /generations/video" => Reply::json(201, json!({"id": "lg-1", "state": "queued", "assets": null})),
            "GET /generations/lg-1" => {
                let mut g = outcome.lock().unwrap().clone();
                if let Some(video) = g.pointer_mut("/assets/video") {
                    *video = json!(format!("http://{}/cdn/lg-1.mp4", r.header("host").unwrap()));
                }
                Reply::json(200, g)
            }
            "GET /cdn/lg-1.mp4" => Reply::bytes(200, "video/mp4", VIDEO),
            "DELETE /generations/lg-1" => Reply::status(204),
            _ => Reply::json(404, json!({"detail": "Not found"})),
        }
    })
    .await;
    let connection = ConnectionConfig {
        base_url: Some(fake.url.clone()),
        api_key: Some(Secret::new("luma-it-key")),
        allow_private_network: true,
        delay: Duration::ZERO,
        timeout: Duration::from_secs(1),
        max_retries: 1,
        ..ConnectionConfig::new("luma", "luma")
    };
    let app = TestApp::start_with(|config| config.connection.push(connection)).await;
    let (admin, token) = admin_with_credits(&app, CREDITS).await;
    Rig { app, fake, admin, token }
}

impl Rig {
    async fn run(&self, prompt: &str) -> (String, serde_json::Value) {
        let body = json!({"model": "luma-ray-flash-2", "prompt": prompt, "params": {"duration": 5}});
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
async fn a_luma_video_is_generated_taken_into_custody_and_deleted_upstream() {
    let rig = rig(json!({"id": "lg-1", "state": "completed", "assets": {"video": ""}})).await;
    let (_, done) = rig.run("a koi pond at night").await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["outputs"][0]["sha256"], hex::encode(Sha256::digest(VIDEO)));
    let url = done["outputs"][0]["url"].as_str().expect("signed url");
    let served = reqwest::Client::new().get(url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(Sha256::digest(&served), Sha256::digest(VIDEO), "the vault serves what Luma served");
    assert_eq!(credits(&rig.app.url, &rig.token).await, (CREDITS - PRICE, 0), "settled");

    let body = rig.fake.requests_to("POST /generations/video")[0].json();
    assert_eq!(
        body,
        json!({"model": "ray-flash-2", "prompt": "a koi pond at night", "aspect_ratio": "16:9", "duration": "5s", "resolution": "720p"})
    );
    assert!(rig.fake.wait_until(Duration::from_secs(5), |r| r.iter().any(|r| r.route() == "DELETE /generations/lg-1")).await);
    let routes: Vec<String> = rig.fake.requests().iter().map(|r| r.route()).collect();
    let download = routes.iter().position(|r| r == "GET /cdn/lg-1.mp4").expect("downloaded");
    let delete = routes.iter().position(|r| r == "DELETE /generations/lg-1").expect("deleted");
    assert!(download < delete, "deleted upstream after custody: {routes:?}");
    rig.stop().await;
}

#[tokio::test]
async fn a_luma_moderation_failure_is_a_content_policy_reason() {
    let rig = rig(json!({"id": "lg-1", "state": "failed", "failure_reason": "Prompt failed moderation"})).await;
    let (id, done) = rig.run("something Luma refuses").await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["reason"]["code"], "provider.content_policy", "{done}");
    assert_eq!(credits(&rig.app.url, &rig.token).await, (CREDITS, 0), "the hold is released");
    let page = rig.admin.get(&format!("/generations/{id}")).await;
    assert_eq!(page.status, 200);
    let reason = page.text_of("#reason");
    assert!(reason.contains("content policy") && reason.contains("Prompt failed moderation"), "{reason}");
    assert_eq!(api_get(&rig.app.url, &format!("/api/v1/generations/{id}"), Some(&rig.token)).await.status, 200);
    rig.stop().await;
}
