//! Tests of the byteplus adapter against a loopback fake of the ModelArk wire format.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply};

use super::*;
use crate::config::Secret;
use crate::domain::catalog::ParamValue;
use crate::providers::ReferenceFile;
use crate::providers::kit::testing::{self, Probe, connection, drain};

const KEY: &str = "ark-test-key";
const TASKS_PATH: &str = "/api/v3/contents/generations/tasks";

fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
    ConnectionConfig { timeout, base_url: Some(fake.at("api/v3")), ..connection(fake, "byteplus", KEY) }
}

fn adapter(fake: &FakeUpstream) -> BytePlus {
    BytePlus::new(&config(fake, Duration::from_secs(2))).unwrap()
}

fn video() -> ProviderJob {
    let params = [
        ("resolution", ParamValue::Text("720p".into())),
        ("ratio", ParamValue::Text("16:9".into())),
        ("duration", ParamValue::Int(5)),
        ("audio", ParamValue::Text("on".into())),
        ("return_last_frame", ParamValue::Text("on".into())),
    ];
    testing::job(MediaKind::Video, "seedance-2.0")
        .upstream("dreamina-seedance-2-0-260128")
        .prompt("a kite over dunes")
        .params(&params)
        .build()
}

fn image_job() -> testing::JobBuilder {
    let params = [("size", ParamValue::Text("2K".into()))];
    testing::job(MediaKind::Image, "seedream-5.0").upstream("seedream-5-0-260128").prompt("a red fox").params(&params)
}

fn image() -> ProviderJob {
    image_job().build()
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, json!({"error": {"code": code, "message": message, "param": "", "type": "BadRequest"}}))
}

/// The shape every submit must have: Bearer key, JSON, the right path.
fn assert_authorized_json(request: &fake_upstream::Request) {
    assert_eq!(request.header("authorization"), Some("Bearer ark-test-key"));
    assert!(request.header("content-type").is_some_and(|t| t.starts_with("application/json")));
}

