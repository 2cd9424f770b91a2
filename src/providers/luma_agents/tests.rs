//! Tests of the luma_agents adapter against a loopback fake of its wire format.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply};

use super::*;
use crate::providers::kit::testing::{self, Probe, connection, drain};

use crate::providers::ReferenceFile;

const KEY: &str = "luma-api-test";

fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
    ConnectionConfig { timeout, ..connection(fake, "luma_agents", KEY) }
}

fn adapter(fake: &FakeUpstream) -> LumaAgents {
    LumaAgents::new(&config(fake, Duration::from_secs(2))).unwrap()
}

fn job(kind: MediaKind, model: &str, params: &[(&str, ParamValue)]) -> ProviderJob {
    testing::job(kind, model).prompt("a slow dolly shot through a greenhouse").params(params).build()
}

fn video_job() -> ProviderJob {
    job(
        MediaKind::Video,
        "ray-3.2",
        &[
            ("duration", ParamValue::Int(5)),
            ("aspect_ratio", ParamValue::Text("16:9".into())),
            ("resolution", ParamValue::Text("720p".into())),
        ],
    )
}

fn generation(id: &str, state: &str) -> Value {
    json!({"id": id, "created_at": "2026-06-01T00:00:00Z", "model": "ray-3.2", "type": "video", "state": state})
}

#[tokio::test]
async fn a_video_with_frames_is_submitted_inline_polled_and_fetched() {
    let polls = Arc::new(Mutex::new(0));
    let count = polls.clone();
    let fake = FakeUpstream::start(move |r| match r.route().as_str() {
        "POST /v1/generations" => Reply::json(200, generation("a-1", "queued")),
        "GET /v1/generations/a-1" => {
            let mut n = count.lock().unwrap();
            *n += 1;
            if *n == 1 {
                Reply::json(200, generation("a-1", "processing"))
            } else {
                let mut g = generation("a-1", "completed");
                g["output"] =
                    json!([{"type": "video", "url": format!("http://{}/s3/a-1.mp4?X-Amz-Signature=x", r.header("host").unwrap())}]);
                Reply::json(200, g)
            }
        }
        "GET /s3/a-1.mp4" => Reply::bytes(200, "video/mp4", &b"ray3 bytes"[..]),
        _ => Reply::status(404),
    })
    .await;
    let agents = adapter(&fake);
    let mut job = video_job();
    job.callback_url = Some(url::Url::parse("https://studio.example/hooks/agents/s").unwrap());
    job.references = testing::first_and_last_frames();
    let submitted = agents.submit(&job).await.unwrap();
    assert_eq!(submitted.handle.id, "a-1");
    let create = &fake.requests_to("POST /v1/generations")[0];
    assert_eq!(create.header("authorization"), Some("Bearer luma-api-test"));
    assert_eq!(
        create.json(),
        json!({
            "model": "ray-3.2", "type": "video", "prompt": "a slow dolly shot through a greenhouse", "aspect_ratio": "16:9",
            "video": {
                "duration": "5s", "resolution": "720p",
                "start_frame": {"data": "Zmlyc3Q=", "media_type": "image/png"},
                "end_frame": {"data": "bGFzdA==", "media_type": "image/jpeg"}
            }
        }),
        "inline references, and no callback field (the API has none)"
    );
    assert!(matches!(agents.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }));
    let UpstreamStatus::Succeeded { outputs, .. } = agents.poll(&submitted.handle).await.unwrap() else { panic!("completed") };
    assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
    assert_eq!(&drain(agents.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap()[..], b"ray3 bytes");
    assert_eq!(fake.requests_to("GET /s3/")[0].header("authorization"), None, "the key never goes to the presigned URL");
    agents.cancel(&submitted.handle).await.unwrap();
    agents.delete_upstream(&submitted.handle).await.unwrap();
    assert_eq!(fake.requests().len(), 4, "no cancel or delete request exists");
}

#[tokio::test]
async fn an_image_carries_its_references_as_image_ref() {
    let fake = FakeUpstream::start(|_| {
        let mut g = generation("u-1", "completed");
        g["type"] = json!("image");
        g["output"] = json!([{"type": "image", "url": "https://cdn.example/u-1.png?sig=1"}]);
        Reply::json(200, g)
    })
    .await;
    let agents = adapter(&fake);
    let mut job = job(MediaKind::Image, "uni-1", &[("aspect_ratio", ParamValue::Text("3:2".into()))]);
    job.references = vec![
        ReferenceFile { role: ReferenceRole::Reference, content_type: "image/webp".into(), bytes: Bytes::from_static(b"style"), tag: None },
        ReferenceFile { role: ReferenceRole::Reference, content_type: "image/png".into(), bytes: Bytes::from_static(b"hero"), tag: None },
    ];
    let submitted = agents.submit(&job).await.unwrap();
    assert_eq!(
        fake.requests()[0].json(),
        json!({
            "model": "uni-1", "type": "image", "prompt": "a slow dolly shot through a greenhouse", "aspect_ratio": "3:2",
            "output_format": "png", "image_ref": [{"data": "c3R5bGU=", "media_type": "image/webp"}, {"data": "aGVybw==", "media_type": "image/png"}]
        })
    );
    let UpstreamStatus::Succeeded { outputs, .. } = submitted.status else { panic!("completed") };
    assert_eq!(outputs[0].content_type.as_deref(), Some("image/png"));
}

