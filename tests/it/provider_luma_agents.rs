//! The Luma Agents adapter end to end: the app with a `luma_agents` connection to a fake that
//! speaks the Agents wire format (`POST /v1/generations`, `state`, `output[]`, `failure_code`).

use fake_upstream::Reply;
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, origin, provider};

/// luma-uni-1, one image.
const PRICE: i64 = 5;
const PNG: &[u8] = b"\x89PNG\r\n\x1a\nuni-1 image bytes";

/// Answers the poll with `outcome` (its `output[0].url` is pointed at the fake's bucket).
async fn rig(outcome: serde_json::Value) -> ProviderRig {
    provider("agents", "luma_agents")
        .key("luma-api-it")
        .bearer_required(&["/bucket/"], Reply::json(401, json!({"error": {"code": "unauthorized", "message": "Invalid API key"}})))
        .serve(move |r| match r.route().as_str() {
            "POST /v1/generations" => Reply::json(200, json!({"id": "ag-1", "model": "uni-1", "type": "image", "state": "queued"})),
            "GET /v1/generations/ag-1" => {
                let mut g = outcome.clone();
                if let Some(url) = g.pointer_mut("/output/0/url") {
                    *url = json!(format!("{}bucket/ag-1.png?X-Amz-Expires=3600", origin(r)));
                }
                Reply::json(200, g)
            }
            "GET /bucket/ag-1.png" => Reply::bytes(200, "image/png", PNG),
            _ => Reply::status(404),
        })
        .await
}

fn uni(prompt: &str) -> serde_json::Value {
    json!({"model": "luma-uni-1", "prompt": prompt, "params": {"aspect_ratio": "16:9"}})
}

#[tokio::test]
async fn a_uni_1_image_is_generated_and_taken_into_custody() {
    let rig = rig(json!({"id": "ag-1", "state": "completed", "output": [{"type": "image", "url": ""}]})).await;
    let done = rig.stores(uni("a lighthouse made of glass"), PRICE, &[PNG]).await;
    assert_eq!(done["outputs"][0]["content_type"], "image/png");

    let body = rig.fake.requests_to("POST /v1/generations")[0].json();
    assert_eq!(
        body,
        json!({"model": "uni-1", "type": "image", "prompt": "a lighthouse made of glass", "aspect_ratio": "16:9", "output_format": "png"})
    );
    rig.assert_keyless("GET /bucket/");
    rig.stop().await;
}

#[tokio::test]
async fn a_content_moderated_generation_is_a_content_policy_reason() {
    let rig =
        rig(json!({"id": "ag-1", "state": "failed", "failure_code": "content_moderated", "failure_reason": "The prompt was moderated"}))
            .await;
    rig.fails_showing(uni("something Luma refuses"), "provider.content_policy", &["content policy", "The prompt was moderated"]).await;
    rig.stop().await;
}
