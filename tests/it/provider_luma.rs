//! The Luma Dream Machine adapter end to end: the app with a `luma` connection to a fake that
//! speaks the Dream Machine wire format (Generation objects, `assets.video`, DELETE after custody).

use fake_upstream::Reply;
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, origin, provider};

/// luma-ray-flash-2, 5 s at 5 credits a second.
const PRICE: i64 = 25;
const VIDEO: &[u8] = b"\x00\x00\x00\x18ftypmp42 ray flash bytes";

/// Answers the poll with `outcome` (a Generation; `assets.video` is pointed at the fake's CDN).
async fn rig(outcome: serde_json::Value) -> ProviderRig {
    provider("luma", "luma")
        .key("luma-it-key")
        .bearer_required(&["/cdn/"], Reply::json(401, json!({"detail": "Invalid API key"})))
        .serve(move |r| match r.route().as_str() {
            "POST /dream-machine/v1/generations/video" => Reply::json(201, json!({"id": "lg-1", "state": "queued", "assets": null})),
            "GET /dream-machine/v1/generations/lg-1" => {
                let mut g = outcome.clone();
                if let Some(video) = g.pointer_mut("/assets/video") {
                    *video = json!(format!("{}cdn/lg-1.mp4", origin(r)));
                }
                Reply::json(200, g)
            }
            "GET /cdn/lg-1.mp4" => Reply::bytes(200, "video/mp4", VIDEO),
            "DELETE /dream-machine/v1/generations/lg-1" => Reply::status(204),
            _ => Reply::json(404, json!({"detail": "Not found"})),
        })
        .await
}

fn ray(prompt: &str) -> serde_json::Value {
    json!({"model": "luma-ray-flash-2", "prompt": prompt, "params": {"duration": 5}})
}

#[tokio::test]
async fn a_luma_video_is_generated_taken_into_custody_and_deleted_upstream() {
    let rig = rig(json!({"id": "lg-1", "state": "completed", "assets": {"video": ""}})).await;
    rig.stores(ray("a koi pond at night"), PRICE, &[VIDEO]).await;

    let body = rig.fake.requests_to("POST /dream-machine/v1/generations/video")[0].json();
    assert_eq!(
        body,
        json!({"model": "ray-flash-2", "prompt": "a koi pond at night", "aspect_ratio": "16:9", "duration": "5s", "resolution": "720p"})
    );
    rig.assert_deleted_after("GET /cdn/lg-1.mp4", "DELETE /dream-machine/v1/generations/lg-1").await;
    rig.stop().await;
}

#[tokio::test]
async fn a_luma_moderation_failure_is_a_content_policy_reason() {
    let rig = rig(json!({"id": "lg-1", "state": "failed", "failure_reason": "Prompt failed moderation"})).await;
    rig.fails_showing(ray("something Luma refuses"), "provider.content_policy", &["content policy", "Prompt failed moderation"]).await;
    rig.stop().await;
}
