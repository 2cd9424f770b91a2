//! Tests of the xai adapter against a loopback fake of its wire format.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply};

use super::*;
use crate::domain::catalog::ParamValue;
use crate::providers::kit::testing::{self, Probe, connection, drain, reference};

const KEY: &str = "xai-test-key";

fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
    ConnectionConfig { timeout, ..connection(fake, "xai", KEY) }
}

fn adapter(fake: &FakeUpstream) -> Xai {
    Xai::new(&config(fake, Duration::from_secs(2))).unwrap()
}

fn video_job() -> ProviderJob {
    testing::job(MediaKind::Video, "grok-imagine-video")
        .prompt("a lighthouse in a storm")
        .params(&[
            ("duration", ParamValue::Int(6)),
            ("aspect_ratio", ParamValue::Text("16:9".into())),
            ("resolution", ParamValue::Text("720p".into())),
            ("audio", ParamValue::Text("off".into())),
        ])
        .build()
}

fn image_job() -> ProviderJob {
    testing::job(MediaKind::Image, "grok-imagine-image")
        .prompt("a red fox")
        .params(&[("aspect_ratio", ParamValue::Text("3:2".into())), ("resolution", ParamValue::Text("1k".into()))])
        .outputs(2)
        .build()
}

fn host(r: &fake_upstream::Request) -> String {
    r.header("host").unwrap().to_string()
}

