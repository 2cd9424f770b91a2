//! Tests of MiniMax's v2 wire format (MiniMax-H3) against a loopback fake.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply};
use serde_json::{Value, json};

use crate::domain::catalog::{MediaKind, ParamValue, ReferenceRole};
use crate::domain::generation::UpstreamHandle;
use crate::providers::kit::testing::{self, connection, drain};
use crate::providers::minimax::MiniMax;
use crate::providers::{Provider, ProviderError, ProviderJob, ReferenceFile, UpstreamStatus};

const TASK: &str = "h3-task-1";

fn adapter(fake: &FakeUpstream) -> MiniMax {
    MiniMax::new(&connection(fake, "minimax", "mm-test-key")).unwrap()
}

fn job() -> ProviderJob {
    let params =
        [("resolution", ParamValue::Text("2K".into())), ("duration", ParamValue::Int(10)), ("ratio", ParamValue::Text("adaptive".into()))];
    testing::job(MediaKind::Video, "minimax-h3").upstream("MiniMax-H3").prompt("a lighthouse in a storm").params(&params).build()
}

fn file(role: ReferenceRole, content_type: &str, bytes: &'static [u8]) -> ReferenceFile {
    ReferenceFile { role, content_type: content_type.into(), bytes: Bytes::from_static(bytes), tag: None }
}

fn ok(mut value: Value) -> Reply {
    value["base_resp"] = json!({"status_code": 0, "status_msg": "success"});
    Reply::json(200, value)
}

fn v2_handle() -> UpstreamHandle {
    UpstreamHandle { id: TASK.into(), data: [("wire".to_string(), "v2".to_string())].into() }
}

#[test]
fn only_the_h_series_speaks_v2() {
    assert!(super::speaks("MiniMax-H3") && super::speaks("MiniMax-H4"));
    assert!(!super::speaks("MiniMax-Hailuo-02") && !super::speaks("MiniMax-Hailuo-2.3") && !super::speaks("T2V-01"));
}

