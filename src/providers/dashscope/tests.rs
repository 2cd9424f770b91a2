//! Tests of the dashscope adapter against a loopback fake of its wire format.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use fake_upstream::dashscope_storage::{self, UPLOAD_DIR};
use fake_upstream::{FakeUpstream, Reply};

use super::*;
use crate::config::Secret;
use crate::providers::kit::testing::{self, Probe, connection, drain, handle};

const KEY: &str = "sk-test-key";
const SUBMIT: &str = "POST /api/v1/services/aigc/video-generation/video-synthesis";

fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
    ConnectionConfig { timeout, ..connection(fake, "dashscope", KEY) }
}

fn adapter(fake: &FakeUpstream) -> DashScope {
    DashScope::new(&config(fake, Duration::from_secs(2))).unwrap()
}

fn job() -> ProviderJob {
    let params = [("duration", ParamValue::Int(5)), ("resolution", ParamValue::Text("1080P".into()))];
    testing::job(MediaKind::Video, "wan-2.7-i2v").upstream("wan2.7-i2v").prompt("a fox in the snow").params(&params).build()
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, json!({"code": code, "message": message, "request_id": "r1"}))
}

/// A submit the fake accepts only with the key, the async header and a JSON body.
fn accepts(r: &fake_upstream::Request) -> Option<Reply> {
    if r.header("authorization") != Some("Bearer sk-test-key") {
        return Some(error(401, "InvalidApiKey", "Invalid API-key provided."));
    }
    if r.header("x-dashscope-async") != Some("enable") {
        return Some(error(400, "InvalidParameter", "current user api does not support synchronous calls"));
    }
    let names_stored_files = r.json()["input"]["media"].as_array().is_some_and(|m| !m.is_empty());
    if names_stored_files && r.header("x-dashscope-ossresourceresolve") != Some("enable") {
        return Some(error(400, "InvalidParameter", "oss:// URLs need X-DashScope-OssResourceResolve: enable"));
    }
    None
}

#[tokio::test]
async fn a_video_is_submitted_polled_and_downloaded_without_the_key() {
    let polls = Arc::new(Mutex::new(0));
    let count = polls.clone();
    let fake = FakeUpstream::start(move |r| match r.route().as_str() {
        _ if dashscope_storage::serve(r, KEY).is_some() => dashscope_storage::serve(r, KEY).unwrap(),
        SUBMIT => accepts(r)
            .unwrap_or_else(|| Reply::json(200, json!({"output": {"task_id": "t1", "task_status": "PENDING"}, "request_id": "r1"}))),
        "GET /api/v1/tasks/t1" => {
            let mut n = count.lock().unwrap();
            *n += 1;
            let status = ["PENDING", "RUNNING"].get(*n - 1).copied().unwrap_or("SUCCEEDED");
            let mut output = json!({"task_id": "t1", "task_status": status});
            if status == "SUCCEEDED" {
                output["video_url"] = json!(format!("http://{}/oss/out.mp4?Expires=1&Signature=x", r.header("host").unwrap()));
            }
            Reply::json(200, json!({"request_id": "r2", "output": output, "usage": {"duration": 5, "SR": 1080}}))
        }
        "GET /oss/out.mp4" => Reply::bytes(200, "video/mp4", &b"mp4 bytes"[..]),
        _ => Reply::status(404),
    })
    .await;
    let dashscope = adapter(&fake);
    let mut job = job();
    job.negative_prompt = Some("blur".into());
    job.references = testing::first_and_last_frames();
    job.references.push(ReferenceFile {
        role: ReferenceRole::DrivingAudio,
        content_type: "audio/mpeg".into(),
        bytes: Bytes::from_static(b"la"),
        tag: None,
    });
    let submitted = dashscope.submit(&job).await.unwrap();
    assert_eq!(submitted.handle.id, "t1");
    assert!(matches!(submitted.status, UpstreamStatus::Pending { .. }));
    let generation = job.generation;
    assert_eq!(
        fake.requests_to(SUBMIT)[0].json(),
        json!({
            "model": "wan2.7-i2v",
            "input": {"prompt": "a fox in the snow", "negative_prompt": "blur", "media": [
                {"type": "first_frame", "url": format!("oss://{UPLOAD_DIR}/reelvault-{generation}-0.png")},
                {"type": "last_frame", "url": format!("oss://{UPLOAD_DIR}/reelvault-{generation}-1.jpg")},
                {"type": "driving_audio", "url": format!("oss://{UPLOAD_DIR}/reelvault-{generation}-2.mp3")},
            ]},
            "parameters": {"duration": 5, "resolution": "1080P", "watermark": false}
        })
    );
    let policy = &fake.requests_to("GET /api/v1/uploads")[0];
    assert_eq!(policy.query_param("model").as_deref(), Some("wan2.7-i2v"), "the policy is asked for the job's model");
    let stored = |n: usize, ext: &str| {
        dashscope_storage::stored(&fake.requests(), &format!("oss://{UPLOAD_DIR}/reelvault-{generation}-{n}.{ext}")).expect("stored")
    };
    assert_eq!((&stored(0, "png")[..], &stored(1, "jpg")[..], &stored(2, "mp3")[..]), (&b"first"[..], &b"last"[..], &b"la"[..]));
    for _ in 0..2 {
        assert!(matches!(dashscope.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }));
    }
    let UpstreamStatus::Succeeded { outputs, .. } = dashscope.poll(&submitted.handle).await.unwrap() else { panic!("succeeded") };
    let poll = &fake.requests_to("GET /api/v1/tasks/t1")[0];
    assert_eq!((poll.header("authorization"), poll.header("x-dashscope-async")), (Some("Bearer sk-test-key"), None));
    let bytes = drain(dashscope.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap();
    assert_eq!(&bytes[..], b"mp4 bytes");
    assert_eq!(fake.requests_to("GET /oss/")[0].header("authorization"), None, "the key never goes to the result host");
}

