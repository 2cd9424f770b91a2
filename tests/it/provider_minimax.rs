//! The MiniMax adapter end to end: the app with a `minimax` connection to a fake that speaks
//! MiniMax's wire format (`base_resp`, Preparing → Success, `files/retrieve` → CDN download).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply};
use reelvault::config::{ConnectionConfig, Secret};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::{Browser, TestApp, api_get};
use crate::support::{admin_with_credits, api_post, credits, wait_terminal};

const CREDITS: i64 = 200;
/// hailuo-02, 6 s at 9 credits a second.
const PRICE: i64 = 54;
const KEY: &str = "mm-it-key";
const VIDEO: &[u8] = b"\x00\x00\x00\x18ftypmp42 hailuo video bytes";

struct Rig {
    app: TestApp,
    fake: FakeUpstream,
    admin: Browser,
    token: String,
}

/// Answers the query with `outcome` (merged into `{task_id, base_resp: 0}` unless it has its own).
async fn rig(outcome: serde_json::Value) -> Rig {
    let outcome = Arc::new(Mutex::new(outcome));
    let fake = FakeUpstream::start(move |r| {
        if r.header("authorization") != Some("Bearer mm-it-key") && !r.path.starts_with("/cdn/") {
            return Reply::json(200, json!({"base_resp": {"status_code": 1004, "status_msg": "authentication failed"}}));
        }
        let ok = |mut body: serde_json::Value| {
            if body.get("base_resp").is_none() {
                body["base_resp"] = json!({"status_code": 0, "status_msg": "success"});
            }
            Reply::json(200, body)
        };
        match r.route().as_str() {
            "POST /v1/video_generation" => ok(json!({"task_id": "mm-1"})),
            "GET /v1/query/video_generation" => ok(outcome.lock().unwrap().clone()),
            "GET /v1/files/retrieve" => ok(json!({"file": {
                "file_id": 77, "bytes": VIDEO.len(), "filename": "output.mp4", "purpose": "video_generation",
                "download_url": format!("http://{}/cdn/output.mp4?Signature=s", r.header("host").unwrap())
            }})),
            "GET /cdn/output.mp4" => Reply::bytes(200, "video/mp4", VIDEO),
            _ => Reply::status(404),
        }
    })
    .await;
    let connection = ConnectionConfig {
        base_url: Some(fake.url.clone()),
        api_key: Some(Secret::new(KEY)),
        allow_private_network: true,
        delay: Duration::ZERO,
        timeout: Duration::from_secs(1),
        max_retries: 1,
        ..ConnectionConfig::new("minimax", "minimax")
    };
    let app = TestApp::start_with(|config| config.connection.push(connection)).await;
    let (admin, token) = admin_with_credits(&app, CREDITS).await;
    Rig { app, fake, admin, token }
}

impl Rig {
    async fn run(&self, prompt: &str) -> (String, serde_json::Value) {
        let body = json!({"model": "hailuo-02", "prompt": prompt, "params": {"duration": 6}});
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
async fn a_hailuo_video_is_generated_and_taken_into_custody() {
    let rig = rig(json!({"task_id": "mm-1", "status": "Success", "file_id": "77", "video_width": 1366, "video_height": 768})).await;
    let (_, done) = rig.run("a lantern drifting on a lake").await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["outputs"][0]["sha256"], hex::encode(Sha256::digest(VIDEO)));
    let url = done["outputs"][0]["url"].as_str().expect("signed url");
    let served = reqwest::Client::new().get(url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(Sha256::digest(&served), Sha256::digest(VIDEO), "the vault serves what MiniMax served");
    assert_eq!(credits(&rig.app.url, &rig.token).await, (CREDITS - PRICE, 0), "settled");

    let body = rig.fake.requests_to("POST /v1/video_generation")[0].json();
    assert_eq!(body, json!({"model": "MiniMax-Hailuo-02", "prompt": "a lantern drifting on a lake", "duration": 6, "resolution": "768P"}));
    assert_eq!(rig.fake.requests_to("GET /v1/files/retrieve")[0].query_param("file_id").as_deref(), Some("77"));
    assert!(rig.fake.requests_to("GET /cdn/").iter().all(|r| r.header("authorization").is_none()), "no key to the CDN");
    rig.stop().await;
}

#[tokio::test]
async fn a_hailuo_sensitive_content_failure_is_a_content_policy_reason() {
    let rig =
        rig(json!({"task_id": "mm-1", "status": "Fail", "base_resp": {"status_code": 1026, "status_msg": "input new_sensitive"}})).await;
    let (id, done) = rig.run("something MiniMax refuses").await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["reason"]["code"], "provider.content_policy", "{done}");
    assert_eq!(credits(&rig.app.url, &rig.token).await, (CREDITS, 0), "the hold is released");
    let page = rig.admin.get(&format!("/generations/{id}")).await;
    assert_eq!(page.status, 200);
    let reason = page.text_of("#reason");
    assert!(reason.contains("content policy") && reason.contains("new_sensitive"), "{reason}");
    assert_eq!(api_get(&rig.app.url, &format!("/api/v1/generations/{id}"), Some(&rig.token)).await.status, 200);
    rig.stop().await;
}
