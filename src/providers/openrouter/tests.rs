//! Tests of the openrouter adapter against a loopback fake of its Video API.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply};

use super::*;
use crate::domain::catalog::{MediaKind, ParamKind, ParamValue, PriceUnit, Sound, Status};
use crate::providers::kit::testing::{self, Probe, connection, drain, reference};
use crate::providers::{ReferenceFile, SourceJob};

const KEY: &str = "or-test-key";
const SECRET: &str = "whsec-test";

fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
    ConnectionConfig { timeout, base_url: Some(fake.at("api/v1")), ..connection(fake, "openrouter", KEY) }
}

fn adapter(fake: &FakeUpstream) -> OpenRouter {
    OpenRouter::new(&config(fake, Duration::from_secs(2))).unwrap()
}

fn video() -> ProviderJob {
    testing::job(MediaKind::Video, "openrouter-google-veo-3.1")
        .upstream("google/veo-3.1")
        .prompt("a flower blooming")
        .params(&[
            ("duration", ParamValue::Int(8)),
            ("resolution", ParamValue::Text("1080p".into())),
            ("aspect_ratio", ParamValue::Text("16:9".into())),
            ("seed", ParamValue::Int(42)),
            ("audio", ParamValue::Text("on".into())),
        ])
        .build()
}

fn file(role: ReferenceRole, content_type: &str, bytes: &'static [u8]) -> ReferenceFile {
    ReferenceFile { role, content_type: content_type.into(), bytes: Bytes::from_static(bytes), tag: None }
}

#[tokio::test]
async fn a_video_is_submitted_polled_and_read_from_the_api_with_the_key() {
    let polls = Arc::new(Mutex::new(0));
    let count = polls.clone();
    let fake = FakeUpstream::start(move |r| match r.route().as_str() {
        "POST /api/v1/videos" => Reply::json(202, json!({"id": "job-1", "polling_url": "/api/v1/videos/job-1", "status": "pending"})),
        "GET /api/v1/videos/job-1" => {
            let mut n = count.lock().unwrap();
            *n += 1;
            match *n {
                1 => Reply::json(200, json!({"id": "job-1", "status": "in_progress"})),
                2 => Reply::json(200, json!({"id": "job-1", "status": "warming"})),
                _ => Reply::json(
                    200,
                    json!({"id": "job-1", "status": "completed", "unsigned_urls": ["x"], "usage": {"cost": 0.8, "is_byok": false}}),
                ),
            }
        }
        "GET /api/v1/videos/job-1/content" if r.query_param("index").as_deref() == Some("0") => match r.header("authorization") {
            Some("Bearer or-test-key") => Reply::bytes(200, "video/mp4", &b"routed video"[..]),
            _ => Reply::status(401),
        },
        _ => Reply::status(404),
    })
    .await;
    let router = adapter(&fake);
    let mut job = video();
    job.references = testing::first_and_last_frames();
    let submitted = router.submit(&job).await.unwrap();
    assert_eq!(submitted.handle.id, "job-1");
    let create = &fake.requests_to("POST /api/v1/videos")[0];
    assert_eq!(create.header("authorization"), Some("Bearer or-test-key"));
    assert_eq!(
        create.json(),
        json!({"model": "google/veo-3.1", "prompt": "a flower blooming", "duration": 8, "seed": 42, "resolution": "1080p",
               "aspect_ratio": "16:9", "generate_audio": true,
               "frame_images": [
                   {"type": "image_url", "image_url": {"url": "data:image/png;base64,Zmlyc3Q="}, "frame_type": "first_frame"},
                   {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,bGFzdA=="}, "frame_type": "last_frame"}]})
    );
    assert!(matches!(router.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }));
    assert!(matches!(router.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }), "an unknown word is not terminal");
    let UpstreamStatus::Succeeded { outputs, usage } = router.poll(&submitted.handle).await.unwrap() else { panic!("completed") };
    assert_eq!(usage.and_then(|u| u.cost_cents), Some(80.0));
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].location, fake.at("api/v1/videos/job-1/content?index=0").to_string());
    assert_eq!(&drain(router.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap()[..], b"routed video");
}

#[tokio::test]
async fn outputs_on_other_hosts_are_fetched_without_the_key() {
    let api = FakeUpstream::start(|_| Reply::status(418)).await;
    testing::assert_cdn_outputs_fetched_keyless(&adapter(&api), &testing::handle("job-1"), &api).await;
}

#[tokio::test]
async fn references_go_inline_by_kind_and_do_not_mix_with_frames() {
    let fake = FakeUpstream::start(|_| Reply::json(202, json!({"id": "job-2", "status": "pending"}))).await;
    let router = adapter(&fake);
    let mut job = testing::job(MediaKind::Video, "openrouter-bytedance-seedance-2.0").upstream("bytedance/seedance-2.0").build();
    job.references = vec![
        reference(ReferenceRole::Reference, b"hero"),
        file(ReferenceRole::ReferenceVideo, "video/mp4", b"clip"),
        file(ReferenceRole::ReferenceAudio, "audio/mpeg", b"tune"),
    ];
    router.submit(&job).await.unwrap();
    assert_eq!(
        fake.requests()[0].json()["input_references"],
        json!([{"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVybw=="}},
               {"type": "video_url", "video_url": {"url": "data:video/mp4;base64,Y2xpcA=="}},
               {"type": "audio_url", "audio_url": {"url": "data:audio/mpeg;base64,dHVuZQ=="}}])
    );
    assert!(fake.requests()[0].json().get("frame_images").is_none());
    job.references.push(reference(ReferenceRole::FirstFrame, b"first"));
    assert_eq!(router.submit(&job).await.unwrap_err().code(), "provider.invalid_input");
    assert_eq!(fake.requests().len(), 1, "nothing is sent for a refused mix");
}