#[tokio::test]
async fn an_edit_sends_the_video_to_edit_and_references_go_in_order() {
    let fake = FakeUpstream::start(|r| {
        dashscope_storage::serve(r, KEY)
            .or_else(|| accepts(r))
            .unwrap_or_else(|| Reply::json(200, json!({"output": {"task_id": "t2", "task_status": "PENDING"}})))
    })
    .await;
    let video =
        ReferenceFile { role: ReferenceRole::SourceVideo, content_type: "video/mp4".into(), bytes: Bytes::from_static(b"v"), tag: None };
    let job = testing::job(MediaKind::Video, "wan2.7-videoedit")
        .params(&[("audio_setting", ParamValue::Text("origin".into()))])
        .references(vec![video.clone(), testing::reference(ReferenceRole::Reference, b"i")])
        .build();
    adapter(&fake).submit(&job).await.unwrap();
    let body = fake.requests_to(SUBMIT)[0].json();
    let g = job.generation;
    assert_eq!(
        body["input"]["media"],
        json!([{"type": "video", "url": format!("oss://{UPLOAD_DIR}/reelvault-{g}-0.mp4")},
               {"type": "reference_image", "url": format!("oss://{UPLOAD_DIR}/reelvault-{g}-1.png")}])
    );
    assert_eq!(body["parameters"], json!({"audio_setting": "origin", "watermark": false}));
    let reference = ReferenceFile { role: ReferenceRole::ReferenceVideo, ..video };
    let r2v = testing::job(MediaKind::Video, "wan2.7-r2v").references(vec![reference]).build();
    adapter(&fake).submit(&r2v).await.unwrap();
    assert_eq!(fake.requests_to(SUBMIT)[1].json()["input"]["media"][0]["type"], "reference_video");
    assert_eq!(media_type(ReferenceRole::ReferenceVideo), Some("reference_video"));
    assert_eq!(media_type(ReferenceRole::SourceVideo), Some("video"));
}

