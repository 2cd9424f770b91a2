//! The Runway adapter end to end against a fake Runway API: a Gen-4.5 video goes from
//! POST /api/v1/generations to the vault, and a moderated task fails with the
//! content-policy reason and releases its hold.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply, Request};
use reelvault::config::{ConnectionConfig, Secret};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::{Browser, TestApp};
use crate::support::{admin_with_credits, api_post, credits, wait_terminal};

const KEY: &str = "rw-it-key";
const CREDITS: i64 = 500;
const TASK: &str = "0b1e6f3c-it";
const MP4: &[u8] = b"\x00\x00\x00\x18ftypmp42 runway bytes from the fake";

/// A fake Runway API; `moderated` makes the task fail with `SAFETY.INPUT.TEXT`.
async fn fake_runway(moderated: bool) -> FakeUpstream {
    let polls = Arc::new(Mutex::new(0u32));
    let base = Arc::new(Mutex::new(String::new()));
    let base_in = base.clone();
    let fake = FakeUpstream::start(move |r: &Request| {
        if r.path == "/cdn/out.mp4" {
            return Reply::bytes(200, "video/mp4", MP4);
        }
        let keyed = r.header("authorization") == Some(&format!("Bearer {KEY}")) && r.header("x-runway-version") == Some("2024-11-06");
        if !keyed {
            return Reply::json(401, json!({"error": "Invalid API key"}));
        }
        match r.route().as_str() {
            "POST /v1/text_to_video" => Reply::json(200, json!({"id": TASK})),
            "GET /v1/tasks/0b1e6f3c-it" => {
                let mut n = polls.lock().unwrap();
                *n += 1;
                let answer = match (*n, moderated) {
                    (1, _) => json!({"id": TASK, "status": "RUNNING", "progress": 0.5}),
                    (_, true) => json!({"id": TASK, "status": "FAILED", "failure": "The prompt did not pass moderation.", "failureCode": "SAFETY.INPUT.TEXT"}),
                    (_, false) => json!({"id": TASK, "status": "SUCCEEDED", "output": [format!("{}cdn/out.mp4?sig=1", base_in.lock().unwrap())]}),
                };
                Reply::json(200, answer)
            }
            "DELETE /v1/tasks/0b1e6f3c-it" => Reply::status(204),
            _ => Reply::json(404, json!({"error": "Not found"})),
        }
    })
    .await;
    *base.lock().unwrap() = fake.url.to_string();
    fake
}

async fn rig(moderated: bool) -> (TestApp, FakeUpstream, Browser, String) {
    let fake = fake_runway(moderated).await;
    let connection = ConnectionConfig {
        base_url: Some(fake.at("v1/")),
        api_key: Some(Secret::new(KEY)),
        allow_private_network: true,
        delay: Duration::ZERO,
        timeout: Duration::from_secs(1),
        max_retries: 1,
        ..ConnectionConfig::new("runway", "runway")
    };
    let app = TestApp::start_with(|config| config.connection.push(connection)).await;
    let (admin, token) = admin_with_credits(&app, CREDITS).await;
    (app, fake, admin, token)
}

async fn run(app: &TestApp, token: &str, body: serde_json::Value) -> serde_json::Value {
    let created = api_post(&app.url, "/api/v1/generations", token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("id").to_string();
    wait_terminal(&app.url, token, &id).await
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn a_gen45_video_reaches_the_vault_and_the_task_is_deleted_upstream() {
    let (app, fake, _admin, token) = rig(false).await;
    let body =
        json!({"model": "runway-gen4.5", "prompt": "a paper boat on a puddle", "params": {"duration": 5, "ratio": "720:1280", "seed": 11}});
    let done = run(&app, &token, body).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["outputs"][0]["sha256"], sha256_hex(MP4), "{done}");
    let url = done["outputs"][0]["url"].as_str().expect("signed url");
    let served = reqwest::Client::new().get(url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(sha256_hex(&served), sha256_hex(MP4), "the vault gives back what upstream served");
    assert_eq!(credits(&app.url, &token).await, (CREDITS - 5 * 12, 0), "5 s of Gen-4.5 settled");
    let sent = fake.requests_to("POST /v1/text_to_video")[0].json();
    assert_eq!(sent, json!({"model": "gen4.5", "promptText": "a paper boat on a puddle", "ratio": "720:1280", "duration": 5, "seed": 11}));
    let cdn = fake.requests_to("GET /cdn/out.mp4");
    assert!(cdn.iter().all(|r| r.header("authorization").is_none()), "the key stays off output URLs");
    assert!(fake.wait_until(Duration::from_secs(5), |r| r.iter().any(|r| r.route() == "DELETE /v1/tasks/0b1e6f3c-it")).await, "deleted");
    app.stop().await;
    fake.stop().await;
}

#[tokio::test]
async fn a_moderated_task_fails_as_content_policy_and_releases_the_hold() {
    let (app, fake, admin, token) = rig(true).await;
    let done = run(&app, &token, json!({"model": "runway-gen4.5", "prompt": "something Runway refuses", "params": {"duration": 10}})).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["reason"]["code"], "provider.content_policy", "{done}");
    assert_eq!(credits(&app.url, &token).await, (CREDITS, 0), "released");
    let page = admin.get(&format!("/generations/{}", done["id"].as_str().unwrap())).await;
    assert_eq!(page.status, 200);
    let reason = page.text_of("#reason");
    assert!(reason.contains("content policy") && reason.contains("did not pass moderation"), "{reason}");
    app.stop().await;
    fake.stop().await;
}