#[tokio::test]
async fn a_video_task_is_submitted_polled_and_fetched_without_the_key() {
    let polls = Arc::new(Mutex::new(0));
    let count = polls.clone();
    let fake = FakeUpstream::start(move |r| {
        let host = r.header("host").unwrap_or_default().to_string();
        match r.route().as_str() {
            route if route == format!("POST {TASKS_PATH}") => Reply::json(200, json!({"id": "cgt-20261206-abc"})),
            route if route == format!("GET {TASKS_PATH}/cgt-20261206-abc") => {
                let mut n = count.lock().unwrap();
                *n += 1;
                let status = ["queued", "running"].get(*n - 1).copied().unwrap_or("succeeded");
                let mut task = json!({"id": "cgt-20261206-abc", "model": "dreamina-seedance-2-0-260128", "status": status,
                    "created_at": 1_790_000_000, "updated_at": 1_790_000_100});
                if status == "succeeded" {
                    task["content"] = json!({
                        "video_url": format!("http://{host}/tos/out.mp4?X-Tos-Signature=s"),
                        "last_frame_url": format!("http://{host}/tos/last.png?X-Tos-Signature=s"),
                    });
                    task["usage"] = json!({"completion_tokens": 108_900, "total_tokens": 108_900});
                }
                Reply::json(200, task)
            }
            "GET /tos/out.mp4" => Reply::bytes(200, "video/mp4", &b"seedance mp4"[..]),
            "GET /tos/last.png" => Reply::bytes(200, "image/png", &b"last frame"[..]),
            _ => Reply::status(404),
        }
    })
    .await;
    let byteplus = adapter(&fake);
    let mut job = video();
    job.callback_url = Some(url::Url::parse("https://studio.example/hooks/bp/s").unwrap());
    job.references = vec![
        testing::reference(ReferenceRole::FirstFrame, b"first"),
        ReferenceFile {
            role: ReferenceRole::ReferenceAudio,
            content_type: "audio/mpeg".into(),
            bytes: Bytes::from_static(b"song"),
            tag: None,
        },
    ];
    let submitted = byteplus.submit(&job).await.unwrap();
    assert_eq!(submitted.handle.id, "cgt-20261206-abc");
    let create = &fake.requests_to(&format!("POST {TASKS_PATH}"))[0];
    assert_authorized_json(create);
    assert_eq!(
        create.json(),
        json!({
            "model": "dreamina-seedance-2-0-260128",
            "content": [
                {"type": "text", "text": "a kite over dunes"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,Zmlyc3Q="}, "role": "first_frame"},
                {"type": "audio_url", "audio_url": {"url": "data:audio/mpeg;base64,c29uZw=="}, "role": "reference_audio"},
            ],
            "resolution": "720p", "ratio": "16:9", "duration": 5, "generate_audio": true, "return_last_frame": true,
            "callback_url": "https://studio.example/hooks/bp/s",
        })
    );
    for _ in 0..2 {
        assert!(matches!(byteplus.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }));
    }
    let UpstreamStatus::Succeeded { outputs, usage } = byteplus.poll(&submitted.handle).await.unwrap() else { panic!("succeeded") };
    assert_eq!(usage.and_then(|u| u.units), Some(108_900.0));
    assert_eq!(outputs.iter().map(|o| o.content_type.as_deref()).collect::<Vec<_>>(), [Some("video/mp4"), Some("image/png")]);
    let video = drain(byteplus.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap();
    assert_eq!(&video[..], b"seedance mp4");
    let frame = drain(byteplus.fetch(&submitted.handle, &outputs[1], 1024).await.unwrap()).await.unwrap();
    assert_eq!(&frame[..], b"last frame");
    assert!(fake.requests_to("GET /tos/").iter().all(|r| r.header("authorization").is_none()), "the key never goes to storage");
    assert!(fake.requests_to("GET /api/").iter().all(|r| r.header("authorization") == Some("Bearer ark-test-key")));
}

#[tokio::test]
async fn a_lone_first_frame_goes_without_a_role_and_frames_with_theirs() {
    let fake = FakeUpstream::start(|_| Reply::json(200, json!({"id": "cgt-1"}))).await;
    let byteplus = adapter(&fake);
    let plain = testing::job(MediaKind::Video, "seedance-1.0-pro").upstream("seedance-1-0-pro-250528");
    let lone = plain.clone().references(vec![testing::reference(ReferenceRole::FirstFrame, b"first")]).build();
    byteplus.submit(&lone).await.unwrap();
    byteplus.submit(&plain.references(testing::first_and_last_frames()).build()).await.unwrap();
    let bodies: Vec<Value> = fake.requests().iter().map(|r| r.json()).collect();
    assert_eq!(
        bodies[0],
        json!({"model": "seedance-1-0-pro-250528", "content": [
            {"type": "text", "text": "a glass whale over a city"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,Zmlyc3Q="}},
        ]})
    );
    assert_eq!(bodies[1]["content"][1]["role"], "first_frame");
    assert_eq!(
        bodies[1]["content"][2],
        json!({"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,bGFzdA=="}, "role": "last_frame"})
    );
}

#[tokio::test]
async fn a_video_to_edit_or_extend_goes_as_seedances_reference_video() {
    let fake = FakeUpstream::start(|_| Reply::json(200, json!({"id": "cgt-2"}))).await;
    let source =
        ReferenceFile { role: ReferenceRole::SourceVideo, content_type: "video/mp4".into(), bytes: Bytes::from_static(b"clip"), tag: None };
    let job = testing::job(MediaKind::Video, "seedance-2.0-edit")
        .upstream("dreamina-seedance-2-0-260128")
        .operation(crate::domain::catalog::Operation::Edit)
        .references(vec![source, testing::reference(ReferenceRole::Reference, b"look")])
        .build();
    adapter(&fake).submit(&job).await.unwrap();
    let content = &fake.requests()[0].json()["content"];
    assert_eq!(content[1], json!({"type": "video_url", "video_url": {"url": "data:video/mp4;base64,Y2xpcA=="}, "role": "reference_video"}));
    assert_eq!(content[2]["role"], "reference_image");
}

#[tokio::test]
async fn error_codes_and_statuses_map_to_the_classes() {
    let cases: Vec<(Reply, &str)> = vec![
        (error(401, "AuthenticationError", "the API key is invalid"), "provider.auth"),
        (error(403, "AccessDenied", "no access"), "provider.auth"),
        (error(403, "AccountOverdueError", "the account is overdue"), "provider.insufficient_credit"),
        (error(400, "InputTextSensitiveContentDetected", "the prompt may contain sensitive content"), "provider.content_policy"),
        (error(400, "InputImageSensitiveContentDetected.PrivacyInformation", "may contain a real person"), "provider.content_policy"),
        (error(400, "InputTextRiskDetection", "risky"), "provider.content_policy"),
        (error(400, "InvalidParameter.duration", "duration must be 4-15"), "provider.invalid_input"),
        (error(400, "MissingParameter", "content is required"), "provider.invalid_input"),
        (error(404, "ModelNotOpen", "the model is not activated"), "provider.invalid_input"),
        (error(429, "RateLimitExceeded.EndpointRPMExceeded", "too many requests"), "provider.rate_limited"),
        (error(500, "InternalServiceError", "try again"), "provider.transient"),
        (Reply::status(503), "provider.transient"),
        (Reply::json(200, json!({"status": "odd"})), "provider.transient"),
        (Reply::text(200, "{not json"), "provider.transient"),
    ];
    testing::assert_submit_errors(adapter, &video(), cases).await;
}

#[tokio::test]
async fn a_model_not_open_says_how_to_open_it() {
    let fake = FakeUpstream::start(|_| error(404, "ModelNotOpen", "Your account has not activated the model.")).await;
    let err = adapter(&fake).submit(&video()).await.unwrap_err();
    assert!(err.to_string().contains("prepaid resource pack"), "{err}");
}

#[tokio::test]
async fn a_rate_limit_carries_retry_after() {
    let fake = FakeUpstream::start(|_| error(429, "RateLimitExceeded.EndpointRPMExceeded", "slow down").header("retry-after", 7)).await;
    let err = adapter(&fake).poll(&testing::handle("cgt-1")).await.unwrap_err();
    assert_eq!(err, ProviderError::RateLimited { retry_after: Some(Duration::from_secs(7)), message: "slow down".into() });
}

#[tokio::test]
async fn failed_expired_cancelled_and_unknown_tasks() {
    let answer = Arc::new(Mutex::new(json!({})));
    let current = answer.clone();
    let fake = FakeUpstream::start(move |_| Reply::json(200, current.lock().unwrap().clone())).await;
    let byteplus = adapter(&fake);
    let poll = async |body: Value| {
        *answer.lock().unwrap() = body;
        byteplus.poll(&testing::handle("cgt-1")).await.unwrap()
    };
    let failed = |status: UpstreamStatus| match status {
        UpstreamStatus::Failed(e) => e,
        other => panic!("{other:?}"),
    };
    let moderated = json!({"status": "failed", "error": {"code": "InputImageSensitiveContentDetected", "message": "image rejected"}});
    let e = failed(poll(moderated).await);
    assert_eq!(e.code(), "provider.content_policy");
    assert!(e.to_string().contains("image rejected"), "{e}");
    // the output-video moderation code is undocumented: any Output…Sensitive/Risk code
    let output = json!({"status": "failed", "error": {"code": "OutputVideoRiskDetection", "message": "output rejected"}});
    assert_eq!(failed(poll(output).await).code(), "provider.content_policy");
    let other = json!({"status": "failed", "error": {"code": "InternalServiceError", "message": "oops"}});
    assert_eq!(failed(poll(other).await).code(), "provider.transient");
    assert_eq!(failed(poll(json!({"status": "failed"})).await).code(), "provider.invalid_input");
    assert_eq!(failed(poll(json!({"status": "expired"})).await), ProviderError::Timeout);
    assert_eq!(failed(poll(json!({"status": "cancelled"})).await).code(), "provider.not_found");
    assert!(matches!(poll(json!({"status": "warming_up"})).await, UpstreamStatus::Pending { .. }));
    let no_video = poll(json!({"status": "succeeded", "content": {}})).await;
    assert!(matches!(no_video, UpstreamStatus::Failed(ProviderError::Transient(_))));
}

#[tokio::test]
async fn cancel_and_delete_send_delete_and_a_gone_task_is_not_an_error() {
    let fake = FakeUpstream::start(|r| match r.path.as_str() {
        "/api/v3/contents/generations/tasks/cgt-gone" => error(404, "ResourceNotFound", "no such task"),
        _ => Reply::json(200, json!({})),
    })
    .await;
    let byteplus = adapter(&fake);
    byteplus.cancel(&testing::handle("cgt-1")).await.unwrap();
    assert!(byteplus.delete_upstream(&testing::handle("cgt-1")).await.unwrap());
    assert!(!byteplus.delete_upstream(&testing::handle("cgt-gone")).await.unwrap());
    let deletes = fake.requests_to(&format!("DELETE {TASKS_PATH}/cgt-1"));
    assert_eq!(deletes.len(), 2);
    assert_eq!(deletes[0].header("authorization"), Some("Bearer ark-test-key"));
}

#[tokio::test]
async fn seedream_answers_at_once_with_base64_images() {
    let fake = FakeUpstream::start(|_| {
        Reply::json(
            200,
            json!({"model": "seedream-5-0-260128", "created_at": 1_790_000_000,
            "data": [{"b64_json": "aW1hZ2Ugb25l", "size": "2048x2048"}, {"b64_json": "aW1hZ2UgdHdv", "size": "2048x2048"}],
            "usage": {"generated_images": 2, "output_tokens": 32_768, "total_tokens": 32_768}}),
        )
    })
    .await;
    let byteplus = adapter(&fake);
    let job = image_job()
        .references(vec![testing::reference(ReferenceRole::Reference, b"ref1"), testing::reference(ReferenceRole::Reference, b"ref2")])
        .outputs(2)
        .build();
    let submitted = byteplus.submit(&job).await.unwrap();
    let request = &fake.requests_to("POST /api/v3/images/generations")[0];
    assert_authorized_json(request);
    assert_eq!(
        request.json(),
        json!({
            "model": "seedream-5-0-260128", "prompt": "a red fox", "response_format": "b64_json", "size": "2K",
            "image": ["data:image/png;base64,cmVmMQ==", "data:image/png;base64,cmVmMg=="],
            "sequential_image_generation": "auto", "sequential_image_generation_options": {"max_images": 2},
        })
    );
    let UpstreamStatus::Succeeded { outputs, usage } = submitted.status else { panic!("answered at once") };
    assert_eq!(usage.and_then(|u| u.units), Some(2.0));
    let second = drain(byteplus.fetch(&submitted.handle, &outputs[1], 1024).await.unwrap()).await.unwrap();
    assert_eq!(&second[..], b"image two");
    assert!(byteplus.poll(&submitted.handle).await.is_err(), "nothing to poll");
    assert!(!byteplus.delete_upstream(&submitted.handle).await.unwrap());
    assert_eq!(fake.requests().len(), 1, "cancel and delete of an image send nothing");
}

#[tokio::test]
async fn a_seedream_refusal_and_an_answer_without_images_fail_the_job() {
    let fake = FakeUpstream::start(|r| match r.json()["prompt"].as_str() {
        Some("blocked") => error(400, "OutputImageSensitiveContentDetected", "the output image may be sensitive"),
        _ => Reply::json(200, json!({"data": [], "error": {"code": "OutputImageRiskDetection", "message": "risky output"}})),
    })
    .await;
    let byteplus = adapter(&fake);
    let blocked = image_job().prompt("blocked").build();
    assert_eq!(byteplus.submit(&blocked).await.unwrap_err().code(), "provider.content_policy");
    let UpstreamStatus::Failed(e) = byteplus.submit(&image()).await.unwrap().status else { panic!("failed") };
    assert_eq!(e.code(), "provider.content_policy");
}

#[tokio::test]
async fn a_hanging_upstream_times_out() {
    let short = |fake: &FakeUpstream| BytePlus::new(&config(fake, Duration::from_millis(300))).unwrap();
    testing::assert_submit_times_out(short, &video()).await;
}

#[tokio::test]
async fn expired_output_urls_and_oversized_files_are_refused() {
    let fake = FakeUpstream::start(|_| Reply::status(500)).await;
    let byteplus = adapter(&fake);
    testing::assert_expired_and_oversized_refused(&byteplus).await;
    testing::assert_cdn_outputs_fetched_keyless(&byteplus, &testing::handle("cgt-1"), &fake).await;
}

#[test]
fn callbacks_name_the_task() {
    let byteplus = BytePlus::new(&ConnectionConfig::new("b", "byteplus")).unwrap();
    let call = |body: &str| Callback { headers: Default::default(), body: Bytes::from(body.to_string()) };
    assert_eq!(byteplus.callback(&call(r#"{"id":"cgt-9","status":"succeeded"}"#)).unwrap().as_deref(), Some("cgt-9"));
    assert_eq!(byteplus.callback(&call("not json")).unwrap(), None);
}

#[tokio::test]
async fn test_connection_lists_one_task() {
    let fake = FakeUpstream::start(|r| match r.header("authorization") {
        Some("Bearer ark-test-key") => Reply::json(200, json!({"total": 3, "items": [{"id": "cgt-1", "status": "succeeded"}]})),
        _ => error(401, "AuthenticationError", "the API key is invalid"),
    })
    .await;
    assert!(adapter(&fake).test_connection().await.unwrap().contains("3 video tasks"));
    let request = &fake.requests()[0];
    assert_eq!(request.path, TASKS_PATH);
    assert_eq!((request.query_param("page_num").as_deref(), request.query_param("page_size").as_deref()), (Some("1"), Some("1")));
    let wrong = BytePlus::new(&ConnectionConfig { api_key: Some(Secret::new("nope")), ..config(&fake, Duration::from_secs(1)) }).unwrap();
    testing::assert_key_refused(&wrong).await;
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        BytePlus::new(&ConnectionConfig { base_url: Some(base), ..config(fake, Duration::from_secs(2)) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::KeyTest, "api/v3", "/api/v3/contents/generations/tasks").await;
    testing::assert_base_url_forms(adapter, Probe::Submit(&video()), "api/v3", "/api/v3/contents/generations/tasks").await;
    testing::assert_base_url_forms(adapter, Probe::Submit(&image()), "api/v3", "/api/v3/images/generations").await;
}