#[tokio::test]
async fn error_codes_and_statuses_map_to_the_classes() {
    let cases: Vec<(Reply, &str)> = vec![
        (error(401, "InvalidApiKey", "Invalid API-key provided."), "provider.auth"),
        (error(403, "AccessDenied.Unpurchased", "not purchased"), "provider.auth"),
        (error(400, "Arrearage", "Access denied, please make sure your account is in good standing."), "provider.insufficient_credit"),
        (error(400, "DataInspectionFailed", "Input data may contain inappropriate content."), "provider.content_policy"),
        (error(400, "InvalidParameter", "duration must be between 2 and 15"), "provider.invalid_input"),
        (error(429, "Throttling.RateQuota", "Requests rate limit exceeded"), "provider.rate_limited"),
        (error(500, "InternalError", "internal error"), "provider.transient"),
        (Reply::status(503), "provider.transient"),
        (Reply::text(200, "{not json"), "provider.transient"),
        (Reply::json(200, json!({"output": {"task_status": "PENDING"}})), "provider.transient"),
    ];
    testing::assert_submit_errors(adapter, &job(), cases).await;
}

#[tokio::test]
async fn a_refused_key_names_the_region_and_a_rate_limit_carries_retry_after() {
    let fake = FakeUpstream::start(|r| match r.path.as_str() {
        "/api/v1/tasks/slow" => error(429, "Throttling", "slow down").header("retry-after", 4),
        _ => error(401, "InvalidApiKey", "Invalid API-key provided."),
    })
    .await;
    let dashscope = adapter(&fake);
    let err = dashscope.submit(&job()).await.unwrap_err();
    assert!(err.to_string().contains("region"), "{err}");
    let err = dashscope.poll(&handle("slow")).await.unwrap_err();
    assert_eq!(err, ProviderError::RateLimited { retry_after: Some(Duration::from_secs(4)), message: "slow down".into() });
}

#[tokio::test]
async fn failed_cancelled_expired_and_unknown_tasks() {
    let answer = Arc::new(Mutex::new(json!({})));
    let current = answer.clone();
    let fake = FakeUpstream::start(move |_| Reply::json(200, current.lock().unwrap().clone())).await;
    let dashscope = adapter(&fake);
    let poll = async |output: Value| {
        *answer.lock().unwrap() = json!({"request_id": "r", "output": output});
        dashscope.poll(&handle("t1")).await.unwrap()
    };
    let code = |status: UpstreamStatus| match status {
        UpstreamStatus::Failed(e) => e.code(),
        other => panic!("{other:?}"),
    };
    let moderated =
        json!({"task_status": "FAILED", "code": "DataInspectionFailed", "message": "Output data may contain inappropriate content."});
    assert_eq!(code(poll(moderated).await), "provider.content_policy");
    let refused = json!({"task_status": "FAILED", "code": "InvalidParameter.Url", "message": "the first_frame could not be read"});
    assert_eq!(code(poll(refused).await), "provider.invalid_input");
    assert_eq!(code(poll(json!({"task_status": "CANCELED"})).await), "provider.not_found");
    assert_eq!(code(poll(json!({"task_status": "UNKNOWN"})).await), "provider.not_found");
    assert_eq!(code(poll(json!({"task_status": "SUCCEEDED"})).await), "provider.transient");
    assert!(matches!(poll(json!({"task_status": "WARMING"})).await, UpstreamStatus::Pending { .. }));
}

#[tokio::test]
async fn a_pending_task_is_cancelled_and_a_running_one_runs_out() {
    let fake = FakeUpstream::start(|r| match r.path.as_str() {
        "/api/v1/tasks/t1/cancel" => Reply::json(200, json!({"request_id": "r"})),
        _ => error(400, "UnsupportedOperation", "Failed to cancel the task, please confirm if the task is in PENDING status."),
    })
    .await;
    let dashscope = adapter(&fake);
    dashscope.cancel(&handle("t1")).await.unwrap();
    dashscope.cancel(&handle("t9")).await.unwrap();
    let cancel = &fake.requests()[0];
    assert_eq!((cancel.route().as_str(), cancel.header("authorization")), ("POST /api/v1/tasks/t1/cancel", Some("Bearer sk-test-key")));
    assert!(!dashscope.delete_upstream(&handle("t1")).await.unwrap(), "no deletion endpoint exists");
}

