//! Tests of the luma adapter against a loopback fake of its wire format.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply};

use super::*;
use crate::config::Secret;
use crate::domain::catalog::ReferenceRole;
use crate::providers::kit::testing::{self, Probe, connection, drain};

use crate::providers::ReferenceFile;

const KEY: &str = "luma-test-key";

fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
    ConnectionConfig { timeout, ..connection(fake, "luma", KEY) }
}

fn adapter(fake: &FakeUpstream) -> Luma {
    Luma::new(&config(fake, Duration::from_secs(2))).unwrap()
}

fn job(kind: MediaKind, model: &str, params: &[(&str, ParamValue)]) -> ProviderJob {
    testing::job(kind, model).params(params).build()
}

fn video_job() -> ProviderJob {
    job(
        MediaKind::Video,
        "ray-2",
        &[
            ("duration", ParamValue::Int(9)),
            ("aspect_ratio", ParamValue::Text("21:9".into())),
            ("resolution", ParamValue::Text("720p".into())),
        ],
    )
}

fn generation(id: &str, state: &str) -> Value {
    json!({"id": id, "state": state, "generation_type": "video", "model": "ray-2", "created_at": "2026-01-01T00:00:00Z",
           "failure_reason": null, "assets": null, "request": {}})
}

#[tokio::test]
async fn a_video_is_submitted_polled_fetched_and_deleted() {
    let polls = Arc::new(Mutex::new(0));
    let count = polls.clone();
    let fake = FakeUpstream::start(move |r| match r.route().as_str() {
        "POST /dream-machine/v1/generations/video" => Reply::json(201, generation("g-1", "queued")),
        "GET /dream-machine/v1/generations/g-1" => {
            let mut n = count.lock().unwrap();
            *n += 1;
            if *n == 1 {
                Reply::json(200, generation("g-1", "dreaming"))
            } else {
                let mut g = generation("g-1", "completed");
                let host = r.header("host").unwrap();
                g["assets"] = json!({"video": format!("http://{host}/cdn/g-1.mp4"), "image": format!("http://{host}/cdn/g-1.jpg"),
                                     "progress_video": null});
                Reply::json(200, g)
            }
        }
        "GET /cdn/g-1.mp4" => Reply::bytes(200, "video/mp4", &b"ray bytes"[..]),
        "GET /cdn/g-1.jpg" => Reply::bytes(200, "image/jpeg", &b"ray still"[..]),
        "DELETE /dream-machine/v1/generations/g-1" => Reply::status(204),
        _ => Reply::json(404, json!({"detail": "Generation not found"})),
    })
    .await;
    let luma = adapter(&fake);
    let mut job = video_job();
    job.callback_url = Some(url::Url::parse("https://studio.example/hooks/luma/s").unwrap());
    // references are never sent (Luma takes public URLs only)
    job.references = vec![ReferenceFile {
        role: ReferenceRole::FirstFrame,
        content_type: "image/png".into(),
        bytes: Bytes::from_static(b"x"),
        tag: None,
    }];
    let submitted = luma.submit(&job).await.unwrap();
    assert_eq!(submitted.handle.id, "g-1");
    assert!(matches!(submitted.status, UpstreamStatus::Pending { .. }));
    let create = &fake.requests_to("POST /dream-machine/v1/generations/video")[0];
    assert_eq!(create.header("authorization"), Some("Bearer luma-test-key"));
    assert_eq!(
        create.json(),
        json!({"model": "ray-2", "prompt": "a glass whale over a city", "aspect_ratio": "21:9", "duration": "9s",
               "resolution": "720p", "callback_url": "https://studio.example/hooks/luma/s"})
    );
    assert!(matches!(luma.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }));
    let UpstreamStatus::Succeeded { outputs, .. } = luma.poll(&submitted.handle).await.unwrap() else { panic!("completed") };
    assert_eq!(outputs.len(), 1, "the still is the video's thumbnail, not an output");
    assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
    assert_eq!(&drain(luma.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap()[..], b"ray bytes");
    assert_eq!(outputs[0].thumbnail, Some(fake.at("cdn/g-1.jpg").to_string()));
    let thumbnail = outputs[0].thumbnail_ref().expect("the still");
    assert_eq!(&drain(luma.fetch(&submitted.handle, &thumbnail, 1024).await.unwrap()).await.unwrap()[..], b"ray still");
    let cdn = fake.requests_to("GET /cdn/");
    assert_eq!(cdn.len(), 2);
    assert!(cdn.iter().all(|r| r.header("authorization").is_none()), "the key never goes to the CDN");
    luma.delete_upstream(&submitted.handle).await.unwrap();
    let delete = &fake.requests_to("DELETE /dream-machine/v1/generations/g-1")[0];
    assert_eq!(delete.header("authorization"), Some("Bearer luma-test-key"));
    // cancel is a delete too; an already deleted generation is fine
    luma.cancel(&UpstreamHandle { id: "gone".into(), data: Default::default() }).await.unwrap();
    assert_eq!(fake.requests_to("DELETE /dream-machine/v1/generations/gone").len(), 1);
}

#[tokio::test]
async fn an_image_goes_to_the_image_endpoint() {
    let fake = FakeUpstream::start(|r| match r.route().as_str() {
        "POST /dream-machine/v1/generations/image" => {
            let mut g = generation("i-1", "completed");
            g["assets"] = json!({"image": "https://cdn.example/i-1.jpg"});
            Reply::json(201, g)
        }
        _ => Reply::status(404),
    })
    .await;
    let luma = adapter(&fake);
    let submitted = luma.submit(&job(MediaKind::Image, "photon-1", &[("aspect_ratio", ParamValue::Text("4:3".into()))])).await.unwrap();
    assert_eq!(fake.requests()[0].json(), json!({"model": "photon-1", "prompt": "a glass whale over a city", "aspect_ratio": "4:3"}));
    let UpstreamStatus::Succeeded { outputs, .. } = submitted.status else { panic!("completed at once") };
    assert_eq!(outputs[0], OutputRef::new("https://cdn.example/i-1.jpg", Some("image/jpeg".into())), "an image has no thumbnail");
}

