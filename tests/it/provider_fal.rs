//! The fal adapter end to end against a fake queue API: a Kling video request is queued,
//! polled through its status URL, read from its response URL, taken into custody from the
//! "CDN" and settled; a request whose result is refused by fal's content checker fails with
//! the content-policy reason, shown on its page, and its hold is released.

use std::sync::atomic::{AtomicUsize, Ordering};

use fake_upstream::Reply;
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, media_bytes, origin, provider};

const KEY: &str = "fal-id:fal-secret";
/// A 5-second Kling 2.1 Master video at 28 credits a second.
const PRICE: i64 = 140;

/// The "CDN" copy of the video.
fn mp4() -> Vec<u8> {
    media_bytes(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", 4096, 0)
}

#[derive(Clone, Copy)]
enum Outcome {
    Video,
    Refused,
}

/// The app with the queue API and the "CDN" on one fake (the CDN path needs no key).
async fn rig(outcome: Outcome) -> ProviderRig {
    let polls = AtomicUsize::new(0);
    provider("fal", "fal")
        .key(KEY)
        .credits(300)
        .refuse_when(
            |r| r.path != "/cdn/clip.mp4" && r.header("authorization") != Some(&format!("Key {KEY}")),
            Reply::json(401, json!({"detail": "No user found for Key ID and Secret"})),
        )
        .serve(move |r| {
            if r.path == "/cdn/clip.mp4" {
                return Reply::bytes(200, "video/mp4", mp4());
            }
            let url = |suffix: &str| format!("{}fal-ai/kling-video/requests/q-1{suffix}", origin(r));
            match r.route().as_str() {
                "POST /fal-ai/kling-video/v2.1/master/text-to-video" => Reply::json(
                    200,
                    json!({"request_id": "q-1", "status_url": url("/status"), "response_url": url(""), "cancel_url": url("/cancel")}),
                ),
                "GET /fal-ai/kling-video/requests/q-1/status" => match polls.fetch_add(1, Ordering::SeqCst) {
                    0 => Reply::json(202, json!({"status": "IN_QUEUE", "queue_position": 0})),
                    _ => Reply::json(200, json!({"status": "COMPLETED", "logs": []})),
                },
                "GET /fal-ai/kling-video/requests/q-1" => match outcome {
                    Outcome::Video => {
                        Reply::json(200, json!({"video": {"url": format!("{}cdn/clip.mp4", origin(r)), "content_type": "video/mp4"}}))
                    }
                    Outcome::Refused => Reply::json(
                        422,
                        json!({"detail": [{"loc": ["body", "prompt"], "msg": "The prompt was flagged by the content checker.",
                            "type": "content_policy_violation"}]}),
                    ),
                },
                _ => Reply::json(404, json!({"detail": "Not found"})),
            }
        })
        .await
}

fn master() -> serde_json::Value {
    json!({"model": "fal-kling-v2.1-master", "prompt": "a paper boat on a rainy street",
        "negative_prompt": "blur", "params": {"duration": 5, "aspect_ratio": "9:16"}})
}

#[tokio::test]
async fn a_kling_video_is_queued_polled_stored_and_settled() {
    let rig = rig(Outcome::Video).await;
    let done = rig.stores(master(), PRICE, &[&mp4()]).await;
    assert_eq!(done["outputs"][0]["content_type"], "video/mp4");
    let create = &rig.fake.requests_to("POST /fal-ai/")[0];
    assert_eq!(
        create.json(),
        json!({"prompt": "a paper boat on a rainy street", "negative_prompt": "blur", "duration": "5", "aspect_ratio": "9:16"})
    );
    rig.stop().await;
}

#[tokio::test]
async fn a_result_refused_by_the_content_checker_fails_and_releases_the_hold() {
    let rig = rig(Outcome::Refused).await;
    rig.fails_showing(master(), "provider.content_policy", &["content policy blocked this", "flagged by the content checker"]).await;
    assert_eq!(rig.fake.requests_to("GET /fal-ai/kling-video/requests/q-1").len(), 3, "two status polls, one result read, no retries");
    rig.stop().await;
}