#[tokio::test]
async fn a_video_is_submitted_polled_through_empty_202s_and_fetched_keyless() {
    let polls = Arc::new(Mutex::new(0));
    let count = polls.clone();
    let fake = FakeUpstream::start(move |r| match r.route().as_str() {
        "POST /v1/videos/generations" => Reply::json(200, json!({"request_id": "r1"})),
        "GET /v1/videos/r1" => {
            let mut n = count.lock().unwrap();
            *n += 1;
            match *n {
                1 | 2 => Reply::status(202),
                3 => Reply::json(202, json!({"status": "pending", "progress": 40})),
                _ => Reply::json(
                    200,
                    json!({"status": "done", "model": "grok-imagine-video", "usage": {"cost_in_usd_ticks": 5_000_000_000u64},
                           "video": {"url": format!("http://{}/blob/v.mp4", host(r)), "duration": 6, "respect_moderation": true}}),
                ),
            }
        }
        "GET /blob/v.mp4" => Reply::bytes(200, "video/mp4", &b"grok video"[..]),
        _ => Reply::status(404),
    })
    .await;
    let xai = adapter(&fake);
    let mut job = video_job();
    job.references = vec![reference(ReferenceRole::FirstFrame, b"first")];
    let submitted = xai.submit(&job).await.unwrap();
    assert_eq!(submitted.handle.id, "r1");
    assert!(matches!(submitted.status, UpstreamStatus::Pending { .. }));
    let create = &fake.requests_to("POST /v1/videos/generations")[0];
    assert_eq!(create.header("authorization"), Some("Bearer xai-test-key"));
    assert_eq!(
        create.json(),
        json!({"model": "grok-imagine-video", "prompt": "a lighthouse in a storm", "duration": 6, "aspect_ratio": "16:9",
               "resolution": "720p", "generate_audio": false, "image": {"url": "data:image/png;base64,Zmlyc3Q="}})
    );
    for _ in 0..2 {
        assert!(matches!(xai.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { progress: None, .. }));
    }
    assert!(matches!(xai.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { progress: Some(40), .. }));
    let UpstreamStatus::Succeeded { outputs, usage } = xai.poll(&submitted.handle).await.unwrap() else { panic!("done") };
    assert_eq!(usage.and_then(|u| u.cost_cents), Some(50.0), "0.5 USD in ticks");
    assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
    assert_eq!(&drain(xai.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap()[..], b"grok video");
    assert_eq!(fake.requests_to("GET /blob/")[0].header("authorization"), None, "the key never goes to the result host");
    xai.cancel(&submitted.handle).await.unwrap();
    assert!(!xai.delete_upstream(&submitted.handle).await.unwrap());
}

#[tokio::test]
async fn reference_images_go_inline_and_do_not_mix_with_a_start_frame() {
    let fake = FakeUpstream::start(|_| Reply::json(200, json!({"request_id": "r2"}))).await;
    let xai = adapter(&fake);
    let mut job = video_job();
    job.references = vec![reference(ReferenceRole::Reference, b"hero"), reference(ReferenceRole::Reference, b"set")];
    xai.submit(&job).await.unwrap();
    let body = fake.requests()[0].json();
    assert_eq!(body["reference_images"], json!([{"url": "data:image/png;base64,aGVybw=="}, {"url": "data:image/png;base64,c2V0"}]));
    assert!(body.get("image").is_none());
    job.references.push(reference(ReferenceRole::FirstFrame, b"first"));
    assert_eq!(xai.submit(&job).await.unwrap_err().code(), "provider.invalid_input");
    assert_eq!(fake.requests().len(), 1, "nothing is sent for a refused mix");
}

#[tokio::test]
async fn a_cast_members_tag_in_the_prompt_becomes_its_image_number() {
    let fake = FakeUpstream::start(|_| Reply::json(200, json!({"request_id": "r3"}))).await;
    let xai = adapter(&fake);
    let mut job = video_job();
    let mut hero = reference(ReferenceRole::Reference, b"hero");
    hero.tag = Some("Maya".into());
    let mut shoe = reference(ReferenceRole::Reference, b"shoe");
    shoe.tag = Some("red_shoe".into());
    job.references = vec![reference(ReferenceRole::Reference, b"set"), hero, shoe];
    job.prompt = "@Maya ties the @red_shoe on the set".into();
    xai.submit(&job).await.unwrap();
    let body = fake.requests()[0].json();
    assert_eq!(body["prompt"], "<IMAGE_1> ties the <IMAGE_2> on the set");
    assert_eq!(body["reference_images"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn images_are_generated_at_once_and_fetched_keyless() {
    let fake = FakeUpstream::start(|r| match r.route().as_str() {
        "POST /v1/images/generations" => Reply::json(
            200,
            json!({"data": [{"url": format!("http://{}/img/a.jpg", host(r)), "respect_moderation": true},
                            {"url": format!("http://{}/img/b.jpg", host(r))}]}),
        ),
        "GET /img/a.jpg" => Reply::bytes(200, "image/jpeg", &b"fox a"[..]),
        _ => Reply::status(404),
    })
    .await;
    let xai = adapter(&fake);
    let submitted = xai.submit(&image_job()).await.unwrap();
    assert_eq!(
        fake.requests()[0].json(),
        json!({"model": "grok-imagine-image", "prompt": "a red fox", "n": 2, "response_format": "url", "aspect_ratio": "3:2", "resolution": "1k"})
    );
    let UpstreamStatus::Succeeded { outputs, .. } = &submitted.status else { panic!("images at once") };
    assert_eq!(outputs.len(), 2);
    assert_eq!(outputs[0].content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(&drain(xai.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap()[..], b"fox a");
    assert_eq!(fake.requests_to("GET /img/")[0].header("authorization"), None);
    assert_eq!(xai.poll(&submitted.handle).await.unwrap_err().code(), "provider.not_found");
}

#[tokio::test]
async fn edits_carry_one_image_or_several_inline() {
    let fake = FakeUpstream::start(|_| Reply::json(200, json!({"data": [{"url": "https://imgen.x.ai/e.png"}]}))).await;
    let xai = adapter(&fake);
    let mut job = image_job();
    job.references = vec![reference(ReferenceRole::Reference, b"one")];
    xai.submit(&job).await.unwrap();
    job.references.push(reference(ReferenceRole::Reference, b"two"));
    xai.submit(&job).await.unwrap();
    let edits = fake.requests_to("POST /v1/images/edits");
    assert_eq!(edits[0].json()["image"], json!({"url": "data:image/png;base64,b25l", "type": "image_url"}));
    assert!(edits[0].json().get("images").is_none());
    assert_eq!(
        edits[1].json()["images"],
        json!([{"url": "data:image/png;base64,b25l", "type": "image_url"}, {"url": "data:image/png;base64,dHdv", "type": "image_url"}])
    );
}

#[tokio::test]
async fn moderation_failure_and_expiry_map_to_the_classes() {
    let answer = Arc::new(Mutex::new(json!({})));
    let current = answer.clone();
    let fake = FakeUpstream::start(move |_| Reply::json(200, current.lock().unwrap().clone())).await;
    let xai = adapter(&fake);
    let handle = testing::handle("r1");
    for (body, class) in [
        (json!({"status": "done", "video": {"url": "https://vidgen.x.ai/v.mp4", "respect_moderation": false}}), "provider.content_policy"),
        (json!({"status": "failed", "error": {"code": "internal_error", "message": "render crashed"}}), "provider.transient"),
        (json!({"status": "failed", "error": {"code": "content_policy_violation", "message": "no"}}), "provider.content_policy"),
        (json!({"status": "expired"}), "provider.not_found"),
        (json!({"status": "done", "video": {}}), "provider.transient"),
    ] {
        *answer.lock().unwrap() = body.clone();
        let UpstreamStatus::Failed(e) = xai.poll(&handle).await.unwrap() else { panic!("{body}") };
        assert_eq!(e.code(), class, "{body}: {e}");
    }
    *answer.lock().unwrap() = json!({"status": "warming_up"});
    assert!(matches!(xai.poll(&handle).await.unwrap(), UpstreamStatus::Pending { .. }), "an unknown word keeps waiting");
    *answer.lock().unwrap() = json!({"data": [{"url": "https://imgen.x.ai/a.png", "respect_moderation": false}]});
    let UpstreamStatus::Failed(e) = xai.submit(&image_job()).await.unwrap().status else { panic!("moderated image") };
    assert_eq!(e.code(), "provider.content_policy");
}

#[tokio::test]
async fn http_errors_map_to_the_classes() {
    let cases: Vec<(Reply, &str)> = vec![
        (Reply::json(401, json!({"code": "unauthenticated", "error": "Incorrect API key provided"})), "provider.auth"),
        (
            Reply::json(400, json!({"error": {"message": "Argument not supported: size", "type": "invalid_request_error"}})),
            "provider.invalid_input",
        ),
        (
            Reply::json(400, json!({"code": "content_policy_violation", "error": "Generated image rejected by content moderation."})),
            "provider.content_policy",
        ),
        (
            Reply::json(403, json!({"code": "insufficient_quota", "error": "Your team has run out of credits"})),
            "provider.insufficient_credit",
        ),
        (Reply::json(402, json!({"error": "payment required"})), "provider.insufficient_credit"),
        (Reply::json(404, json!({"code": "not_found", "error": "request not found"})), "provider.not_found"),
        (Reply::json(503, json!({"error": {"message": "overloaded"}})), "provider.transient"),
        (Reply::text(200, "<html>"), "provider.transient"),
    ];
    testing::assert_submit_errors(adapter, &video_job(), cases).await;
    let fake =
        FakeUpstream::start(|_| Reply::json(429, json!({"code": "rate_limit_exceeded", "error": "slow down"})).header("retry-after", 3))
            .await;
    let err = adapter(&fake).submit(&video_job()).await.unwrap_err();
    assert_eq!(err, ProviderError::RateLimited { retry_after: Some(Duration::from_secs(3)), message: "slow down".into() });
}

#[tokio::test]
async fn a_hanging_upstream_times_out_and_expired_outputs_are_refused() {
    testing::assert_submit_times_out(|fake| Xai::new(&config(fake, Duration::from_millis(300))).unwrap(), &video_job()).await;
    testing::assert_expired_and_oversized_refused(&adapter(&FakeUpstream::start(|_| Reply::status(404)).await)).await;
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        Xai::new(&ConnectionConfig { base_url: Some(base), ..config(fake, Duration::from_secs(2)) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::Poll(testing::handle("r1")), "v1", "/v1/videos/r1").await;
}

/// A job that works on an earlier video with `operation`.
fn source_job(operation: Operation, params: &[(&str, ParamValue)], video: Vec<u8>) -> ProviderJob {
    let source = ReferenceFile { role: ReferenceRole::SourceVideo, content_type: "video/mp4".into(), bytes: video.into(), tag: None };
    testing::job(MediaKind::Video, "grok-imagine-video")
        .prompt("make it night")
        .params(params)
        .references(vec![source])
        .operation(operation)
        .build()
}

#[tokio::test]
async fn edits_and_extensions_send_the_source_video_inline_to_their_own_endpoints() {
    let fake = FakeUpstream::start(|r| {
        if r.header("authorization") != Some(&format!("Bearer {KEY}")) {
            return Reply::json(401, json!({"code": "unauthenticated", "error": "no key"}));
        }
        match r.route().as_str() {
            "POST /v1/videos/edits" => Reply::json(200, json!({"request_id": "e1"})),
            "POST /v1/videos/extensions" => Reply::json(200, json!({"request_id": "x1"})),
            "GET /v1/videos/x1" => {
                Reply::json(200, json!({"status": "failed", "error": {"code": "invalid_argument", "message": "video longer than 15 s"}}))
            }
            _ => Reply::status(404),
        }
    })
    .await;
    let xai = adapter(&fake);
    let video = b"\x00\x00\x00\x18ftypmp42 source".to_vec();
    let data_uri = kit::data_uri("video/mp4", &video);

    let edit = xai.submit(&source_job(Operation::Edit, &[], video.clone())).await.unwrap();
    assert_eq!(edit.handle.id, "e1");
    assert_eq!(
        fake.requests_to("POST /v1/videos/edits")[0].json(),
        json!({"model": "grok-imagine-video", "prompt": "make it night", "video": {"url": data_uri}})
    );

    let extend = xai.submit(&source_job(Operation::Extend, &[("duration", ParamValue::Int(4))], video)).await.unwrap();
    assert_eq!(
        fake.requests_to("POST /v1/videos/extensions")[0].json(),
        json!({"model": "grok-imagine-video", "prompt": "make it night", "video": {"url": data_uri}, "duration": 4})
    );
    let UpstreamStatus::Failed(failure) = xai.poll(&extend.handle).await.unwrap() else { panic!("the extension did not fail") };
    assert_eq!(failure.code(), "provider.invalid_input");
    assert!(failure.to_string().contains("longer than 15 s"), "{failure}");
    assert!(fake.requests_to("POST /v1/videos/generations").is_empty(), "no generation was asked for");
    fake.stop().await;
}

#[tokio::test]
async fn an_oversized_edit_or_an_enhance_is_refused_before_sending() {
    let fake = FakeUpstream::start(|_| Reply::json(200, json!({"request_id": "never"}))).await;
    let xai = adapter(&fake);
    let big = vec![0u8; MAX_EDIT_BYTES + 1];
    let refused = xai.submit(&source_job(Operation::Edit, &[], big)).await.err();
    assert!(matches!(&refused, Some(ProviderError::InvalidInput(m)) if m.contains("50 MB")), "{refused:?}");
    let refused = xai.submit(&source_job(Operation::Enhance, &[], b"v".to_vec())).await.err();
    assert!(matches!(refused, Some(ProviderError::InvalidInput(_))), "{refused:?}");
    let mut missing = source_job(Operation::Extend, &[], Vec::new());
    missing.references.clear();
    assert!(matches!(xai.submit(&missing).await, Err(ProviderError::InvalidInput(_))));
    assert!(fake.requests().is_empty(), "nothing was sent");
    fake.stop().await;
}
