//! Gemini Omni end to end against a fake Interactions API: an Omni video goes from POST
//! /api/v1/generations to the vault with the fake's inline bytes, and a safety failure shows the
//! content-policy reason and releases its hold.

use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine;
use fake_upstream::Reply;
use serde_json::json;

use crate::provider_gemini::{KEY, gemini};
use crate::support::provider_rig::ProviderRig;

const MP4: &[u8] = b"\x00\x00\x00\x18ftypmp42 omni bytes from the fake";

/// The app with a fake Interactions API: one `in_progress` poll, then `completed` with the video
/// inline, or `failed` with a safety error when `refused`.
async fn rig(refused: bool) -> ProviderRig {
    let polls = AtomicU32::new(0);
    gemini().serve(move |r| match r.route().as_str() {
            "POST /v1beta/interactions" => Reply::json(200, json!({"id": "omni-it1", "status": "queued"})),
            "GET /v1beta/interactions/omni-it1" if polls.fetch_add(1, Ordering::SeqCst) == 0 => {
                Reply::json(200, json!({"id": "omni-it1", "status": "in_progress"}))
            }
            "GET /v1beta/interactions/omni-it1" if refused => Reply::json(
                200,
                json!({"id": "omni-it1", "status": "failed", "errors": [{"code": 3, "message": "The request was blocked by safety filters."}]}),
            ),
            "GET /v1beta/interactions/omni-it1" => {
                let data = base64::engine::general_purpose::STANDARD.encode(MP4);
                Reply::json(200, json!({"id": "omni-it1", "status": "completed", "output_video": {"data": data, "mime_type": "video/mp4"}}))
            }
            "DELETE /v1beta/interactions/omni-it1" => Reply::json(200, json!({})),
            _ => Reply::json(404, json!({"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}})),
        })
        .await
}

#[tokio::test]
async fn an_omni_video_reaches_the_vault_with_the_interactions_bytes() {
    let rig = rig(false).await;
    let body = json!({"model": "gemini-omni-1.1-flash", "prompt": "a kite over dunes", "params": {"duration": 5, "aspect_ratio": "9:16"}});
    // 5 s at 10 credits a second
    rig.stores(body, 50, &[MP4]).await;
    let sent = rig.fake.requests_to("POST /v1beta/interactions")[0].json();
    assert_eq!(
        sent,
        json!({
            "model": "gemini-omni-1.1-flash",
            "input": "a kite over dunes",
            "background": true,
            "response_modalities": ["video"],
            "response_format": {"type": "video", "aspect_ratio": "9:16", "resolution": "720p", "duration": "5s"},
            "generation_config": {"video_config": {"task": "text_to_video"}},
        })
    );
    assert!(rig.fake.requests().iter().all(|r| r.header("x-goog-api-key") == Some(KEY)));
    rig.stop().await;
}

#[tokio::test]
async fn a_safety_failure_shows_content_policy_and_releases_the_hold() {
    let rig = rig(true).await;
    let body = json!({"model": "gemini-omni-1.1-flash", "prompt": "something Omni refuses"});
    rig.fails_showing(body, "provider.content_policy", &["content policy", "safety"]).await;
    rig.stop().await;
}