#[tokio::test]
async fn an_image_answers_at_once_with_signed_urls() {
    let fake = FakeUpstream::start(|r| match (r.route().as_str(), r.header("authorization")) {
        ("POST /api/v1/services/aigc/multimodal-generation/generation", Some("Bearer sk-test-key")) => {
            let host = r.header("host").unwrap().to_string();
            let image = |n: u8| json!({"type": "image", "image": format!("http://{host}/oss/{n}.png?Expires=1")});
            Reply::json(
                200,
                json!({"request_id": "img-1", "output": {"choices": [
                {"finish_reason": "stop", "message": {"role": "assistant", "content": [image(1), image(2)]}}
            ]}, "usage": {"image_count": 2}}),
            )
        }
        ("GET /oss/1.png", None) => Reply::bytes(200, "image/png", &b"png one"[..]),
        _ => Reply::status(404),
    })
    .await;
    let job = testing::job(MediaKind::Image, "wan2.7-image-pro")
        .params(&[("size", ParamValue::Text("2K".into()))])
        .references(vec![testing::reference(ReferenceRole::Reference, b"ref")])
        .outputs(2)
        .build();
    let dashscope = adapter(&fake);
    let submitted = dashscope.submit(&job).await.unwrap();
    assert_eq!(
        fake.requests()[0].json(),
        json!({
            "model": "wan2.7-image-pro",
            "input": {"messages": [{"role": "user", "content": [{"text": "a glass whale over a city"}, {"image": "data:image/png;base64,cmVm"}]}]},
            "parameters": {"n": 2, "size": "2K", "watermark": false}
        })
    );
    assert_eq!(fake.requests()[0].header("x-dashscope-async"), None, "images answer synchronously");
    let UpstreamStatus::Succeeded { outputs, .. } = submitted.status else { panic!("succeeded at once") };
    assert_eq!(outputs.len(), 2);
    assert_eq!(outputs[0].content_type.as_deref(), Some("image/png"));
    let bytes = drain(dashscope.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap();
    assert_eq!(&bytes[..], b"png one");
    assert_eq!(dashscope.poll(&submitted.handle).await.err().map(|e| e.code()), Some("provider.not_found"));
    dashscope.cancel(&submitted.handle).await.unwrap();
    assert_eq!(fake.requests().len(), 2, "nothing is asked of a finished image");
}

#[tokio::test]
async fn a_hanging_upstream_times_out_and_expired_urls_are_refused() {
    let short = |fake: &FakeUpstream| DashScope::new(&config(fake, Duration::from_millis(300))).unwrap();
    testing::assert_submit_times_out(short, &job()).await;
    let api = FakeUpstream::start(|_| Reply::status(500)).await;
    testing::assert_expired_and_oversized_refused(&adapter(&api)).await;
    testing::assert_cdn_outputs_fetched_keyless(&adapter(&api), &handle("t1"), &api).await;
}

#[tokio::test]
async fn test_connection_lists_one_task() {
    let fake = FakeUpstream::start(|r| match r.header("authorization") {
        Some("Bearer sk-test-key") => Reply::json(200, json!({"request_id": "r", "data": [], "total": 0})),
        _ => error(401, "InvalidApiKey", "Invalid API-key provided."),
    })
    .await;
    assert!(adapter(&fake).test_connection().await.unwrap().contains("accepted"));
    let request = &fake.requests()[0];
    assert_eq!(request.route(), "GET /api/v1/tasks");
    assert_eq!(request.query_param("page_size").as_deref(), Some("1"));
    let wrong =
        DashScope::new(&ConnectionConfig { api_key: Some(Secret::new("sk-other-region")), ..config(&fake, Duration::from_secs(1)) })
            .unwrap();
    testing::assert_key_refused(&wrong).await;
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        DashScope::new(&ConnectionConfig { base_url: Some(base), ..config(fake, Duration::from_secs(2)) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::KeyTest, "api/v1", "/api/v1/tasks").await;
    testing::assert_base_url_forms(adapter, Probe::Submit(&job()), "api/v1", "/api/v1/services/aigc/video-generation/video-synthesis")
        .await;
    testing::assert_base_url_forms(adapter, Probe::Poll(handle("t1")), "api/v1", "/api/v1/tasks/t1").await;
}