#[tokio::test]
async fn errors_map_to_the_classes() {
    let cases: Vec<(Reply, &str)> = vec![
        (Reply::json(401, json!({"detail": "Invalid API key"})), "provider.auth"),
        (Reply::json(400, json!({"detail": "400: prompt not allowed because advanced moderation failed"})), "provider.content_policy"),
        (Reply::json(400, json!({"detail": "Insufficient credits"})), "provider.insufficient_credit"),
        (
            Reply::json(422, json!({"detail": [{"loc": ["body", "duration"], "msg": "Input should be '5s' or '9s'"}]})),
            "provider.invalid_input",
        ),
        (Reply::json(500, json!({"detail": "Internal Server Error"})), "provider.transient"),
        (Reply::text(200, "not json"), "provider.transient"),
    ];
    testing::assert_submit_errors(adapter, &video_job(), cases).await;
    let fake = FakeUpstream::start(|_| Reply::json(429, json!({"detail": "Too many requests"})).header("retry-after", 3)).await;
    let err = adapter(&fake).poll(&UpstreamHandle { id: "g".into(), data: Default::default() }).await.unwrap_err();
    assert_eq!(err, ProviderError::RateLimited { retry_after: Some(Duration::from_secs(3)), message: "Too many requests".into() });
    let fake = FakeUpstream::start(|_| Reply::json(404, json!({"detail": "Generation not found"}))).await;
    let err = adapter(&fake).poll(&UpstreamHandle { id: "g".into(), data: Default::default() }).await.unwrap_err();
    assert_eq!(err.code(), "provider.not_found");
}

#[tokio::test]
async fn failed_generations_and_unknown_states() {
    let answer = Arc::new(Mutex::new(json!({})));
    let current = answer.clone();
    let fake = FakeUpstream::start(move |_| Reply::json(200, current.lock().unwrap().clone())).await;
    let luma = adapter(&fake);
    let handle = UpstreamHandle { id: "g-1".into(), data: Default::default() };
    let poll = async |body: Value| {
        *answer.lock().unwrap() = body;
        luma.poll(&handle).await.unwrap()
    };
    let mut failed = generation("g-1", "failed");
    failed["failure_reason"] = json!("Prompt failed moderation: blocked content");
    let UpstreamStatus::Failed(e) = poll(failed).await else { panic!() };
    assert_eq!(e.code(), "provider.content_policy");
    let mut failed = generation("g-1", "failed");
    failed["failure_reason"] = json!("frame0 image could not be downloaded");
    let UpstreamStatus::Failed(e) = poll(failed).await else { panic!() };
    assert_eq!(e.code(), "provider.invalid_input");
    assert!(matches!(poll(generation("g-1", "upscaling")).await, UpstreamStatus::Pending { .. }));
    assert!(matches!(poll(generation("g-1", "completed")).await, UpstreamStatus::Failed(ProviderError::Transient(_))));
}

#[tokio::test]
async fn a_hanging_upstream_times_out() {
    let short = |fake: &FakeUpstream| Luma::new(&config(fake, Duration::from_millis(300))).unwrap();
    testing::assert_submit_times_out(short, &video_job()).await;
}

#[tokio::test]
async fn expired_and_oversized_outputs_are_refused() {
    let fake = FakeUpstream::start(|_| Reply::status(404)).await;
    testing::assert_expired_and_oversized_refused(&adapter(&fake)).await;
}

#[test]
fn callbacks_name_the_generation() {
    let luma = Luma::new(&ConnectionConfig::new("l", "luma")).unwrap();
    let call = |body: &str| Callback { headers: Default::default(), body: Bytes::from(body.to_string()) };
    assert_eq!(luma.callback(&call(r#"{"id":"g-7","state":"completed","assets":{"video":"https://x"}}"#)).unwrap().as_deref(), Some("g-7"));
    assert_eq!(luma.callback(&call("[]")).unwrap(), None);
}

#[tokio::test]
async fn test_connection_reads_the_credit_balance() {
    let fake = FakeUpstream::start(|r| match (r.route().as_str(), r.header("authorization")) {
        ("GET /dream-machine/v1/credits", Some("Bearer luma-test-key")) => Reply::json(200, json!({"credit_balance": 1520.5})),
        _ => Reply::json(401, json!({"detail": "Invalid API key"})),
    })
    .await;
    assert!(adapter(&fake).test_connection().await.unwrap().contains("1520.5 credits"));
    let wrong = Luma::new(&ConnectionConfig { api_key: Some(Secret::new("nope")), ..config(&fake, Duration::from_secs(1)) }).unwrap();
    assert_eq!(wrong.test_connection().await.unwrap_err(), ProviderError::Auth("Invalid API key".into()));
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        Luma::new(&ConnectionConfig { base_url: Some(base), ..config(fake, Duration::from_secs(2)) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::KeyTest, "dream-machine/v1", "/dream-machine/v1/credits").await;
    testing::assert_base_url_forms(adapter, Probe::Poll(testing::handle("g-1")), "dream-machine/v1", "/dream-machine/v1/generations/g-1")
        .await;
    testing::assert_base_url_reaches(adapter, &Probe::KeyTest, "dream-machine", "/dream-machine/v1/credits").await;
}