#[tokio::test]
async fn an_extension_continues_the_source_job_by_id() {
    let fake = FakeUpstream::start(|_| Reply::json(202, json!({"id": "job-3", "status": "pending"}))).await;
    let router = adapter(&fake);
    let mut job = video();
    job.references = vec![file(ReferenceRole::SourceVideo, "video/mp4", b"earlier")];
    assert_eq!(router.submit(&job).await.unwrap_err().code(), "provider.invalid_input", "no source job, nothing to continue");
    assert!(fake.requests().is_empty());
    job.source = Some(SourceJob { upstream_model: "google/veo-3.1".into(), handle: testing::handle("job-1") });
    router.submit(&job).await.unwrap();
    let body = fake.requests()[0].json();
    assert_eq!(body["previous_job_id"], "job-1");
    assert!(body.get("input_references").is_none(), "the source goes by id, not by bytes");
}

#[tokio::test]
async fn failed_cancelled_and_expired_jobs_map_to_the_classes() {
    let answer = Arc::new(Mutex::new(json!({})));
    let current = answer.clone();
    let fake = FakeUpstream::start(move |_| Reply::json(200, current.lock().unwrap().clone())).await;
    let router = adapter(&fake);
    let handle = testing::handle("job-1");
    for (body, class) in [
        (json!({"status": "failed", "error": "The prompt was flagged by content moderation"}), "provider.content_policy"),
        (json!({"status": "failed", "error": {"code": 400, "message": "duration 7 is not supported"}}), "provider.invalid_input"),
        (json!({"status": "failed"}), "provider.invalid_input"),
        (json!({"status": "cancelled"}), "provider.not_found"),
        (json!({"status": "expired"}), "provider.not_found"),
    ] {
        *answer.lock().unwrap() = body.clone();
        let UpstreamStatus::Failed(e) = router.poll(&handle).await.unwrap() else { panic!("{body}") };
        assert_eq!(e.code(), class, "{body}: {e}");
    }
}

#[tokio::test]
async fn http_errors_map_to_the_classes() {
    let error = |status: u16, message: &str| Reply::json(status, json!({"error": {"code": status, "message": message}}));
    let cases: Vec<(Reply, &str)> = vec![
        (error(401, "No auth credentials found"), "provider.auth"),
        (error(402, "Insufficient credits"), "provider.insufficient_credit"),
        (error(400, "resolution 4K is not supported by this model"), "provider.invalid_input"),
        (error(409, "the previous job has not completed"), "provider.invalid_input"),
        (error(413, "Request Entity Too Large"), "provider.invalid_input"),
        (error(404, "model not found"), "provider.not_found"),
        (error(500, "upstream error"), "provider.transient"),
        (Reply::text(202, "<html>"), "provider.transient"),
    ];
    testing::assert_submit_errors(adapter, &video(), cases).await;
    let fake =
        FakeUpstream::start(|_| Reply::json(429, json!({"error": {"code": 429, "message": "slow down"}})).header("retry-after", 7)).await;
    let err = adapter(&fake).submit(&video()).await.unwrap_err();
    assert_eq!(err, ProviderError::RateLimited { retry_after: Some(Duration::from_secs(7)), message: "slow down".into() });
}

