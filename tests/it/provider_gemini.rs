//! The Gemini adapter end to end against a fake Gemini API: a Veo video and a Gemini image
//! go from POST /api/v1/generations to the vault, and a Responsible-AI filtered video fails
//! with the content-policy reason and releases its hold.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use fake_upstream::{FakeUpstream, Reply, Request};
use reelvault::config::{ConnectionConfig, Secret};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::{Browser, TestApp};
use crate::support::{admin_with_credits, api_post, credits, wait_terminal};

const KEY: &str = "gm-it-key";
const CREDITS: i64 = 1000;
const OP: &str = "models/veo-3.1-fast-generate-preview/operations/it1";
const MP4: &[u8] = b"\x00\x00\x00\x18ftypmp42 veo bytes from the fake";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n gemini image bytes";

/// A fake Gemini API; `filtered` makes Veo finish with an RAI filter instead of a video.
async fn fake_gemini(filtered: bool) -> FakeUpstream {
    let polls = Arc::new(Mutex::new(0u32));
    let base = Arc::new(Mutex::new(String::new()));
    let base_in = base.clone();
    let fake = FakeUpstream::start(move |r: &Request| {
        if r.header("x-goog-api-key") != Some(KEY) {
            return Reply::json(401, json!({"error": {"code": 401, "message": "no key", "status": "UNAUTHENTICATED"}}));
        }
        match r.route().as_str() {
            "POST /v1beta/models/veo-3.1-fast-generate-preview:predictLongRunning" => Reply::json(200, json!({"name": OP})),
            "GET /v1beta/models/veo-3.1-fast-generate-preview/operations/it1" => {
                let mut n = polls.lock().unwrap();
                *n += 1;
                if *n < 2 {
                    return Reply::json(200, json!({"name": OP}));
                }
                let response = if filtered {
                    json!({"generateVideoResponse": {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": ["The prompt could not be submitted because it violates the usage guidelines."]}})
                } else {
                    let uri = format!("{}v1beta/files/it1:download?alt=media", base_in.lock().unwrap());
                    json!({"generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]}})
                };
                Reply::json(200, json!({"name": OP, "done": true, "response": response}))
            }
            "GET /v1beta/files/it1:download" => Reply::bytes(200, "video/mp4", MP4),
            "DELETE /v1beta/files/it1" => Reply::json(200, json!({})),
            "POST /v1beta/models/gemini-2.5-flash-image:generateContent" => Reply::json(
                200,
                json!({"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": base64::engine::general_purpose::STANDARD.encode(PNG)}}]}, "finishReason": "STOP"}]}),
            ),
            _ => Reply::json(404, json!({"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}})),
        }
    })
    .await;
    *base.lock().unwrap() = fake.url.to_string();
    fake
}

async fn rig(filtered: bool) -> (TestApp, FakeUpstream, Browser, String) {
    let fake = fake_gemini(filtered).await;
    let connection = ConnectionConfig {
        base_url: Some(fake.at("v1beta/")),
        api_key: Some(Secret::new(KEY)),
        allow_private_network: true,
        delay: Duration::ZERO,
        timeout: Duration::from_secs(1),
        max_retries: 1,
        ..ConnectionConfig::new("google", "gemini")
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

async fn served(done: &serde_json::Value) -> Vec<u8> {
    let url = done["outputs"][0]["url"].as_str().expect("signed url");
    reqwest::Client::new().get(url).send().await.unwrap().bytes().await.unwrap().to_vec()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn a_veo_video_and_a_gemini_image_reach_the_vault() {
    let (app, fake, _admin, token) = rig(false).await;
    let body = json!({"model": "veo-3.1-fast", "prompt": "waves on a basalt shore", "params": {"duration": 4, "aspect_ratio": "9:16"}});
    let done = run(&app, &token, body).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["outputs"][0]["sha256"], sha256_hex(MP4), "{done}");
    assert_eq!(sha256_hex(&served(&done).await), sha256_hex(MP4), "the vault gives back what upstream served");
    assert_eq!(credits(&app.url, &token).await, (CREDITS - 4 * 15, 0), "4 s of Veo 3.1 Fast settled");
    let submitted = fake.requests_to("POST /v1beta/models/veo-3.1-fast-generate-preview:predictLongRunning")[0].json();
    assert_eq!(submitted["parameters"], json!({"aspectRatio": "9:16", "resolution": "720p", "durationSeconds": 4}));
    assert!(
        fake.wait_until(Duration::from_secs(5), |r| r.iter().any(|r| r.route() == "DELETE /v1beta/files/it1")).await,
        "deleted upstream"
    );

    let done = run(&app, &token, json!({"model": "gemini-2.5-flash-image", "prompt": "a brass compass"})).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["outputs"][0]["content_type"], "image/png");
    assert_eq!(sha256_hex(&served(&done).await), sha256_hex(PNG));
    assert_eq!(credits(&app.url, &token).await, (CREDITS - 60 - 4, 0), "one image settled");
    app.stop().await;
    fake.stop().await;
}

#[tokio::test]
async fn a_filtered_veo_video_fails_as_content_policy_and_releases_the_hold() {
    let (app, fake, admin, token) = rig(true).await;
    let done = run(&app, &token, json!({"model": "veo-3.1-fast", "prompt": "something Veo refuses", "params": {"duration": 8}})).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["reason"]["code"], "provider.content_policy", "{done}");
    assert_eq!(credits(&app.url, &token).await, (CREDITS, 0), "released");
    let id = done["id"].as_str().unwrap();
    let page = admin.get(&format!("/generations/{id}")).await;
    assert_eq!(page.status, 200);
    let reason = page.text_of("#reason");
    assert!(reason.contains("content policy") && reason.contains("usage guidelines"), "{reason}");
    app.stop().await;
    fake.stop().await;
}