#[tokio::test]
async fn failure_codes_map_to_the_classes() {
    let answer = Arc::new(Mutex::new(json!({})));
    let current = answer.clone();
    let fake = FakeUpstream::start(move |_| Reply::json(200, current.lock().unwrap().clone())).await;
    let agents = adapter(&fake);
    let handle = UpstreamHandle { id: "a-1".into(), data: Default::default() };
    for (code, class) in [
        ("content_moderated", "provider.content_policy"),
        ("budget_exhausted", "provider.insufficient_credit"),
        ("rate_limited", "provider.rate_limited"),
        ("generation_failed", "provider.transient"),
        ("output_not_found", "provider.not_found"),
        ("image_too_large", "provider.invalid_input"),
        ("unsupported_format", "provider.invalid_input"),
        ("corrupt_input", "provider.invalid_input"),
        ("invalid_request", "provider.invalid_input"),
        ("something_new", "provider.invalid_input"),
    ] {
        let mut g = generation("a-1", "failed");
        g["failure_code"] = json!(code);
        *answer.lock().unwrap() = g;
        let UpstreamStatus::Failed(e) = agents.poll(&handle).await.unwrap() else { panic!("{code}") };
        assert_eq!(e.code(), class, "{code}: {e}");
    }
    *answer.lock().unwrap() = generation("a-1", "rendering");
    assert!(matches!(agents.poll(&handle).await.unwrap(), UpstreamStatus::Pending { .. }));
    *answer.lock().unwrap() = json!({"id": "a-1", "state": "completed", "output": []});
    assert!(matches!(agents.poll(&handle).await.unwrap(), UpstreamStatus::Failed(ProviderError::Transient(_))));
}

#[tokio::test]
async fn http_errors_map_to_the_classes() {
    let cases: Vec<(Reply, &str)> = vec![
        (Reply::json(401, json!({"error": {"code": "unauthorized", "message": "Invalid API key"}})), "provider.auth"),
        (Reply::json(400, json!({"error": {"code": "invalid_request", "message": "prompt is required"}})), "provider.invalid_input"),
        (Reply::json(422, json!({"detail": [{"msg": "aspect_ratio must be one of ..."}]})), "provider.invalid_input"),
        (Reply::json(400, json!({"error": {"code": "content_moderated", "message": "blocked"}})), "provider.content_policy"),
        (Reply::json(402, json!({"error": "budget exhausted"})), "provider.insufficient_credit"),
        (Reply::json(503, json!({"message": "overloaded"})), "provider.transient"),
        (Reply::text(200, "<html>"), "provider.transient"),
    ];
    testing::assert_submit_errors(adapter, &video_job(), cases).await;
    let fake = FakeUpstream::start(|_| {
        Reply::json(429, json!({"error": {"code": "rate_limited", "message": "slow down"}})).header("retry-after", 2)
    })
    .await;
    let err = adapter(&fake).submit(&video_job()).await.unwrap_err();
    assert_eq!(err, ProviderError::RateLimited { retry_after: Some(Duration::from_secs(2)), message: "slow down".into() });
}

#[tokio::test]
async fn a_hanging_upstream_times_out_and_expired_urls_are_not_found() {
    let fake = FakeUpstream::start(|r| match r.path.as_str() {
        "/expired.png" => Reply::text(403, "Request has expired"),
        _ => Reply::hang(),
    })
    .await;
    let agents = LumaAgents::new(&config(&fake, Duration::from_millis(300))).unwrap();
    assert_eq!(agents.submit(&video_job()).await.unwrap_err(), ProviderError::Timeout);
    let handle = UpstreamHandle { id: "a".into(), data: Default::default() };
    let expired = OutputRef::new(fake.at("expired.png").to_string(), None);
    assert_eq!(agents.fetch(&handle, &expired, 1024).await.err().map(|e| e.code()), Some("provider.not_found"));
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        LumaAgents::new(&ConnectionConfig { base_url: Some(base), ..config(fake, Duration::from_secs(2)) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::Poll(testing::handle("a-1")), "v1", "/v1/generations/a-1").await;
}
