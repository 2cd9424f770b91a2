//! Polling that follows the reader: a running job whose status someone reads is polled upstream
//! then (when its last poll is old enough), so it is seen done about as soon as the provider is;
//! and reads never drive more than two polls a second of one job, however often they come.

use std::time::Instant;

use fake_upstream::Reply;
use serde_json::json;

use crate::support::api::api_get;
use crate::support::provider_rig::provider;

/// Retrieves that answer `in_progress` before the one that answers `completed`.
const PENDING_POLLS: usize = 3;

fn video(status: &str) -> Reply {
    // no `openai-poll-after-ms` hint: the engine's own schedule (2 s, then growing) applies
    Reply::json(
        200,
        json!({"id": "video_1", "object": "video", "model": "sora-2", "status": status, "progress": 50,
        "created_at": 1_790_000_000, "completed_at": null, "expires_at": null, "seconds": "4", "size": "1280x720",
        "prompt": "a kite", "remixed_from_video_id": null, "error": null}),
    )
}

#[tokio::test]
async fn reading_a_running_job_polls_it_and_reads_never_flood_the_provider() {
    let polls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = polls.clone();
    let rig = provider("openai", "openai_videos")
        .key("sk-polling")
        .serve(move |r| match r.route().as_str() {
            "POST /v1/videos" => video("queued"),
            "GET /v1/videos/video_1" => {
                let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                video(if n > PENDING_POLLS { "completed" } else { "in_progress" })
            }
            "GET /v1/videos/video_1/content" if r.query_param("variant").is_none() => {
                Reply::bytes(200, "video/mp4", &b"\x00\x00\x00\x18ftypmp42 a kite"[..])
            }
            _ => Reply::status(404),
        })
        .await;
    let id = rig.submit(json!({"model": "sora-2", "prompt": "a kite"})).await;
    let started = Instant::now();
    let mut reads = 0;
    let done = loop {
        let seen = api_get(&rig.app.url, &format!("/api/v1/generations/{id}"), Some(&rig.token)).await.json();
        reads += 1;
        if seen["state"] == "succeeded" || reads >= 400 {
            break seen;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(done["state"], "succeeded", "{done}");
    let polled = polls.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(polled, PENDING_POLLS + 1, "polled until done, and not again");
    // the schedule alone would poll a fourth time only after 0.5 + 3 + 4.5 + 6.75 s (±20 % jitter)
    assert!(elapsed < 8.0, "reads brought the polls forward: done after {elapsed:.1} s and {reads} reads");
    assert!((polled as f64) <= elapsed * 2.0 + 2.0, "{polled} polls in {elapsed:.1} s: reads drive at most two a second");
    rig.stop().await;
}
