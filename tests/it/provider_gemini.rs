//! The Gemini adapter end to end against a fake Gemini API: a Veo video and a Gemini image
//! go from POST /api/v1/generations to the vault, and a Responsible-AI filtered video fails
//! with the content-policy reason and releases its hold.

use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine;
use fake_upstream::Reply;
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, RigBuilder, origin, provider};

pub const KEY: &str = "gm-it-key";
const CREDITS: i64 = 1000;
const OP: &str = "models/veo-3.1-fast-generate-preview/operations/it1";
const MP4: &[u8] = b"\x00\x00\x00\x18ftypmp42 veo bytes from the fake";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n gemini image bytes";

/// An app with `CREDITS` and a `gemini` connection keyed with `KEY` to a fake under `/v1beta/`
/// that refuses any request without the key.
pub fn gemini() -> RigBuilder {
    provider("google", "gemini").key(KEY).under("v1beta/").credits(CREDITS).refuse_when(
        |r| r.header("x-goog-api-key") != Some(KEY),
        Reply::json(401, json!({"error": {"code": 401, "message": "no key", "status": "UNAUTHENTICATED"}})),
    )
}

/// The app with a fake Gemini API; `filtered` makes Veo finish with an RAI filter instead of a video.
async fn rig(filtered: bool) -> ProviderRig {
    let polls = AtomicU32::new(0);
    gemini().serve(move |r| {
            match r.route().as_str() {
                "POST /v1beta/models/veo-3.1-fast-generate-preview:predictLongRunning" => Reply::json(200, json!({"name": OP})),
                "GET /v1beta/models/veo-3.1-fast-generate-preview/operations/it1" => {
                    if polls.fetch_add(1, Ordering::SeqCst) == 0 {
                        return Reply::json(200, json!({"name": OP}));
                    }
                    let response = if filtered {
                        json!({"generateVideoResponse": {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": ["The prompt could not be submitted because it violates the usage guidelines."]}})
                    } else {
                        let uri = format!("{}v1beta/files/it1:download?alt=media", origin(r));
                        json!({"generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]}})
                    };
                    Reply::json(200, json!({"name": OP, "done": true, "response": response}))
                }
                "GET /v1beta/files/it1:download" => Reply::bytes(200, "video/mp4", MP4),
                "DELETE /v1beta/files/it1" => Reply::json(200, json!({})),
                "POST /v1beta/models/gemini-3.1-flash-image:generateContent" => Reply::json(
                    200,
                    json!({"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": base64::engine::general_purpose::STANDARD.encode(PNG)}}]}, "finishReason": "STOP"}]}),
                ),
                _ => Reply::json(404, json!({"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}})),
            }
        })
        .await
}

#[tokio::test]
async fn a_veo_video_and_a_gemini_image_reach_the_vault() {
    let rig = rig(false).await;
    let body = json!({"model": "veo-3.1-fast", "prompt": "waves on a basalt shore", "params": {"duration": 4, "aspect_ratio": "9:16"}});
    rig.stores(body, 4 * 15, &[MP4]).await;
    let submitted = rig.fake.requests_to("POST /v1beta/models/veo-3.1-fast-generate-preview:predictLongRunning")[0].json();
    assert_eq!(submitted["parameters"], json!({"aspectRatio": "9:16", "resolution": "720p", "durationSeconds": 4}));
    rig.assert_deleted_after("GET /v1beta/files/it1:download", "DELETE /v1beta/files/it1").await;

    let done = rig.succeeds(json!({"model": "gemini-3.1-flash-image", "prompt": "a brass compass"}), 60 + 7).await;
    assert_eq!(done["outputs"][0]["content_type"], "image/png");
    rig.assert_output(&done, 0, PNG).await;
    rig.stop().await;
}

#[tokio::test]
async fn a_filtered_veo_video_fails_as_content_policy_and_releases_the_hold() {
    let rig = rig(true).await;
    let body = json!({"model": "veo-3.1-fast", "prompt": "something Veo refuses", "params": {"duration": 8}});
    rig.fails_showing(body, "provider.content_policy", &["content policy", "usage guidelines"]).await;
    rig.stop().await;
}
