//! The Runway adapter end to end against a fake Runway API: a Gen-4.5 video goes from
//! POST /api/v1/generations to the vault, and a moderated task fails with the
//! content-policy reason and releases its hold.

use std::sync::atomic::{AtomicU32, Ordering};

use fake_upstream::{Reply, Request};
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, origin, provider};

const KEY: &str = "rw-it-key";
const CREDITS: i64 = 500;
const TASK: &str = "0b1e6f3c-it";
const MP4: &[u8] = b"\x00\x00\x00\x18ftypmp42 runway bytes from the fake";

/// The app with a fake Runway API; `moderated` makes the task fail with `SAFETY.INPUT.TEXT`.
async fn rig(moderated: bool) -> ProviderRig {
    let polls = AtomicU32::new(0);
    provider("runway", "runway")
        .key(KEY)
        .under("v1/")
        .credits(CREDITS)
        .refuse_when(
            |r| {
                let keyed =
                    r.header("authorization") == Some(&format!("Bearer {KEY}")) && r.header("x-runway-version") == Some("2024-11-06");
                r.path != "/cdn/out.mp4" && !keyed
            },
            Reply::json(401, json!({"error": "Invalid API key"})),
        )
        .serve(move |r: &Request| {
            if r.path == "/cdn/out.mp4" {
                return Reply::bytes(200, "video/mp4", MP4);
            }
            match r.route().as_str() {
                "POST /v1/text_to_video" | "POST /v1/text_to_image" => Reply::json(200, json!({"id": TASK})),
                "GET /v1/tasks/0b1e6f3c-it" => {
                    let answer = match (polls.fetch_add(1, Ordering::SeqCst), moderated) {
                        (0, _) => json!({"id": TASK, "status": "RUNNING", "progress": 0.5}),
                        (_, true) => json!({"id": TASK, "status": "FAILED", "failure": "The prompt did not pass moderation.", "failureCode": "SAFETY.INPUT.TEXT"}),
                        (_, false) => json!({"id": TASK, "status": "SUCCEEDED", "output": [format!("{}cdn/out.mp4?sig=1", origin(r))]}),
                    };
                    Reply::json(200, answer)
                }
                "DELETE /v1/tasks/0b1e6f3c-it" => Reply::status(204),
                _ => Reply::json(404, json!({"error": "Not found"})),
            }
        })
        .await
}

#[tokio::test]
async fn a_gen45_video_reaches_the_vault_and_the_task_is_deleted_upstream() {
    let rig = rig(false).await;
    let body =
        json!({"model": "runway-gen4.5", "prompt": "a paper boat on a puddle", "params": {"duration": 5, "ratio": "720:1280", "seed": 11}});
    rig.stores(body, 5 * 12, &[MP4]).await;
    let sent = rig.fake.requests_to("POST /v1/text_to_video")[0].json();
    assert_eq!(sent, json!({"model": "gen4.5", "promptText": "a paper boat on a puddle", "ratio": "720:1280", "duration": 5, "seed": 11}));
    rig.assert_keyless("GET /cdn/out.mp4");
    rig.assert_deleted_after("GET /cdn/out.mp4", "DELETE /v1/tasks/0b1e6f3c-it").await;
    rig.stop().await;
}

#[tokio::test]
async fn a_moderated_task_fails_as_content_policy_and_releases_the_hold() {
    let rig = rig(true).await;
    let body = json!({"model": "runway-gen4.5", "prompt": "something Runway refuses", "params": {"duration": 10}});
    rig.fails_showing(body, "provider.content_policy", &["content policy", "did not pass moderation"]).await;
    rig.stop().await;
}

#[tokio::test]
async fn a_cast_member_reaches_runway_under_its_name_which_the_prompt_uses() {
    let rig = rig(false).await;
    let (maya, _) = crate::cast::member(&rig.app.url, &rig.token, "Maya", &[(40, 40)]).await;
    let body = json!({"model": "runway-gen4-image", "prompt": "@Maya at a night market", "cast": [maya]});
    let made = crate::support::generate(&rig.app.url, &rig.token, body).await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.json()["references"][0]["tag"], "Maya", "{}", made.body);
    crate::support::eventually("Runway is asked for the image", async || !rig.fake.requests_to("POST /v1/text_to_image").is_empty()).await;
    let sent = rig.fake.requests_to("POST /v1/text_to_image")[0].json();
    assert_eq!(sent["promptText"], "@Maya at a night market");
    let references = sent["referenceImages"].as_array().unwrap();
    assert_eq!(references.len(), 1, "{sent}");
    assert_eq!(references[0]["tag"], "Maya");
    assert!(references[0]["uri"].as_str().unwrap().starts_with("data:image/"), "{sent}");
    rig.stop().await;
}
