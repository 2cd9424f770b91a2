//! The MiniMax adapter end to end: the app with a `minimax` connection to a fake that speaks
//! MiniMax's wire formats: v1 for Hailuo (`base_resp`, Preparing → Success, `files/retrieve` →
//! CDN download) and v2 for MiniMax-H3 (`content[]`, a task with a direct video URL).

use fake_upstream::Reply;
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, origin, provider};

/// hailuo-02, 6 s at 9 credits a second.
const PRICE: i64 = 54;
const KEY: &str = "mm-it-key";
const VIDEO: &[u8] = b"\x00\x00\x00\x18ftypmp42 hailuo video bytes";

/// Answers the query with `outcome` (merged into `{task_id, base_resp: 0}` unless it has its own).
async fn rig(outcome: serde_json::Value) -> ProviderRig {
    provider("minimax", "minimax")
        .key(KEY)
        .bearer_required(&["/cdn/"], Reply::json(200, json!({"base_resp": {"status_code": 1004, "status_msg": "authentication failed"}})))
        .serve(move |r| {
            let ok = |mut body: serde_json::Value| {
                if body.get("base_resp").is_none() {
                    body["base_resp"] = json!({"status_code": 0, "status_msg": "success"});
                }
                Reply::json(200, body)
            };
            match r.route().as_str() {
                "POST /v1/video_generation" => ok(json!({"task_id": "mm-1"})),
                "GET /v1/query/video_generation" => ok(outcome.clone()),
                "GET /v1/files/retrieve" => ok(json!({"file": {
                    "file_id": 77, "bytes": VIDEO.len(), "filename": "output.mp4", "purpose": "video_generation",
                    "download_url": format!("{}cdn/output.mp4?Signature=s", origin(r))
                }})),
                "GET /cdn/output.mp4" => Reply::bytes(200, "video/mp4", VIDEO),
                "POST /v2/video_generation" => ok(json!({"task_id": "h3-1"})),
                "GET /v2/query/video_generation/h3-1" => {
                    ok(json!({"task": {"id": "h3-1", "status": "succeeded", "content": {"url": format!("{}cdn/output.mp4?Signature=s", origin(r))}}}))
                }
                _ => Reply::status(404),
            }
        })
        .await
}

fn hailuo(prompt: &str) -> serde_json::Value {
    json!({"model": "hailuo-02", "prompt": prompt, "params": {"duration": 6}})
}

#[tokio::test]
async fn a_hailuo_video_is_generated_and_taken_into_custody() {
    let rig = rig(json!({"task_id": "mm-1", "status": "Success", "file_id": "77", "video_width": 1366, "video_height": 768})).await;
    rig.stores(hailuo("a lantern drifting on a lake"), PRICE, &[VIDEO]).await;

    let body = rig.fake.requests_to("POST /v1/video_generation")[0].json();
    assert_eq!(body, json!({"model": "MiniMax-Hailuo-02", "prompt": "a lantern drifting on a lake", "duration": 6, "resolution": "768P"}));
    assert_eq!(rig.fake.requests_to("GET /v1/files/retrieve")[0].query_param("file_id").as_deref(), Some("77"));
    rig.assert_keyless("GET /cdn/");
    rig.stop().await;
}

#[tokio::test]
async fn a_hailuo_sensitive_content_failure_is_a_content_policy_reason() {
    let rig =
        rig(json!({"task_id": "mm-1", "status": "Fail", "base_resp": {"status_code": 1026, "status_msg": "input new_sensitive"}})).await;
    rig.fails_showing(hailuo("something MiniMax refuses"), "provider.content_policy", &["content policy", "new_sensitive"]).await;
    rig.stop().await;
}

#[tokio::test]
async fn an_h3_video_goes_through_the_v2_endpoints_and_is_taken_into_custody() {
    let rig = rig(json!({})).await;
    let body =
        json!({"model": "minimax-h3", "prompt": "a paper crane unfolding", "params": {"duration": 5, "resolution": "2K", "ratio": "9:16"}});
    // 5 s at the 2K rate of 20 credits a second
    rig.stores(body, 100, &[VIDEO]).await;
    let sent = rig.fake.requests_to("POST /v2/video_generation")[0].json();
    assert_eq!(
        sent,
        json!({"model": "MiniMax-H3", "content": [{"type": "text", "text": "a paper crane unfolding"}],
            "resolution": "2K", "duration": 5, "ratio": "9:16"})
    );
    assert!(rig.fake.requests_to("POST /v1/").is_empty(), "H3 never goes to the v1 endpoint");
    rig.assert_keyless("GET /cdn/");
    rig.stop().await;
}