#[tokio::test]
async fn an_h3_video_is_submitted_with_content_polled_at_v2_and_fetched_without_the_key() {
    let polls = Arc::new(Mutex::new(0));
    let count = polls.clone();
    let fake = FakeUpstream::start(move |r| match r.route().as_str() {
        "POST /v2/video_generation" => ok(json!({"task_id": TASK})),
        "GET /v2/query/video_generation/h3-task-1" => {
            let mut n = count.lock().unwrap();
            *n += 1;
            let status = ["queued", "running"].get(*n - 1).copied().unwrap_or("succeeded");
            let mut task = json!({"id": TASK, "model": "MiniMax-H3", "status": status});
            if status == "succeeded" {
                let url = format!("http://{}/cdn/h3.mp4?Expires=1&Signature=x", r.header("host").unwrap());
                task["content"] = json!({"url": url});
                task["usage"] = json!({"duration": 10});
            }
            ok(json!({"task": task}))
        }
        "GET /cdn/h3.mp4" => Reply::bytes(200, "video/mp4", &b"h3 bytes"[..]),
        _ => Reply::status(404),
    })
    .await;
    let minimax = adapter(&fake);
    let mut job = job();
    job.callback_url = Some(url::Url::parse("https://studio.example/hooks/mm/s").unwrap());
    job.references = vec![
        file(ReferenceRole::Reference, "image/png", b"hero"),
        file(ReferenceRole::ReferenceVideo, "video/mp4", b"clip"),
        file(ReferenceRole::ReferenceAudio, "audio/mpeg", b"tune"),
    ];
    let submitted = minimax.submit(&job).await.unwrap();
    assert_eq!(submitted.handle, v2_handle());
    let create = &fake.requests_to("POST /v2/video_generation")[0];
    assert_eq!(create.header("authorization"), Some("Bearer mm-test-key"));
    assert_eq!(
        create.json(),
        json!({
            "model": "MiniMax-H3",
            "content": [
                {"type": "text", "text": "a lighthouse in a storm"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVybw=="}, "role": "reference_image"},
                {"type": "video_url", "video_url": {"url": "data:video/mp4;base64,Y2xpcA=="}, "role": "reference_video"},
                {"type": "audio_url", "audio_url": {"url": "data:audio/mpeg;base64,dHVuZQ=="}, "role": "reference_audio"}
            ],
            "resolution": "2K", "duration": 10, "ratio": "adaptive",
            "callback_url": "https://studio.example/hooks/mm/s"
        })
    );
    for _ in 0..2 {
        assert!(matches!(minimax.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }));
    }
    let UpstreamStatus::Succeeded { outputs, .. } = minimax.poll(&submitted.handle).await.unwrap() else { panic!("succeeded") };
    assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
    let bytes = drain(minimax.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap();
    assert_eq!(&bytes[..], b"h3 bytes");
    assert_eq!(fake.requests_to("GET /cdn/")[0].header("authorization"), None, "the key never goes to the video URL");
    assert!(fake.requests_to("GET /v1/").is_empty(), "nothing went to the v1 paths");
}

#[tokio::test]
async fn frames_go_as_first_and_last_frame_items() {
    let fake = FakeUpstream::start(|_| ok(json!({"task_id": TASK}))).await;
    let mut job = job();
    job.references = testing::first_and_last_frames();
    adapter(&fake).submit(&job).await.unwrap();
    let content = fake.requests_to("POST /v2/video_generation")[0].json()["content"].clone();
    assert_eq!(content[1], json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,Zmlyc3Q="}, "role": "first_frame"}));
    assert_eq!(content[2], json!({"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,bGFzdA=="}, "role": "last_frame"}));
}

#[tokio::test]
async fn failed_cancelled_and_empty_tasks_map_to_errors() {
    let answer = Arc::new(Mutex::new(json!({})));
    let current = answer.clone();
    let fake = FakeUpstream::start(move |_| Reply::json(200, current.lock().unwrap().clone())).await;
    let minimax = adapter(&fake);
    let poll = async |body: Value| {
        *answer.lock().unwrap() = body;
        minimax.poll(&v2_handle()).await
    };
    let sensitive = json!({"task": {"id": TASK, "status": "failed", "error": {"code": 1027, "message": "output video sensitive"}}});
    let Ok(UpstreamStatus::Failed(e)) = poll(sensitive).await else { panic!("a content-policy failure") };
    assert_eq!((e.code(), e.to_string().contains("output video sensitive")), ("provider.content_policy", true));
    let failed = json!({"task": {"id": TASK, "status": "failed", "error": {"code": 2099, "message": "render failed"}},
        "base_resp": {"status_code": 2099, "status_msg": "render failed"}});
    let Ok(UpstreamStatus::Failed(e)) = poll(failed).await else { panic!("a failure kept, not a refused call") };
    assert!(e.to_string().contains("render failed"), "{e}");
    let cancelled = poll(json!({"task": {"id": TASK, "status": "cancelled"}})).await.unwrap();
    assert!(matches!(cancelled, UpstreamStatus::Failed(ProviderError::NotFound(_))));
    let no_video = poll(json!({"task": {"id": TASK, "status": "succeeded", "content": {}}})).await.unwrap();
    assert!(matches!(no_video, UpstreamStatus::Failed(ProviderError::Transient(_))));
    let refused = poll(json!({"base_resp": {"status_code": 2013, "status_msg": "invalid task_id"}})).await;
    assert_eq!(refused.unwrap_err().code(), "provider.invalid_input");
    let polls = fake.requests_to("GET /v2/query/video_generation/h3-task-1");
    assert_eq!(polls.len(), 5, "every poll went to the v2 query path");
}

#[tokio::test]
async fn frames_with_references_and_an_adaptive_ratio_without_media_are_refused_before_sending() {
    let fake = FakeUpstream::start(|_| ok(json!({"task_id": TASK}))).await;
    let minimax = adapter(&fake);
    let mut mixed = job();
    mixed.references = testing::first_and_last_frames();
    mixed.references.push(file(ReferenceRole::ReferenceVideo, "video/mp4", b"clip"));
    assert_eq!(minimax.submit(&mixed).await.unwrap_err().code(), "provider.invalid_input");
    let alone = job();
    let refused = minimax.submit(&alone).await.unwrap_err();
    assert!(refused.to_string().contains("adaptive"), "{refused}");
    assert!(fake.requests().is_empty(), "nothing was sent");
    let mut framed = job();
    framed.references = testing::first_and_last_frames();
    minimax.submit(&framed).await.unwrap();
}