#[tokio::test]
async fn a_hanging_upstream_times_out() {
    testing::assert_submit_times_out(|fake| OpenRouter::new(&config(fake, Duration::from_millis(300))).unwrap(), &video()).await;
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        OpenRouter::new(&ConnectionConfig { base_url: Some(base), ..config(fake, Duration::from_secs(2)) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::Poll(testing::handle("job-1")), "api/v1", "/api/v1/videos/job-1").await;
}

#[tokio::test]
async fn the_key_test_reads_the_key_endpoint() {
    let fake = FakeUpstream::start(|r| match r.header("authorization") {
        Some("Bearer or-test-key") => Reply::json(200, json!({"data": {"label": "k", "limit_remaining": 12.5}})),
        _ => Reply::json(401, json!({"error": {"code": 401, "message": "bad key"}})),
    })
    .await;
    assert!(adapter(&fake).test_connection().await.unwrap().contains("12.50"));
    assert_eq!(fake.requests()[0].path, "/api/v1/key");
    let wrong = OpenRouter::new(&ConnectionConfig { api_key: Some(Secret::new("nope")), ..config(&fake, Duration::from_secs(2)) }).unwrap();
    testing::assert_key_refused(&wrong).await;
}

fn signed(secret: &str, at: u64, body: &[u8]) -> Callback {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{at},").as_bytes());
    mac.update(body);
    let signature = hex::encode(mac.finalize().into_bytes());
    Callback {
        headers: [("x-openrouter-signature".to_string(), format!("t={at},v1={signature}"))].into_iter().collect(),
        body: Bytes::copy_from_slice(body),
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn webhooks_are_verified_when_a_secret_is_set_and_name_the_job() {
    let fake = FakeUpstream::start(|_| Reply::status(418)).await;
    let router =
        OpenRouter::new(&ConnectionConfig { secret_key: Some(Secret::new(SECRET)), ..config(&fake, Duration::from_secs(2)) }).unwrap();
    let body = br#"{"type":"video.generation.completed","id":"job-9","status":"completed"}"#;
    assert_eq!(router.callback(&signed(SECRET, now(), body)).unwrap().as_deref(), Some("job-9"));
    for (callback, why) in [
        (signed("another", now(), body), "a wrong secret"),
        (signed(SECRET, now() - 600, body), "a stale timestamp"),
        (Callback { headers: Default::default(), body: Bytes::from_static(body) }, "no signature"),
    ] {
        assert_eq!(router.callback(&callback).unwrap_err().code(), "provider.auth", "{why}");
    }
    let mut tampered = signed(SECRET, now(), body);
    tampered.body = Bytes::from_static(br#"{"id":"job-10"}"#);
    assert!(router.callback(&tampered).is_err());
    // without a secret the event is read as it is, only to poll the job
    let open = adapter(&fake);
    let hint = Callback {
        headers: [("x-openrouter-idempotency-key".to_string(), "job-11-completed".to_string())].into_iter().collect(),
        body: Bytes::from_static(b"{}"),
    };
    assert_eq!(open.callback(&hint).unwrap().as_deref(), Some("job-11"));
    assert!(fake.requests().is_empty());
}

/// A `/videos/models` answer with one good model, odd values in another, and models that
/// cannot be entries.
fn models_fixture() -> Value {
    json!({"data": [
        {"id": "google/veo-3.1", "canonical_slug": "google/veo-3.1", "name": "Google: Veo 3.1",
         "supported_resolutions": ["720p", "1080p"], "supported_aspect_ratios": ["16:9", "9:16"],
         "supported_durations": [4, 6, 8], "supported_frame_images": ["first_frame", "last_frame"],
         "generate_audio": true, "seed": true,
         "pricing_skus": {"video_seconds_720p": "0.20", "video_seconds_1080p": "0.40"}},
        {"id": "Odd Vendor/Model+X", "name": "",
         "supported_resolutions": ["720p", 5, "", null], "supported_durations": ["5", "10s", 2.5, -1, "long", 10],
         "supported_frame_images": true, "generate_audio": null, "seed": null, "pricing_skus": [{"sku": "request", "price": 1}]},
        {"name": "no id"},
        {"id": "x/y", "name": "a label far too long to be a label, really; ".repeat(5)},
        "not an object"
    ]})
}

#[test]
fn discovered_models_become_catalog_entries() {
    let entries = entries_from(&models_fixture());
    let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["openrouter-google-veo-3.1", "openrouter-odd-vendor-model-x", "openrouter-x-y"]);
    let veo = entries[0].apply(None).unwrap();
    assert_eq!((veo.provider.as_str(), veo.kind, veo.upstream.as_str()), ("openrouter", MediaKind::Video, "google/veo-3.1"));
    assert_eq!(veo.label, "Google: Veo 3.1");
    assert_eq!(veo.sound, Sound::Optional);
    assert_eq!(veo.lifecycle.status, Status::Preview);
    let kinds: Vec<(&str, &ParamKind)> = veo.params.iter().map(|p| (p.name.as_str(), &p.kind)).collect();
    assert_eq!(kinds[0], ("duration", &ParamKind::Number { values: vec![4, 6, 8], default: 4 }));
    assert_eq!(kinds[1], ("resolution", &ParamKind::Choice { values: vec!["720p".into(), "1080p".into()], default: "720p".into() }));
    assert_eq!(kinds[2].0, "aspect_ratio");
    assert_eq!(kinds[3], ("seed", &ParamKind::Seed));
    assert_eq!(kinds[4].0, "audio");
    let roles: Vec<ReferenceRole> = veo.inputs.iter().map(|i| i.role).collect();
    assert_eq!(roles, [ReferenceRole::FirstFrame, ReferenceRole::LastFrame]);
    assert_eq!((veo.price.per, veo.price.credits), (PriceUnit::Second, 40), "the dearest second");
    assert_eq!(veo.price.rules.len(), 2);
    assert_eq!(veo.price.rules[0].credits, 20);
    let odd = entries[1].apply(None).unwrap();
    assert_eq!(odd.label, "Odd Vendor/Model+X", "the id stands in for an empty name");
    let kinds: Vec<(&str, &ParamKind)> = odd.params.iter().map(|p| (p.name.as_str(), &p.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("duration", &ParamKind::Number { values: vec![5, 10], default: 5 }),
            ("resolution", &ParamKind::Choice { values: vec!["720p".into()], default: "720p".into() }),
        ]
    );
    assert_eq!(odd.sound, Sound::None);
    assert_eq!(odd.inputs.iter().map(|i| i.role).collect::<Vec<_>>(), [ReferenceRole::FirstFrame]);
    assert_eq!((odd.price.per, odd.price.credits), (PriceUnit::Second, 30), "an unreadable price falls back");
    assert!(odd.description.contains("price UNCONFIRMED"));
    assert_eq!(entries[2].label.as_ref().map(|l| l.chars().count()), Some(120));
    assert!(entries_from(&json!({"error": "nope"})).is_empty());
}

#[test]
fn ids_are_slugs_of_at_most_80_characters() {
    assert_eq!(discovered_id("Kwaivgi/Kling-V3.0 Pro"), "openrouter-kwaivgi-kling-v3.0-pro");
    assert_eq!(discovered_id("ünï/cödé"), "openrouter--n--c-d-");
    let long = discovered_id(&"a".repeat(200));
    assert_eq!(long.len(), 80);
}

#[tokio::test]
async fn discovery_reads_the_model_list_with_the_key() {
    let fake = FakeUpstream::start(|r| match (r.route().as_str(), r.header("authorization")) {
        ("GET /api/v1/videos/models", Some("Bearer or-test-key")) => Reply::json(200, models_fixture()),
        _ => Reply::status(401),
    })
    .await;
    let entries = adapter(&fake).discover().await.expect("openrouter discovers").unwrap();
    assert_eq!(entries.len(), 3);
    let broken = FakeUpstream::start(|_| Reply::json(503, json!({"error": {"code": 503, "message": "down"}}))).await;
    assert_eq!(adapter(&broken).discover().await.expect("discovers").unwrap_err().code(), "provider.transient");
}
