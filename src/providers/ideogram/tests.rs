//! Tests of the ideogram adapter against a loopback fake of its wire format.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply, Request};
use serde_json::json;

use super::*;
use crate::domain::catalog::{MediaKind, ParamValue};
use crate::providers::kit::testing::{self, Probe, connection, drain, reference};

const KEY: &str = "ideogram-test-key";

fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
    ConnectionConfig { timeout, ..connection(fake, "ideogram", KEY) }
}

fn adapter(fake: &FakeUpstream) -> Ideogram {
    Ideogram::new(&config(fake, Duration::from_secs(2))).unwrap()
}

fn job() -> ProviderJob {
    testing::job(MediaKind::Image, "ideogram-4-6")
        .prompt("a ceramic mug with a fox")
        .params(&[
            ("aspect_ratio", ParamValue::Text("16x9".into())),
            ("rendering_speed", ParamValue::Text("QUALITY".into())),
            ("seed", ParamValue::Int(12345)),
        ])
        .outputs(2)
        .build()
}

fn host(r: &Request) -> String {
    r.header("host").unwrap().to_string()
}

/// The text fields of a multipart request.
fn fields(request: &Request) -> BTreeMap<String, String> {
    request.multipart().iter().filter(|p| p.filename.is_none()).map(|p| (p.name.clone(), p.text())).collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[tokio::test]
async fn a_generation_is_one_multipart_request_and_its_images_are_fetched_keyless() {
    let fake = FakeUpstream::start(|r| match r.route().as_str() {
        "POST /v2/image/generate/ideogram-4-6" => Reply::json(
            200,
            json!({"generation_id": "g1", "generation_kind": "sampling", "seed": 12345,
                   "data": [{"url": format!("http://{}/api/images/ephemeral/g1.png", host(r)), "resolution": "2048x2048", "is_image_safe": true},
                            {"url": format!("http://{}/api/images/ephemeral/g1b.png", host(r)), "is_image_safe": true}]}),
        ),
        "GET /api/images/ephemeral/g1.png" => Reply::bytes(200, "image/png", &b"mug"[..]),
        _ => Reply::status(404),
    })
    .await;
    let ideogram = adapter(&fake);
    let submitted = ideogram.submit(&job()).await.unwrap();
    let sent = &fake.requests()[0];
    assert_eq!(sent.header("api-key"), Some(KEY));
    assert_eq!(sent.header("authorization"), None, "the key is not a Bearer token");
    assert!(sent.header("content-type").unwrap().starts_with("multipart/form-data"));
    assert_eq!(
        fields(sent),
        map(&[
            ("prompt", "a ceramic mug with a fox"),
            ("num_images", "2"),
            ("seed", "12345"),
            ("aspect_ratio", "16x9"),
            ("rendering_speed", "QUALITY")
        ])
    );
    assert_eq!(submitted.handle.id, "g1");
    let UpstreamStatus::Succeeded { outputs, .. } = &submitted.status else { panic!("{:?}", submitted.status) };
    assert_eq!(outputs.len(), 2);
    assert_eq!(outputs[0].content_type.as_deref(), Some("image/png"));
    assert_eq!(&drain(ideogram.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap()[..], b"mug");
    assert_eq!(fake.requests_to("GET /api/images/")[0].header("api-key"), None, "the key never goes to the result host");
    ideogram.cancel(&submitted.handle).await.unwrap();
    assert!(!ideogram.delete_upstream(&submitted.handle).await.unwrap());
}

#[tokio::test]
async fn references_go_as_images_file_parts() {
    let fake =
        FakeUpstream::start(|_| Reply::json(200, json!({"generation_id": "g2", "data": [{"url": "https://ideogram.ai/e.png"}]}))).await;
    let mut job = job();
    job.references = vec![reference(ReferenceRole::Reference, b"source"), reference(ReferenceRole::Reference, b"style")];
    adapter(&fake).submit(&job).await.unwrap();
    let parts: Vec<_> = fake.requests()[0].multipart().into_iter().filter(|p| p.name == "images").collect();
    assert_eq!(parts.len(), 2);
    assert_eq!(&parts[0].data[..], b"source");
    assert_eq!(parts[0].content_type.as_deref(), Some("image/png"));
    assert!(parts[0].filename.is_some(), "a file part, never a URL");
    assert_eq!(&parts[1].data[..], b"style");
}

#[tokio::test]
async fn an_answer_with_only_a_generation_id_is_polled_until_completed() {
    let polls = Arc::new(Mutex::new(0));
    let count = polls.clone();
    let fake = FakeUpstream::start(move |r| match r.route().as_str() {
        "POST /v2/image/generate/ideogram-4-6" => Reply::json(200, json!({"generation_id": "g3"})),
        "GET /v2/generations/g3" => {
            let mut n = count.lock().unwrap();
            *n += 1;
            match *n {
                1 => Reply::json(200, json!({"generation_id": "g3", "status": "pending", "created": "2026-12-06T10:00:00Z"})),
                2 => Reply::json(429, json!({"detail": "Too many requests"})).header("retry-after", 4),
                _ => Reply::json(
                    200,
                    json!({"generation_id": "g3", "status": "completed", "response_type": "image", "usage_cost_usd_micros": 60000,
                           "data": [{"object_type": "image", "url": "https://ideogram.ai/api/images/ephemeral/g3.webp", "is_image_safe": true}]}),
                ),
            }
        }
        _ => Reply::status(404),
    })
    .await;
    let ideogram = adapter(&fake);
    let submitted = ideogram.submit(&job()).await.unwrap();
    assert_eq!(submitted.handle.id, "g3");
    assert!(matches!(submitted.status, UpstreamStatus::Pending { .. }));
    assert!(matches!(ideogram.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }));
    assert_eq!(ideogram.poll(&submitted.handle).await.unwrap_err().retry_after(), Some(Duration::from_secs(4)));
    let UpstreamStatus::Succeeded { outputs, usage } = ideogram.poll(&submitted.handle).await.unwrap() else { panic!("completed") };
    assert_eq!(outputs[0].content_type.as_deref(), Some("image/webp"));
    assert_eq!(usage.and_then(|u| u.cost_cents), Some(6.0), "60,000 USD micros");
    assert_eq!(fake.requests_to("GET /v2/generations/g3")[0].header("api-key"), Some(KEY));
}

#[tokio::test]
async fn unsafe_images_and_failed_generations_map_to_the_classes() {
    let answer = Arc::new(Mutex::new(json!({})));
    let current = answer.clone();
    let fake = FakeUpstream::start(move |_| Reply::json(200, current.lock().unwrap().clone())).await;
    let ideogram = adapter(&fake);
    *answer.lock().unwrap() = json!({"generation_id": "g4", "data": [{"url": null, "is_image_safe": false}]});
    let UpstreamStatus::Failed(e) = ideogram.submit(&job()).await.unwrap().status else { panic!("withheld") };
    assert_eq!(e.code(), "provider.content_policy");
    *answer.lock().unwrap() =
        json!({"generation_id": "g4", "data": [{"url": "https://ideogram.ai/a.png", "is_image_safe": true}, {"is_image_safe": false}]});
    let UpstreamStatus::Succeeded { outputs, .. } = ideogram.submit(&job()).await.unwrap().status else { panic!("one safe") };
    assert_eq!(outputs.len(), 1, "the safe image is kept");
    let handle = testing::handle("g4");
    for (body, class) in [
        (json!({"status": "failed", "failure_reason": "The prompt failed the safety check"}), "provider.content_policy"),
        (json!({"status": "failed"}), "provider.invalid_input"),
        (json!({"status": "completed", "data": []}), "provider.transient"),
        (json!({"status": "completed", "data": [{"is_image_safe": false}]}), "provider.content_policy"),
    ] {
        *answer.lock().unwrap() = body.clone();
        let UpstreamStatus::Failed(e) = ideogram.poll(&handle).await.unwrap() else { panic!("{body}") };
        assert_eq!(e.code(), class, "{body}: {e}");
    }
    *answer.lock().unwrap() = json!({"status": "warming_up"});
    assert!(matches!(ideogram.poll(&handle).await.unwrap(), UpstreamStatus::Pending { .. }), "an unknown word keeps waiting");
}

#[tokio::test]
async fn http_errors_map_to_the_classes() {
    let cases: Vec<(Reply, &str)> = vec![
        (Reply::json(401, json!({"detail": "Invalid API key"})), "provider.auth"),
        (Reply::json(400, json!({"error": {"code": "bad_request", "message": "num_images must be at most 8"}})), "provider.invalid_input"),
        (Reply::json(422, json!({"error": "Prompt failed the safety check"})), "provider.content_policy"),
        (Reply::json(422, json!({"message": "aspect_ratio is not valid"})), "provider.invalid_input"),
        (Reply::json(402, json!({"message": "Payment required"})), "provider.insufficient_credit"),
        (Reply::json(403, json!({"message": "Insufficient balance in the workspace"})), "provider.insufficient_credit"),
        (Reply::json(503, json!({"message": "overloaded"})), "provider.transient"),
        (Reply::text(200, "<html>"), "provider.transient"),
    ];
    testing::assert_submit_errors(adapter, &job(), cases).await;
    let fake = FakeUpstream::start(|_| Reply::json(429, json!({"detail": "slow down"})).header("retry-after", 3)).await;
    let err = adapter(&fake).submit(&job()).await.unwrap_err();
    assert_eq!(err, ProviderError::RateLimited { retry_after: Some(Duration::from_secs(3)), message: "slow down".into() });
}

#[tokio::test]
async fn the_key_test_is_a_dry_run() {
    let fake = FakeUpstream::start(|r: &Request| match (r.route().as_str(), r.header("api-key"), r.query_param("dry_run")) {
        ("POST /v2/image/generate/ideogram-4-6", Some(KEY), Some(dry)) if dry == "true" => {
            Reply::json(200, json!({"price": {"amount_usd_micros": 60000}}))
        }
        _ => Reply::json(401, json!({"detail": "Invalid API key"})),
    })
    .await;
    assert_eq!(adapter(&fake).test_connection().await.unwrap(), "The key works.");
    let sent = &fake.requests()[0];
    assert_eq!(fields(sent).get("prompt").map(String::as_str), Some("key test"));
    let wrong = Ideogram::new(&connection(&fake, "ideogram", "wrong-key")).unwrap();
    testing::assert_key_refused(&wrong).await;
    fake.stop().await;
}

#[tokio::test]
async fn a_hanging_upstream_times_out_and_expired_outputs_are_refused() {
    testing::assert_submit_times_out(|fake| Ideogram::new(&config(fake, Duration::from_millis(300))).unwrap(), &job()).await;
    testing::assert_expired_and_oversized_refused(&adapter(&FakeUpstream::start(|_| Reply::status(404)).await)).await;
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        Ideogram::new(&ConnectionConfig { base_url: Some(base), ..config(fake, Duration::from_secs(2)) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::Poll(testing::handle("g1")), "v2", "/v2/generations/g1").await;
    testing::assert_base_url_forms(adapter, Probe::Submit(&job()), "v2", "/v2/image/generate/ideogram-4-6").await;
}
