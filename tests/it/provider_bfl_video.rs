//! FLUX 3 Video end to end on a `bfl` connection: a text-to-video job is sent as exactly the
//! `t2v` body, polled at the absolute `polling_url` it got back, and its signed MP4 taken into
//! custody before the fake lets it expire; a moderated video fails with its reason and releases
//! the hold; a draft is enhanced from its page's source with the cache its own task reports.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use fake_upstream::{Reply, Request};
use serde_json::json;

use crate::support::client;
use crate::support::provider_rig::{ProviderRig, RigBuilder, origin, provider};

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
    keyed_rig()
        .connection(|c| c.timeout = Duration::from_secs(2))
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

/// A rig whose fake refuses every request without the key except sample downloads.
fn keyed_rig() -> RigBuilder {
    let unkeyed = |r: &Request| !r.path.starts_with("/results/") && r.header("x-key") != Some(KEY);
    provider("bfl", "bfl").key(KEY).refuse_when(unkeyed, Reply::json(401, json!({"detail": "Not authenticated"})))
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

const DRAFT: &[u8] = b"\x00\x00\x00\x18ftypmp42 flux 3 draft bytes";

#[tokio::test]
async fn a_draft_is_enhanced_with_the_cache_its_own_task_reports() {
    let prompt = "a lighthouse at dusk";
    let draft_body = json!({"mode": "t2v", "prompt": prompt, "aspect_ratio": "16:9", "duration": 5, "generate_audio": true, "draft": true});
    let enhance_body = json!({"mode": "draft_enhance", "draft_cache": "cache-d1"});
    let expected_enhance = enhance_body.clone();
    let rig = keyed_rig()
        .serve(move |r: &Request| {
            let task = |id: &str| Reply::json(200, json!({"id": id, "polling_url": format!("{}v1/get_result?id={id}", origin(r))}));
            let sample = |id: &str| format!("{}results/{id}.mp4", origin(r));
            match (r.route().as_str(), r.query_param("id").as_deref()) {
                ("POST /v1/flux-3-video", _) if r.json() == draft_body => task("d1"),
                ("POST /v1/flux-3-video", _) if r.json() == expected_enhance => task("e1"),
                ("POST /v1/flux-3-video", _) => Reply::json(422, json!({"detail": [{"msg": format!("unexpected body {}", r.json())}]})),
                ("GET /v1/get_result", Some(id @ "d1")) => {
                    Reply::json(200, json!({"id": id, "status": "Ready", "result": {"sample": sample(id), "draft_cache": "cache-d1"}}))
                }
                ("GET /v1/get_result", Some(id @ "e1")) => {
                    Reply::json(200, json!({"id": id, "status": "Ready", "result": {"sample": sample(id)}}))
                }
                ("GET /results/d1.mp4", _) => Reply::bytes(200, "video/mp4", DRAFT),
                ("GET /results/e1.mp4", _) => Reply::bytes(200, "video/mp4", VIDEO),
                _ => Reply::status(404),
            }
        })
        .await;
    let draft = rig.run(json!({"model": "flux-3-video", "prompt": prompt, "params": {"draft": "on"}})).await;
    assert_eq!(draft["state"], "succeeded", "{draft}");
    rig.assert_output(&draft, 0, DRAFT).await;

    let enhanced = rig.run(json!({"model": "flux-3-video-enhance", "prompt": prompt, "source": draft["id"]})).await;
    assert_eq!(enhanced["state"], "succeeded", "{enhanced}");
    rig.assert_output(&enhanced, 0, VIDEO).await;
    assert_eq!(enhanced["source"], draft["id"]);
    let submits: Vec<_> = rig.fake.requests_to("POST /v1/flux-3-video").iter().map(Request::json).collect();
    assert_eq!(submits.len(), 2, "{submits:?}");
    assert_eq!(submits[1], enhance_body, "only the draft's cache, never its bytes");
    rig.stop().await;
}
