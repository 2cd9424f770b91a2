//! The Kling adapter end to end: the app with a `kling` connection to a fake that speaks
//! Kling's wire format (JWT auth, `{code, data}` envelopes, `succeed`, CDN output URLs).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply};
use reelvault::config::{ConnectionConfig, Secret};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::{Browser, TestApp, api_get};
use crate::support::{admin_with_credits, api_post, credits, wait_terminal};

const CREDITS: i64 = 200;
/// kling-v2.5-turbo, 5 s at 7 credits a second.
const PRICE: i64 = 35;
const VIDEO: &[u8] = b"\x00\x00\x00\x18ftypmp42 kling video bytes";

struct Rig {
    app: TestApp,
    fake: FakeUpstream,
    admin: Browser,
    token: String,
    /// What polls of the task answer; tests may change it.
    outcome: Arc<Mutex<serde_json::Value>>,
}

/// Answers `text2video` with a task that, when polled, reports `outcome`.
async fn rig(outcome: serde_json::Value) -> Rig {
    let outcome = Arc::new(Mutex::new(outcome));
    let answers = outcome.clone();
    let fake = FakeUpstream::start(move |r| {
        let ok = |data: serde_json::Value| Reply::json(200, json!({"code": 0, "message": "SUCCEED", "request_id": "r", "data": data}));
        match r.route().as_str() {
            "POST /v1/videos/text2video" => ok(json!({"task_id": "kt-1", "task_status": "submitted"})),
            "GET /v1/videos/text2video/kt-1" => {
                let mut data = answers.lock().unwrap().clone();
                if let Some(videos) = data.pointer_mut("/task_result/videos/0/url") {
                    *videos = json!(format!("http://{}/cdn/kt-1.mp4", r.header("host").unwrap()));
                }
                ok(data)
            }
            "GET /cdn/kt-1.mp4" => Reply::bytes(200, "video/mp4", VIDEO),
            _ => Reply::json(404, json!({"code": 1203, "message": "not found"})),
        }
    })
    .await;
    let connection = ConnectionConfig {
        base_url: Some(fake.url.clone()),
        access_key: Some("ak-it".into()),
        secret_key: Some(Secret::new("sk-it")),
        allow_private_network: true,
        delay: Duration::ZERO,
        timeout: Duration::from_secs(1),
        max_retries: 1,
        ..ConnectionConfig::new("kling", "kling")
    };
    let app = TestApp::start_with(|config| {
        config.public_url = Some(url::Url::parse("https://studio.example/").unwrap());
        config.connection.push(connection);
    })
    .await;
    let (admin, token) = admin_with_credits(&app, CREDITS).await;
    Rig { app, fake, admin, token, outcome }
}

impl Rig {
    async fn run(&self, prompt: &str) -> (String, serde_json::Value) {
        let body = json!({"model": "kling-v2.5-turbo", "prompt": prompt, "params": {"duration": 5}});
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
async fn a_kling_video_is_generated_and_taken_into_custody() {
    let rig =
        rig(json!({"task_id": "kt-1", "task_status": "succeed", "task_result": {"videos": [{"id": "v", "url": "", "duration": "5"}]}}))
            .await;
    let (_, done) = rig.run("a paper boat on a canal").await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["outputs"][0]["sha256"], hex::encode(Sha256::digest(VIDEO)));
    // the signed URL names the public URL; fetch the same path and query from the app itself
    let signed = url::Url::parse(done["outputs"][0]["url"].as_str().expect("signed url")).unwrap();
    let local = format!("{}{}?{}", rig.app.url, signed.path(), signed.query().unwrap_or_default());
    let served = reqwest::Client::new().get(local).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(Sha256::digest(&served), Sha256::digest(VIDEO), "the vault serves what Kling served");
    assert_eq!(credits(&rig.app.url, &rig.token).await, (CREDITS - PRICE, 0), "settled");

    let submit = &rig.fake.requests_to("POST /v1/videos/text2video")[0];
    let body = submit.json();
    assert_eq!(body["model_name"], "kling-v2-5-turbo");
    assert_eq!(body["prompt"], "a paper boat on a canal");
    assert_eq!(body["duration"], "5");
    assert_eq!(body["mode"], "std");
    assert!(body["callback_url"].as_str().unwrap().starts_with("https://studio.example/hooks/kling/"), "{body}");
    assert!(submit.header("authorization").unwrap().starts_with("Bearer ey"), "a JWT");
    assert!(rig.fake.requests_to("GET /cdn/").iter().all(|r| r.header("authorization").is_none()));
    rig.stop().await;
}

#[tokio::test]
async fn a_kling_risk_control_failure_is_a_content_policy_reason() {
    let rig = rig(json!({"task_id": "kt-1", "task_status": "failed", "task_status_msg": "Failure to pass the risk control system"})).await;
    let (id, done) = rig.run("something Kling refuses").await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["reason"]["code"], "provider.content_policy", "{done}");
    assert_eq!(credits(&rig.app.url, &rig.token).await, (CREDITS, 0), "the hold is released");
    let page = rig.admin.get(&format!("/generations/{id}")).await;
    assert_eq!(page.status, 200);
    let reason = page.text_of("#reason");
    assert!(reason.contains("content policy") && reason.contains("risk control"), "{reason}");
    assert_eq!(api_get(&rig.app.url, &format!("/api/v1/generations/{id}"), Some(&rig.token)).await.status, 200);
    rig.stop().await;
}

#[tokio::test]
async fn a_kling_callback_makes_the_engine_poll_the_task_at_once() {
    let rig = rig(json!({"task_id": "kt-1", "task_status": "processing"})).await;
    let body = json!({"model": "kling-v2.5-turbo", "prompt": "a heron takes off", "params": {"duration": 5}});
    let created = api_post(&rig.app.url, "/api/v1/generations", &rig.token, body).await;
    let id = created.json()["id"].as_str().unwrap().to_string();
    let first_poll = |seen: &[fake_upstream::Request]| seen.iter().any(|r| r.route() == "GET /v1/videos/text2video/kt-1");
    assert!(rig.fake.wait_until(Duration::from_secs(10), first_poll).await, "the first poll");

    // the task finishes upstream; Kling calls back; the next scheduled poll is >= 2.4 s away
    *rig.outcome.lock().unwrap() =
        json!({"task_id": "kt-1", "task_status": "succeed", "task_result": {"videos": [{"id": "v", "url": "", "duration": "5"}]}});
    let secret = rig.app.running.state.hook_secret("kling");
    let called_back = std::time::Instant::now();
    let answer = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{}/hooks/kling/{secret}", rig.app.url))
        .json(&json!({"task_id": "kt-1", "task_status": "succeed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json::<serde_json::Value>().await.unwrap()["job_found"], true, "the callback reached the waiting job");
    let done = wait_terminal(&rig.app.url, &rig.token, &id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert!(called_back.elapsed() < Duration::from_secs(2), "finished on the callback, not the next scheduled poll");
    rig.stop().await;
}
