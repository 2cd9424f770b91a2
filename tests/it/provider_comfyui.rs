//! The ComfyUI adapter end to end against a fake ComfyUI server: the connection's workflow is
//! filled and queued, the history polled until the saved image appears, the image taken into
//! custody from /view and the history entry dropped; a prompt that fails on the server ends
//! with ComfyUI's message on its page and its hold released.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply};
use reelvault::config::ConnectionConfig;
use sha2::{Digest, Sha256};

use crate::support::{Browser, TestApp};
use crate::support::{admin_with_credits, api_post, credits, wait_terminal};

const CREDITS: i64 = 10;
const PROMPT_ID: &str = "5b0e2f4e-7c1d-4a57-9a55-1f2d3c4b5a69";

#[derive(Clone, Copy)]
enum Outcome {
    Saved,
    MissingModel,
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\ncomfy output ".to_vec();
    bytes.extend((0..3000u32).map(|n| (n % 253) as u8));
    bytes
}

fn workflow() -> serde_json::Value {
    serde_json::json!({
        "3": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}", "steps": 4, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": "{{width}}", "height": "{{height}}", "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{negative_prompt}}", "clip": ["4", 1]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "reelvault", "images": ["8", 0]}},
    })
}

async fn fake(outcome: Outcome) -> FakeUpstream {
    let polls = Arc::new(AtomicUsize::new(0));
    FakeUpstream::start(move |r| match r.route().as_str() {
        "POST /prompt" => Reply::json(200, serde_json::json!({"prompt_id": PROMPT_ID, "number": 1, "node_errors": {}})),
        "GET /queue" => Reply::json(200, serde_json::json!({"queue_running": [[1, PROMPT_ID, {}, {}, ["9"]]], "queue_pending": []})),
        route if route == format!("GET /history/{PROMPT_ID}") => {
            if polls.fetch_add(1, Ordering::SeqCst) == 0 {
                return Reply::json(200, serde_json::json!({}));
            }
            let entry = match outcome {
                Outcome::Saved => serde_json::json!({
                    "outputs": {"9": {"images": [{"filename": "reelvault_00001_.png", "subfolder": "", "type": "output"}]}},
                    "status": {"status_str": "success", "completed": true, "messages": []},
                }),
                Outcome::MissingModel => serde_json::json!({
                    "outputs": {},
                    "status": {"status_str": "error", "completed": false, "messages": [["execution_error", {
                        "prompt_id": PROMPT_ID, "node_id": "4", "node_type": "CheckpointLoaderSimple",
                        "exception_type": "FileNotFoundError", "exception_message": "Model sd15.safetensors not found on this server."}]]},
                }),
            };
            Reply::json(200, serde_json::json!({ PROMPT_ID: entry }))
        }
        "GET /view" if r.query_param("filename").as_deref() == Some("reelvault_00001_.png") => Reply::bytes(200, "image/png", png()),
        "POST /history" => Reply::status(200),
        _ => Reply::text(404, "404: Not Found"),
    })
    .await
}

async fn app(fake: &FakeUpstream) -> (TestApp, Browser, String) {
    let connection = ConnectionConfig {
        base_url: Some(fake.url.clone()),
        allow_private_network: true,
        delay: Duration::ZERO,
        timeout: Duration::from_secs(1),
        max_retries: 1,
        workflow: Some(workflow()),
        models: vec!["comfyui-image".into()],
        ..ConnectionConfig::new("studio-gpu", "comfyui")
    };
    let app = TestApp::start_with(|config| config.connection.push(connection)).await;
    let (admin, token) = admin_with_credits(&app, CREDITS).await;
    (app, admin, token)
}

async fn submit(app: &TestApp, token: &str) -> String {
    let body = serde_json::json!({"model": "comfyui-image", "prompt": "a quiet harbour at dawn", "negative_prompt": "people",
        "params": {"width": 640, "height": 384, "seed": 99}});
    let created = api_post(&app.url, "/api/v1/generations", token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.json()["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn a_workflow_image_is_queued_polled_stored_and_its_history_dropped() {
    let fake = fake(Outcome::Saved).await;
    let (app, _admin, token) = app(&fake).await;
    let id = submit(&app, &token).await;
    let done = wait_terminal(&app.url, &token, &id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["outputs"][0]["sha256"], hex::encode(Sha256::digest(png())), "{done}");
    assert_eq!(done["outputs"][0]["content_type"], "image/png");
    let served = reqwest::Client::new().get(done["outputs"][0]["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(Sha256::digest(&served), Sha256::digest(png()), "the vault gives back what ComfyUI saved");
    assert_eq!(credits(&app.url, &token).await, (CREDITS - 1, 0), "settled");

    let prompt = fake.requests_to("POST /prompt")[0].json()["prompt"].clone();
    assert_eq!(prompt["3"]["inputs"]["seed"], 99);
    assert_eq!(prompt["5"]["inputs"], serde_json::json!({"width": 640, "height": 384, "batch_size": 1}));
    assert_eq!(prompt["6"]["inputs"]["text"], "a quiet harbour at dawn");
    assert_eq!(prompt["7"]["inputs"]["text"], "people");
    assert!(fake.wait_until(Duration::from_secs(5), |r| r.iter().any(|r| r.route() == "POST /history")).await, "history dropped");
    assert_eq!(fake.requests_to("POST /history")[0].json(), serde_json::json!({"delete": [PROMPT_ID]}));
    app.stop().await;
    fake.stop().await;
}

#[tokio::test]
async fn a_prompt_that_fails_on_the_server_shows_comfyuis_message_and_releases_the_hold() {
    let fake = fake(Outcome::MissingModel).await;
    let (app, admin, token) = app(&fake).await;
    let id = submit(&app, &token).await;
    let done = wait_terminal(&app.url, &token, &id).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["reason"]["code"], "provider.invalid_input", "{done}");
    let page = admin.get(&format!("/generations/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("refused the request"), "{}", page.body);
    assert!(page.body.contains("Model sd15.safetensors not found on this server."), "{}", page.body);
    assert_eq!(credits(&app.url, &token).await, (CREDITS, 0), "released");
    assert!(fake.requests_to("GET /view").is_empty());
    app.stop().await;
    fake.stop().await;
}
