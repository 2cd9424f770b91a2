//! Tests of the runway adapter against a loopback fake of its wire format.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply, Request};

use super::*;
use crate::domain::catalog::ParamValue;
use crate::providers::kit::testing::{self, Probe, connection};

const KEY: &str = "rw-test-key";
const TASK: &str = "17f20503-6c24-4c16-946b-35dbbce2af2f";
const MP4: &[u8] = b"\x00\x00\x00\x18ftypmp42 runway video";

fn adapter(fake: &FakeUpstream, timeout: Duration) -> Runway {
    Runway::new(&ConnectionConfig { base_url: Some(fake.at("v1/")), timeout, ..connection(fake, "runway", KEY) }).unwrap()
}

fn job(kind: MediaKind, upstream: &str, params: &[(&str, ParamValue)], references: Vec<ReferenceFile>) -> ProviderJob {
    let model = format!("runway-{upstream}");
    testing::job(kind, &model).upstream(upstream).prompt("a paper boat on a puddle").params(params).references(references).build()
}

fn video_params() -> Vec<(&'static str, ParamValue)> {
    vec![("duration", ParamValue::Int(5)), ("ratio", ParamValue::Text("1280:720".into())), ("seed", ParamValue::Int(42))]
}

fn data(bytes: &[u8]) -> String {
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn authorized(r: &Request) -> bool {
    r.header("authorization") == Some(&format!("Bearer {KEY}")) && r.header("x-runway-version") == Some(API_VERSION)
}

/// A Runway fake answering each poll with the next of `polls` (the last one repeats);
/// every task answer names output URLs on `cdn`.
async fn runway_fake(polls: Vec<Value>) -> FakeUpstream {
    let seen = Arc::new(Mutex::new(0usize));
    FakeUpstream::start(move |r: &Request| {
        if !authorized(r) {
            return Reply::json(401, json!({"error": "Invalid API key"}));
        }
        match r.route().as_str() {
            "POST /v1/image_to_video" | "POST /v1/text_to_video" | "POST /v1/text_to_image" => Reply::json(200, json!({"id": TASK})),
            "GET /v1/tasks/17f20503-6c24-4c16-946b-35dbbce2af2f" => {
                let mut n = seen.lock().unwrap();
                let answer = polls[(*n).min(polls.len() - 1)].clone();
                *n += 1;
                Reply::json(200, answer)
            }
            "DELETE /v1/tasks/17f20503-6c24-4c16-946b-35dbbce2af2f" => Reply::status(204),
            _ => Reply::json(404, json!({"error": "Not found"})),
        }
    })
    .await
}

fn task(status: &str, extra: Value) -> Value {
    let mut t = json!({"id": TASK, "status": status, "createdAt": "2026-08-01T10:00:00Z"});
    if let (Some(t), Value::Object(extra)) = (t.as_object_mut(), extra) {
        t.extend(extra);
    }
    t
}

#[tokio::test]
async fn image_to_video_is_exact_walks_the_statuses_and_fetches_without_the_key() {
    let cdn = FakeUpstream::start(
        |r: &Request| {
            if r.path == "/tasks/out.mp4" { Reply::bytes(200, "video/mp4", MP4) } else { Reply::status(404) }
        },
    )
    .await;
    let output = cdn.at("tasks/out.mp4?Expires=1&Signature=abc").to_string();
    let fake = runway_fake(vec![
        task("PENDING", json!({})),
        task("THROTTLED", json!({})),
        task("RUNNING", json!({"progress": 0.42})),
        task("SUCCEEDED", json!({"output": [output]})),
    ])
    .await;
    let runway = adapter(&fake, Duration::from_secs(5));
    let job = job(MediaKind::Video, "gen4_turbo", &video_params(), vec![testing::reference(ReferenceRole::FirstFrame, b"first frame")]);
    let submitted = runway.submit(&job).await.unwrap();
    assert_eq!(submitted.handle.id, TASK);
    let sent = &fake.requests_to("POST /v1/image_to_video")[0];
    assert_eq!(
        sent.json(),
        json!({"model": "gen4_turbo", "promptText": "a paper boat on a puddle", "ratio": "1280:720", "duration": 5, "seed": 42,
            "promptImage": data(b"first frame")})
    );
    assert!(matches!(runway.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { progress: None, .. }));
    assert!(matches!(runway.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { progress: None, .. }), "THROTTLED waits");
    assert!(matches!(runway.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { progress: Some(42), .. }));
    let UpstreamStatus::Succeeded { outputs, .. } = runway.poll(&submitted.handle).await.unwrap() else { panic!("done") };
    assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
    assert_eq!(testing::drain(runway.fetch(&submitted.handle, &outputs[0], 1 << 20).await.unwrap()).await.unwrap(), MP4);
    assert_eq!(cdn.requests()[0].header("authorization"), None, "the key stays off the CDN");
    assert_eq!(runway.fetch(&submitted.handle, &outputs[0], 10).await.err(), Some(ProviderError::TooLarge { cap: 10 }));

    runway.delete_upstream(&submitted.handle).await.unwrap();
    assert_eq!(fake.requests_to(&format!("DELETE /v1/tasks/{TASK}")).len(), 1);
    assert!(fake.requests().iter().all(authorized), "every API request carried the key and version");
    fake.stop().await;
    cdn.stop().await;
}

#[tokio::test]
async fn text_to_video_and_text_to_image_requests_are_exact() {
    let fake = runway_fake(vec![task("SUCCEEDED", json!({"output": ["https://cdn.example/a.png"]}))]).await;
    let runway = adapter(&fake, Duration::from_secs(5));
    let video = job(MediaKind::Video, "gen4.5", &video_params(), Vec::new());
    runway.submit(&video).await.unwrap();
    assert_eq!(
        fake.requests_to("POST /v1/text_to_video")[0].json(),
        json!({"model": "gen4.5", "promptText": "a paper boat on a puddle", "ratio": "1280:720", "duration": 5, "seed": 42})
    );
    let with_frame = job(MediaKind::Video, "gen4.5", &video_params(), vec![testing::reference(ReferenceRole::FirstFrame, b"f")]);
    runway.submit(&with_frame).await.unwrap();
    assert_eq!(fake.requests_to("POST /v1/image_to_video")[0].json()["promptImage"], data(b"f"));

    let no_frame = job(MediaKind::Video, "gen4_turbo", &video_params(), Vec::new());
    assert_eq!(runway.submit(&no_frame).await.unwrap_err().code(), "provider.invalid_input");
    assert!(fake.requests_to("POST /v1/text_to_video").len() == 1, "gen4_turbo without a frame is refused before sending");

    let params = [("ratio", ParamValue::Text("1920:1080".into())), ("seed", ParamValue::Int(7))];
    let refs = vec![testing::reference(ReferenceRole::Reference, b"cat"), testing::reference(ReferenceRole::Reference, b"hat")];
    let image = job(MediaKind::Image, "gen4_image", &params, refs);
    let submitted = runway.submit(&image).await.unwrap();
    assert_eq!(
        fake.requests_to("POST /v1/text_to_image")[0].json(),
        json!({"model": "gen4_image", "promptText": "a paper boat on a puddle", "ratio": "1920:1080", "seed": 7,
            "referenceImages": [{"uri": data(b"cat"), "tag": "ref1"}, {"uri": data(b"hat"), "tag": "ref2"}]})
    );
    let UpstreamStatus::Succeeded { outputs, .. } = runway.poll(&submitted.handle).await.unwrap() else { panic!("done") };
    assert_eq!(outputs, vec![OutputRef::new("https://cdn.example/a.png", None)]);

    // a cast member's reference goes under its tag, which the prompt names as `@Maya`
    let mut maya = testing::reference(ReferenceRole::Reference, b"maya");
    maya.tag = Some("Maya".into());
    let mut tagged = job(MediaKind::Image, "gen4_image", &params, vec![maya, testing::reference(ReferenceRole::Reference, b"hat")]);
    tagged.prompt = "@Maya wearing @ref2".into();
    runway.submit(&tagged).await.unwrap();
    let sent = fake.requests_to("POST /v1/text_to_image")[1].json();
    assert_eq!(sent["referenceImages"], json!([{"uri": data(b"maya"), "tag": "Maya"}, {"uri": data(b"hat"), "tag": "ref2"}]));
    assert_eq!(sent["promptText"], "@Maya wearing @ref2", "Runway reads the tags itself");
    fake.stop().await;
}

#[tokio::test]
async fn failed_cancelled_and_unknown_tasks() {
    let cases = [
        (
            task("FAILED", json!({"failure": "Your prompt was flagged", "failureCode": "SAFETY.INPUT.TEXT"})),
            Some("provider.content_policy"),
        ),
        (task("FAILED", json!({"failure": "Output rejected", "failureCode": "SAFETY.OUTPUT.VIDEO"})), Some("provider.content_policy")),
        (task("FAILED", json!({"failure": "Bad output", "failureCode": "INTERNAL.BAD_OUTPUT.CODE01"})), Some("provider.transient")),
        (task("FAILED", json!({"failure": "Could not read the image", "failureCode": "ASSET.INVALID"})), Some("provider.invalid_input")),
        (task("FAILED", json!({})), Some("provider.invalid_input")),
        (task("CANCELLED", json!({})), Some("provider.not_found")),
        (task("SUCCEEDED", json!({"output": []})), Some("provider.transient")),
        (task("WARMING_UP", json!({"progress": 0.1})), None),
    ];
    for (answer, code) in cases {
        let fake = runway_fake(vec![answer.clone()]).await;
        let runway = adapter(&fake, Duration::from_secs(5));
        let handle = UpstreamHandle { id: TASK.into(), data: Default::default() };
        match (runway.poll(&handle).await.unwrap(), code) {
            (UpstreamStatus::Failed(e), Some(code)) => assert_eq!(e.code(), code, "{answer}"),
            (UpstreamStatus::Pending { progress, .. }, None) => assert_eq!(progress, Some(10), "unknown statuses keep waiting"),
            (other, _) => panic!("{answer}: {other:?}"),
        }
        fake.stop().await;
    }
}

#[tokio::test]
async fn http_errors_map_to_the_classes() {
    let reply = Arc::new(Mutex::new(Reply::status(200)));
    let reply_in = reply.clone();
    let fake = FakeUpstream::start(move |_: &Request| reply_in.lock().unwrap().clone()).await;
    let runway = adapter(&fake, Duration::from_secs(5));
    let cases = [
        (Reply::json(401, json!({"error": "Invalid API key"})), "provider.auth"),
        (Reply::json(400, json!({"error": "Invalid ratio for gen4_turbo", "issues": [{"path": ["ratio"]}]})), "provider.invalid_input"),
        (Reply::json(400, json!({"error": "You do not have enough credits to run this task."})), "provider.insufficient_credit"),
        (Reply::json(502, json!({"error": "Bad gateway"})), "provider.transient"),
        (Reply::status(504), "provider.transient"),
        (Reply::text(200, "{oops"), "provider.transient"),
    ];
    let video = job(MediaKind::Video, "gen4.5", &video_params(), Vec::new());
    for (answer, code) in cases {
        *reply.lock().unwrap() = answer.clone();
        assert_eq!(runway.submit(&video).await.unwrap_err().code(), code, "{answer:?}");
    }
    *reply.lock().unwrap() = Reply::json(429, json!({"error": "Daily task limit reached"})).header("retry-after", "9");
    let err = runway.submit(&video).await.unwrap_err();
    assert_eq!((err.code(), err.retry_after()), ("provider.rate_limited", Some(Duration::from_secs(9))));
    *reply.lock().unwrap() = Reply::json(404, json!({"error": "Task not found"}));
    let handle = UpstreamHandle { id: TASK.into(), data: Default::default() };
    assert_eq!(runway.poll(&handle).await.unwrap_err().code(), "provider.not_found");
    fake.stop().await;
}

#[tokio::test]
async fn a_poll_that_never_answers_times_out() {
    let fake = FakeUpstream::start(|_: &Request| Reply::hang()).await;
    let runway = adapter(&fake, Duration::from_millis(300));
    let handle = UpstreamHandle { id: TASK.into(), data: Default::default() };
    assert_eq!(runway.poll(&handle).await.unwrap_err(), ProviderError::Timeout);
    fake.stop().await;
}

#[tokio::test]
async fn an_expired_output_url_is_refreshed_from_the_task_or_is_not_found() {
    let cdn = FakeUpstream::start(|r: &Request| match r.query_param("Signature").as_deref() {
        Some("fresh") if r.path == "/out/video.mp4" => Reply::bytes(200, "video/mp4", MP4),
        _ => Reply::text(403, "AccessDenied: Request has expired"),
    })
    .await;
    let stale = cdn.at("out/video.mp4?Signature=stale").to_string();
    let fresh = cdn.at("out/video.mp4?Signature=fresh").to_string();
    let handle = UpstreamHandle { id: TASK.into(), data: Default::default() };
    let output = OutputRef::new(stale.clone(), Some("video/mp4".into()));

    let fake = runway_fake(vec![task("SUCCEEDED", json!({"output": [fresh]}))]).await;
    let runway = adapter(&fake, Duration::from_secs(5));
    assert_eq!(testing::drain(runway.fetch(&handle, &output, 1 << 20).await.unwrap()).await.unwrap(), MP4);
    assert_eq!(fake.requests_to("GET /v1/tasks/").len(), 1, "the task was asked for fresh URLs");
    fake.stop().await;

    let deleted = runway_fake(vec![task("SUCCEEDED", json!({"output": [cdn.at("other/file.mp4").to_string()]}))]).await;
    let runway = adapter(&deleted, Duration::from_secs(5));
    assert_eq!(runway.fetch(&handle, &output, 1 << 20).await.err().map(|e| e.code()), Some("provider.not_found"));
    deleted.stop().await;
    cdn.stop().await;
}

#[tokio::test]
async fn cancel_deletes_the_task_and_test_connection_reads_the_balance() {
    let fake = FakeUpstream::start(|r: &Request| match (r.route().as_str(), authorized(r)) {
        ("GET /v1/organization", true) => Reply::json(200, json!({"creditBalance": 1234, "tier": {"maxMonthlyCreditSpend": 10000}})),
        ("DELETE /v1/tasks/17f20503-6c24-4c16-946b-35dbbce2af2f", true) => Reply::status(204),
        _ => Reply::json(401, json!({"error": "Invalid API key"})),
    })
    .await;
    let runway = adapter(&fake, Duration::from_secs(5));
    runway.cancel(&UpstreamHandle { id: TASK.into(), data: Default::default() }).await.unwrap();
    assert_eq!(fake.requests_to("DELETE /v1/tasks/").len(), 1);
    let said = runway.test_connection().await.unwrap();
    assert!(said.contains("1234 credits"), "{said}");
    let wrong = Runway::new(&ConnectionConfig { base_url: Some(fake.at("v1/")), ..connection(&fake, "runway", "nope") }).unwrap();
    testing::assert_key_refused(&wrong).await;
    fake.stop().await;
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        Runway::new(&ConnectionConfig { base_url: Some(base), ..connection(fake, "runway", KEY) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::KeyTest, "v1", "/v1/organization").await;
    testing::assert_base_url_forms(adapter, Probe::Poll(testing::handle(TASK)), "v1", &format!("/v1/tasks/{TASK}")).await;
}

#[tokio::test]
async fn veo_sound_choice_becomes_runways_audio_flag() {
    let fake = runway_fake(vec![task("RUNNING", json!({}))]).await;
    let runway = adapter(&fake, Duration::from_secs(5));
    for (choice, flag) in [("on", true), ("off", false)] {
        let params =
            [("duration", ParamValue::Int(8)), ("ratio", ParamValue::Text("1920:1080".into())), ("audio", ParamValue::Text(choice.into()))];
        runway.submit(&job(MediaKind::Video, "veo3.1", &params, Vec::new())).await.unwrap();
        let sent = fake.requests_to("POST /v1/text_to_video").last().unwrap().json();
        assert_eq!(
            sent,
            json!({"model": "veo3.1", "promptText": "a paper boat on a puddle", "ratio": "1920:1080", "duration": 8, "audio": flag})
        );
    }
    fake.stop().await;
}
