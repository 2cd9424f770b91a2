//! FLUX 3 Video end to end on a `bfl` connection: a text-to-video job is sent as exactly the
//! `t2v` body, polled at the absolute `polling_url` it got back, and its signed MP4 taken into
//! custody before the fake lets it expire; a moderated video fails with its reason and releases
//! the hold.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use fake_upstream::{Reply, Request};
use serde_json::json;

use crate::support::client;
use crate::support::provider_rig::{ProviderRig, origin, provider};

const KEY: &str = "bfl-video-it-key";
const VIDEO: &[u8] = b"\x00\x00\x00\x18ftypmp42 flux 3 video bytes";
/// How long the fake serves a sample after its task is ready (BFL's last about 2 hours).
const TTL: Duration = Duration::from_secs(3);
/// 5 s at 10 credits a second (HD, no draft).
const PRICE: i64 = 50;

/// A fake that accepts only `expected` as the submit body, answers the poll once Pending, then
/// `outcome` (its `result.sample`, when it has one, pointing at the fake), and serves the
/// sample keyless for [`TTL`] after that.
async fn rig(expected: serde_json::Value, outcome: serde_json::Value) -> ProviderRig {
    let ready_at: Mutex<Option<Instant>> = Mutex::new(None);
    provider("bfl", "bfl")
        .key(KEY)
        .connection(|c| c.timeout = Duration::from_secs(2))
        .refuse_when(
            |r| !r.path.starts_with("/results/") && r.header("x-key") != Some(KEY),
            Reply::json(401, json!({"detail": "Not authenticated"})),
        )
        .serve(move |r: &Request| match r.route().as_str() {
            "POST /v1/flux-3-video" if r.json() == expected => {
                Reply::json(200, json!({"id": "v-e2e", "polling_url": format!("{}eu1/v1/get_result?id=v-e2e", origin(r))}))
            }
            "POST /v1/flux-3-video" => Reply::json(
                422,
                json!({"detail": [{"loc": ["body"], "msg": format!("unexpected body {}", r.json()), "type": "extra_forbidden"}]}),
            ),
            "GET /eu1/v1/get_result" => {
                let mut ready = ready_at.lock().unwrap();
                if ready.is_none() && r.query_param("id").as_deref() == Some("v-e2e") {
                    *ready = Some(Instant::now());
                    return Reply::json(200, json!({"id": "v-e2e", "status": "Pending", "progress": 0.3}));
                }
                let mut body = outcome.clone();
                if body["result"].get("sample").is_some() {
                    body["result"]["sample"] = json!(format!("{}results/v-e2e.mp4?se=2h&sig=s", origin(r)));
                }
                Reply::json(200, body)
            }
            "GET /results/v-e2e.mp4" if r.header("x-key").is_none() => match *ready_at.lock().unwrap() {
                Some(at) if at.elapsed() < TTL => Reply::bytes(200, "video/mp4", VIDEO),
                _ => Reply::text(404, "<Error><Code>BlobNotFound</Code></Error>"),
            },
            _ => Reply::status(404),
        })
        .await
}

fn text_to_video(prompt: &str) -> serde_json::Value {
    json!({"model": "flux-3-video", "prompt": prompt, "params": {"duration": 5, "audio": "off"}})
}

fn t2v_body(prompt: &str) -> serde_json::Value {
    json!({"mode": "t2v", "prompt": prompt, "aspect_ratio": "16:9", "resolution": "hd", "duration": 5, "generate_audio": false})
}

#[tokio::test]
async fn a_flux_3_video_is_in_custody_before_its_signed_url_expires() {
    let prompt = "a fox running through fresh snow";
    let rig = rig(t2v_body(prompt), json!({"id": "v-e2e", "status": "Ready", "result": {"sample": "", "duration": 5}, "cost": 50})).await;
    let done = rig.stores(text_to_video(prompt), PRICE, &[VIDEO]).await;
    assert_eq!(done["outputs"][0]["content_type"], "video/mp4");
    assert_eq!(rig.fake.requests_to("POST /v1/flux-3-video").len(), 1);
    assert!(rig.fake.requests_to("GET /eu1/v1/get_result").len() >= 2, "polled at the returned URL");
    assert!(rig.fake.requests_to("GET /results/").iter().all(|r| r.header("x-key").is_none()), "fetched without the key");

    // once BFL's URL has expired, the video is still served from custody
    let sample = rig.fake.at("results/v-e2e.mp4?se=2h&sig=s");
    crate::support::eventually("the sample URL expires", async || {
        client().get(sample.clone()).send().await.is_ok_and(|r| r.status() == 404)
    })
    .await;
    rig.assert_output(&done, 0, VIDEO).await;
    rig.stop().await;
}

#[tokio::test]
async fn a_moderated_flux_3_video_fails_with_its_reason_and_releases_the_hold() {
    let prompt = "something BFL withholds";
    let moderated =
        json!({"id": "v-e2e", "status": "Content Moderated", "result": null, "details": {"Moderation Reasons": ["Public Figure"]}});
    let rig = rig(t2v_body(prompt), moderated).await;
    rig.fails_showing(text_to_video(prompt), "provider.content_policy", &["withheld the generated video", "Public Figure"]).await;
    assert_eq!(rig.fake.requests_to("POST /v1/flux-3-video").len(), 1, "not resubmitted");
    assert!(rig.fake.requests_to("GET /results/").is_empty(), "nothing to fetch");
    rig.stop().await;
}
