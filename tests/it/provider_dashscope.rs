//! The DashScope adapter end to end: the app with a `dashscope` connection to a fake that speaks
//! DashScope's wire format (the async header on the video submit, `output.task_status` PENDING →
//! SUCCEEDED with a signed `video_url`, downloaded without the key; Wan images answered at once).

use fake_upstream::{Reply, Request};
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, origin, provider};

/// wan-2.7-t2v, 5 s at the 1080P rate of 15 credits a second.
const PRICE: i64 = 75;
const KEY: &str = "sk-it-key";
const VIDEO: &[u8] = b"\x00\x00\x00\x18ftypmp42 wan video bytes";
const IMAGE: &[u8] = b"\x89PNG\r\n\x1a\n wan image bytes";
const SUBMIT: &str = "POST /api/v1/services/aigc/video-generation/video-synthesis";

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, json!({"code": code, "message": message, "request_id": "r0"}))
}

/// A fake answering each poll with `output` (a FAILED task, or SUCCEEDED with a signed URL
/// when `output` is null).
async fn rig(output: serde_json::Value) -> ProviderRig {
    provider("dashscope", "dashscope")
        .key(KEY)
        .bearer_required(&["/oss/"], error(401, "InvalidApiKey", "Invalid API-key provided."))
        .refuse_when(
            |r: &Request| r.route() == SUBMIT && r.header("x-dashscope-async") != Some("enable"),
            error(400, "InvalidParameter", "current user api does not support synchronous calls"),
        )
        .serve(move |r| match r.route().as_str() {
            SUBMIT => Reply::json(200, json!({"output": {"task_id": "t1", "task_status": "PENDING"}, "request_id": "r1"})),
            "GET /api/v1/tasks/t1" => {
                let output = match &output {
                    serde_json::Value::Null => json!({"task_id": "t1", "task_status": "SUCCEEDED",
                        "video_url": format!("{}oss/t1.mp4?Expires=1&Signature=s", origin(r))}),
                    failed => failed.clone(),
                };
                Reply::json(200, json!({"request_id": "r2", "output": output}))
            }
            "POST /api/v1/services/aigc/multimodal-generation/generation" => Reply::json(200, json!({"request_id": "r3", "output": {
                "choices": [{"message": {"role": "assistant", "content": [{"type": "image", "image": format!("{}oss/i1.png?Expires=1", origin(r))}]}}]
            }})),
            "GET /oss/t1.mp4" => Reply::bytes(200, "video/mp4", VIDEO),
            "GET /oss/i1.png" => Reply::bytes(200, "image/png", IMAGE),
            _ => Reply::status(404),
        })
        .await
}

fn wan(prompt: &str) -> serde_json::Value {
    json!({"model": "wan-2.7-t2v", "prompt": prompt, "params": {"duration": 5, "ratio": "9:16"}})
}

#[tokio::test]
async fn a_wan_video_is_generated_and_taken_into_custody() {
    let rig = rig(serde_json::Value::Null).await;
    rig.stores(wan("a lantern drifting on a lake"), PRICE, &[VIDEO]).await;
    let body = rig.fake.requests_to(SUBMIT)[0].json();
    assert_eq!(
        body,
        json!({"model": "wan2.7-t2v", "input": {"prompt": "a lantern drifting on a lake"},
            "parameters": {"duration": 5, "resolution": "1080P", "ratio": "9:16", "watermark": false}})
    );
    rig.assert_keyless("GET /oss/");
    rig.stop().await;
}

#[tokio::test]
async fn a_wan_image_answers_at_once_and_is_taken_into_custody() {
    let rig = rig(serde_json::Value::Null).await;
    rig.stores(json!({"model": "wan-2.7-image", "prompt": "a paper crane"}), 3, &[IMAGE]).await;
    let body = rig.fake.requests_to("POST /api/v1/services/aigc/multimodal-generation/generation")[0].json();
    assert_eq!(body["input"]["messages"][0]["content"], json!([{"text": "a paper crane"}]));
    assert_eq!(body["parameters"]["size"], "2K");
    rig.assert_keyless("GET /oss/");
    rig.stop().await;
}

#[tokio::test]
async fn a_moderated_task_fails_with_a_content_policy_reason_and_releases_the_hold() {
    let failed = json!({"task_id": "t1", "task_status": "FAILED", "code": "DataInspectionFailed",
        "message": "Output data may contain inappropriate content."});
    let rig = rig(failed).await;
    rig.fails_showing(wan("something DashScope refuses"), "provider.content_policy", &["content policy", "inappropriate content"]).await;
    rig.stop().await;
}

#[tokio::test]
async fn a_key_of_another_region_fails_saying_so() {
    let rig =
        provider("dashscope", "dashscope").key("sk-intl-key").serve(|_| error(401, "InvalidApiKey", "Invalid API-key provided.")).await;
    rig.fails_showing(wan("a fox"), "provider.auth", &["region"]).await;
    rig.stop().await;
}
