//! The xAI adapter end to end: the app with an `xai` connection to a fake that speaks xAI's
//! Grok Imagine wire format: a deferred video (`request_id`, 202 while running, `done` with a
//! temporary URL), an edit of an uploaded video sent inline, and synchronous images with
//! temporary URLs, all fetched without the key.

use base64::Engine;
use fake_upstream::Reply;
use serde_json::json;

use crate::support::fake_openai::playable_mp4;
use crate::support::provider_rig::{ProviderRig, image_bytes, origin, provider};
use crate::uploads::upload;

const KEY: &str = "xai-it-key";
const VIDEO: &[u8] = b"\x00\x00\x00\x18ftypmp42 grok imagine video bytes";

/// Answers the poll of `r1` with one empty 202, then `outcome`.
async fn rig(outcome: serde_json::Value) -> ProviderRig {
    let image = image_bytes(image::ImageFormat::Png, 32, 24, 7);
    let polls = std::sync::atomic::AtomicUsize::new(0);
    provider("grok", "xai")
        .key(KEY)
        .bearer_required(&["/blob/"], Reply::json(401, json!({"code": "unauthenticated", "error": "Incorrect API key provided"})))
        .serve(move |r| match r.route().as_str() {
            "POST /v1/videos/generations" | "POST /v1/videos/edits" => Reply::json(200, json!({"request_id": "r1"})),
            "GET /v1/videos/r1" if polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 => Reply::status(202),
            "GET /v1/videos/r1" => {
                let mut body = outcome.clone();
                if let Some(video) = body.get_mut("video") {
                    video["url"] = json!(format!("{}blob/v.mp4", origin(r)));
                }
                Reply::json(200, body)
            }
            "GET /blob/v.mp4" => Reply::bytes(200, "video/mp4", VIDEO),
            "POST /v1/images/generations" => Reply::json(200, json!({"data": [{"url": format!("{}blob/i.png", origin(r))}]})),
            "GET /blob/i.png" => Reply::bytes(200, "image/png", image.clone()),
            _ => Reply::status(404),
        })
        .await
}

fn video(prompt: &str) -> serde_json::Value {
    json!({"model": "grok-imagine-video", "prompt": prompt, "params": {"duration": 6, "audio": "off"}})
}

#[tokio::test]
async fn a_grok_video_is_generated_and_taken_into_custody() {
    let rig = rig(json!({"status": "done", "video": {"duration": 6, "respect_moderation": true}})).await;
    // 6 s at 5 credits a second
    rig.stores(video("a lighthouse in a storm"), 30, &[VIDEO]).await;
    let sent = rig.fake.requests_to("POST /v1/videos/generations")[0].json();
    assert_eq!(
        sent,
        json!({"model": "grok-imagine-video", "prompt": "a lighthouse in a storm", "duration": 6, "aspect_ratio": "16:9",
               "resolution": "720p", "generate_audio": false})
    );
    rig.assert_keyless("GET /blob/");
    rig.stop().await;
}

#[tokio::test]
async fn a_grok_image_is_generated_at_once_and_taken_into_custody() {
    let rig = rig(json!({})).await;
    let body = json!({"model": "grok-imagine-image", "prompt": "a red fox", "params": {"aspect_ratio": "3:2"}});
    rig.stores(body, 2, &[&image_bytes(image::ImageFormat::Png, 32, 24, 7)]).await;
    let sent = rig.fake.requests_to("POST /v1/images/generations")[0].json();
    assert_eq!(
        sent,
        json!({"model": "grok-imagine-image", "prompt": "a red fox", "n": 1, "response_format": "url", "aspect_ratio": "3:2", "resolution": "1k"})
    );
    rig.assert_keyless("GET /blob/");
    rig.stop().await;
}

#[tokio::test]
async fn a_video_withheld_by_moderation_fails_with_a_content_policy_reason() {
    let rig = rig(json!({"status": "done", "video": {"respect_moderation": false}})).await;
    rig.fails_showing(video("something xAI withholds"), "provider.content_policy", &["moderation"]).await;
    assert!(rig.fake.requests_to("GET /blob/").is_empty(), "a withheld video is never downloaded");
    rig.stop().await;
}

#[tokio::test]
async fn an_uploaded_video_is_edited_through_the_edits_endpoint_with_its_bytes_inline() {
    let rig = rig(json!({"status": "done", "video": {"duration": 2, "respect_moderation": true}})).await;
    let uploaded = upload(&rig.app.url, &rig.token, playable_mp4(), "clip.mp4").await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    let source = uploaded.json();
    let stored = reqwest::get(source["url"].as_str().expect("upload url")).await.unwrap().bytes().await.unwrap();
    let body = json!({
        "model": "grok-imagine-video-edit", "prompt": "turn the lagoon to ice",
        "references": [{"role": "source_video", "upload": source["id"]}],
    });
    // an edit costs 40 credits a video
    rig.stores(body, 40, &[VIDEO]).await;
    let sent = rig.fake.requests_to("POST /v1/videos/edits");
    assert_eq!(sent.len(), 1);
    let data_uri = format!("data:video/mp4;base64,{}", base64::engine::general_purpose::STANDARD.encode(&stored));
    assert_eq!(
        sent[0].json(),
        json!({"model": "grok-imagine-video", "prompt": "turn the lagoon to ice", "video": {"url": data_uri}}),
        "the stored upload goes inline, with no duration, ratio or resolution"
    );
    assert!(rig.fake.requests_to("POST /v1/videos/generations").is_empty());
    rig.assert_keyless("GET /blob/");
    rig.stop().await;
}
