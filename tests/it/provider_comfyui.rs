//! The ComfyUI adapter end to end against a fake ComfyUI server: the connection's workflow is
//! filled and queued, the history polled until the saved image appears, the image taken into
//! custody from /view and the history entry dropped; a prompt that fails on the server ends
//! with ComfyUI's message on its page and its hold released.

use std::sync::atomic::{AtomicUsize, Ordering};

use fake_upstream::Reply;
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, media_bytes, provider};

const PROMPT_ID: &str = "5b0e2f4e-7c1d-4a57-9a55-1f2d3c4b5a69";

#[derive(Clone, Copy)]
enum Outcome {
    Saved,
    MissingModel,
}

fn png() -> Vec<u8> {
    media_bytes(b"\x89PNG\r\n\x1a\ncomfy output ", 3000, 0)
}

fn workflow() -> serde_json::Value {
    json!({
        "3": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}", "steps": 4, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": "{{width}}", "height": "{{height}}", "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{negative_prompt}}", "clip": ["4", 1]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "reelvault", "images": ["8", 0]}},
    })
}

/// The app with a ComfyUI connection (no key, the workflow above) to a fake server.
async fn rig(outcome: Outcome) -> ProviderRig {
    let polls = AtomicUsize::new(0);
    provider("studio-gpu", "comfyui")
        .credits(10)
        .connection(|c| {
            c.workflow = Some(workflow());
            c.models = vec!["comfyui-image".into()];
        })
        .serve(move |r| match r.route().as_str() {
            "POST /prompt" => Reply::json(200, json!({"prompt_id": PROMPT_ID, "number": 1, "node_errors": {}})),
            "GET /queue" => Reply::json(200, json!({"queue_running": [[1, PROMPT_ID, {}, {}, ["9"]]], "queue_pending": []})),
            route if route == format!("GET /history/{PROMPT_ID}") => {
                if polls.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Reply::json(200, json!({}));
                }
                let entry = match outcome {
                    Outcome::Saved => json!({
                        "outputs": {"9": {"images": [{"filename": "reelvault_00001_.png", "subfolder": "", "type": "output"}]}},
                        "status": {"status_str": "success", "completed": true, "messages": []},
                    }),
                    Outcome::MissingModel => json!({
                        "outputs": {},
                        "status": {"status_str": "error", "completed": false, "messages": [["execution_error", {
                            "prompt_id": PROMPT_ID, "node_id": "4", "node_type": "CheckpointLoaderSimple",
                            "exception_type": "FileNotFoundError", "exception_message": "Model sd15.safetensors not found on this server."}]]},
                    }),
                };
                Reply::json(200, json!({ PROMPT_ID: entry }))
            }
            "GET /view" if r.query_param("filename").as_deref() == Some("reelvault_00001_.png") => Reply::bytes(200, "image/png", png()),
            "POST /history" => Reply::status(200),
            _ => Reply::text(404, "404: Not Found"),
        })
        .await
}

fn harbour() -> serde_json::Value {
    json!({"model": "comfyui-image", "prompt": "a quiet harbour at dawn", "negative_prompt": "people",
        "params": {"width": 640, "height": 384, "seed": 99}})
}

#[tokio::test]
async fn a_workflow_image_is_queued_polled_stored_and_its_history_dropped() {
    let rig = rig(Outcome::Saved).await;
    let done = rig.stores(harbour(), 1, &[&png()]).await;
    assert_eq!(done["outputs"][0]["content_type"], "image/png");

    let prompt = rig.fake.requests_to("POST /prompt")[0].json()["prompt"].clone();
    assert_eq!(prompt["3"]["inputs"]["seed"], 99);
    assert_eq!(prompt["5"]["inputs"], json!({"width": 640, "height": 384, "batch_size": 1}));
    assert_eq!(prompt["6"]["inputs"]["text"], "a quiet harbour at dawn");
    assert_eq!(prompt["7"]["inputs"]["text"], "people");
    rig.assert_deleted_after("GET /view", "POST /history").await;
    assert_eq!(rig.fake.requests_to("POST /history")[0].json(), json!({"delete": [PROMPT_ID]}));
    rig.stop().await;
}

#[tokio::test]
async fn a_prompt_that_fails_on_the_server_shows_comfyuis_message_and_releases_the_hold() {
    let rig = rig(Outcome::MissingModel).await;
    rig.fails_showing(harbour(), "provider.invalid_input", &["refused the request", "Model sd15.safetensors not found on this server."])
        .await;
    assert!(rig.fake.requests_to("GET /view").is_empty());
    rig.stop().await;
}
