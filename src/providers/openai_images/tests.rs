//! Tests of the openai_images adapter against a loopback fake of its wire format.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply, Request};
use futures_util::TryStreamExt;

use super::*;
use crate::domain::catalog::ParamValue;
use crate::domain::catalog::{MediaKind, ReferenceRole};
use crate::providers::kit::testing::{self, Probe, connection};

use crate::providers::ReferenceFile;

const KEY: &str = "sk-test-images";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\nfake image one";
const PNG2: &[u8] = b"\x89PNG\r\n\x1a\nfake image two";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn adapter(fake: &FakeUpstream, timeout: Duration) -> OpenAiImages {
    OpenAiImages::new(&ConnectionConfig { base_url: Some(fake.at("v1")), timeout, ..connection(fake, "openai_images", KEY) }).unwrap()
}

fn job(count: usize) -> ProviderJob {
    let params = [
        ("size", ParamValue::Text("1536x1024".into())),
        ("quality", ParamValue::Text("high".into())),
        ("background", ParamValue::Text("transparent".into())),
        ("output_format", ParamValue::Text("webp".into())),
        ("count", ParamValue::Int(count as i64)),
    ];
    testing::job(MediaKind::Image, "gpt-image-2").prompt("a lighthouse in fog").params(&params).outputs(count).build()
}

fn answer(images: &[&[u8]]) -> Reply {
    let data: Vec<_> = images.iter().map(|i| serde_json::json!({"b64_json": b64(i), "revised_prompt": "x"})).collect();
    Reply::json(200, serde_json::json!({"created": 1, "data": data, "output_format": "webp", "usage": {"total_tokens": 9}}))
        .header("x-request-id", "req_123")
}

async fn collect(stream: ByteStream) -> Vec<u8> {
    stream.try_collect::<Vec<Bytes>>().await.unwrap().concat()
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, serde_json::json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}}))
}

async fn submit_error(reply: Reply) -> ProviderError {
    let fake = FakeUpstream::start(move |_| reply.clone()).await;
    let err = adapter(&fake, Duration::from_secs(2)).submit(&job(1)).await.unwrap_err();
    fake.stop().await;
    err
}

#[tokio::test]
async fn text_to_image_posts_the_golden_json_and_holds_the_base64_images() {
    let fake = FakeUpstream::start(|_| answer(&[PNG, PNG2])).await;
    let provider = adapter(&fake, Duration::from_secs(2));
    let job = job(2);
    let submitted = provider.submit(&job).await.unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.route(), "POST /v1/images/generations");
    assert_eq!(sent.header("authorization"), Some(&*format!("Bearer {KEY}")));
    assert_eq!(
        sent.json(),
        serde_json::json!({
            "model": "gpt-image-2", "prompt": "a lighthouse in fog", "n": 2,
            "size": "1536x1024", "quality": "high", "background": "transparent", "output_format": "webp"
        })
    );
    assert_eq!(submitted.handle.id, job.generation.to_string());
    assert_eq!(submitted.handle.data.get("request_id").map(String::as_str), Some("req_123"));
    let UpstreamStatus::Succeeded { outputs, usage } = submitted.status else { panic!("{:?}", submitted.status) };
    assert_eq!(outputs.len(), 2);
    assert_eq!(usage, Some(ProviderUsage { cost_cents: None, units: Some(9.0), unit: "tokens".into() }), "tokens, not money");
    assert!(outputs.iter().all(|o| o.content_type.as_deref() == Some("image/webp")));
    assert_eq!(collect(provider.fetch(&submitted.handle, &outputs[0], 1 << 20).await.unwrap()).await, PNG);
    assert_eq!(collect(provider.fetch(&submitted.handle, &outputs[1], 1 << 20).await.unwrap()).await, PNG2);
    assert_eq!(provider.fetch(&submitted.handle, &outputs[0], 4).await.err(), Some(ProviderError::TooLarge { cap: 4 }));

    // after custody the held copy is dropped: a later fetch finds nothing
    provider.delete_upstream(&submitted.handle).await.unwrap();
    assert!(matches!(provider.fetch(&submitted.handle, &outputs[0], 1 << 20).await, Err(ProviderError::NotFound(_))));
    assert_eq!(fake.requests().len(), 1, "nothing upstream to delete");
    fake.stop().await;
}

#[tokio::test]
async fn a_reference_makes_it_a_multipart_edit_with_image_parts() {
    let fake = FakeUpstream::start(|_| answer(&[PNG])).await;
    let provider = adapter(&fake, Duration::from_secs(2));
    let mut job = job(1);
    job.references = vec![ReferenceFile {
        role: ReferenceRole::Reference,
        content_type: "image/jpeg".into(),
        bytes: Bytes::from_static(b"\xff\xd8jpeg"),
        tag: None,
    }];
    let submitted = provider.submit(&job).await.unwrap();
    assert!(matches!(submitted.status, UpstreamStatus::Succeeded { ref outputs, .. } if outputs.len() == 1));

    let sent = &fake.requests()[0];
    assert_eq!(sent.route(), "POST /v1/images/edits");
    assert_eq!(sent.header("authorization"), Some(&*format!("Bearer {KEY}")));
    let fields: std::collections::BTreeMap<String, String> =
        sent.multipart().iter().filter(|p| p.filename.is_none()).map(|p| (p.name.clone(), p.text())).collect();
    let expected: std::collections::BTreeMap<String, String> = [
        ("model", "gpt-image-2"),
        ("prompt", "a lighthouse in fog"),
        ("n", "1"),
        ("size", "1536x1024"),
        ("quality", "high"),
        ("background", "transparent"),
        ("output_format", "webp"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(fields, expected);
    let image = sent.part("image[]").expect("an image[] part");
    assert_eq!(image.content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(image.filename.as_deref(), Some("reference-1.jpg"));
    assert_eq!(&image.data[..], b"\xff\xd8jpeg");
    fake.stop().await;
}

#[tokio::test]
async fn a_url_answer_is_fetched_without_the_key_and_an_expired_url_is_not_found() {
    let state = Arc::new(Mutex::new(0));
    let seen = state.clone();
    let fake = FakeUpstream::start(move |r: &Request| match r.route().as_str() {
        "POST /v1/images/generations" => {
            Reply::json(200, serde_json::json!({"data": [{"url": format!("http://{}/cdn/a.png", r.header("host").unwrap())}]}))
        }
        "GET /cdn/a.png" => {
            let mut n = seen.lock().unwrap();
            *n += 1;
            if *n == 1 { Reply::bytes(200, "image/png", PNG) } else { Reply::status(403) }
        }
        _ => Reply::status(500),
    })
    .await;
    let provider = adapter(&fake, Duration::from_secs(2));
    let submitted = provider.submit(&job(1)).await.unwrap();
    let UpstreamStatus::Succeeded { outputs, .. } = submitted.status else { panic!() };
    assert_eq!(collect(provider.fetch(&submitted.handle, &outputs[0], 1 << 20).await.unwrap()).await, PNG);
    let download = fake.requests_to("GET /cdn/a.png").remove(0);
    assert_eq!(download.header("authorization"), None, "the key stays with the API");
    assert!(matches!(provider.fetch(&submitted.handle, &outputs[0], 1 << 20).await, Err(ProviderError::NotFound(_))));
    fake.stop().await;
}

#[tokio::test]
async fn http_errors_map_to_the_classes() {
    assert!(matches!(submit_error(error(401, "invalid_api_key", "Incorrect API key")).await, ProviderError::Auth(_)));
    assert!(
        matches!(submit_error(error(400, "invalid_value", "Invalid size")).await, ProviderError::InvalidInput(m) if m == "Invalid size")
    );
    let moderated = Reply::json(
        400,
        serde_json::json!({"error": {"message": "Your request was rejected by the safety system.", "type": "image_generation_user_error", "code": "moderation_blocked"}}),
    );
    assert!(matches!(submit_error(moderated).await, ProviderError::ContentPolicy(_)));
    assert!(matches!(
        submit_error(error(429, "insufficient_quota", "You exceeded your current quota")).await,
        ProviderError::InsufficientUpstreamCredit(_)
    ));
    assert!(matches!(
        submit_error(error(400, "billing_hard_limit_reached", "Billing hard limit has been reached")).await,
        ProviderError::InsufficientUpstreamCredit(_)
    ));
    let limited = submit_error(error(429, "rate_limit_exceeded", "Rate limit reached").header("retry-after", "7")).await;
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
    assert!(matches!(limited, ProviderError::RateLimited { .. }));
    assert!(matches!(submit_error(error(503, "server_error", "overloaded")).await, ProviderError::Transient(_)));
    assert!(matches!(submit_error(Reply::text(502, "<html>bad gateway</html>")).await, ProviderError::Transient(_)));
}

#[tokio::test]
async fn a_submit_that_never_answers_times_out() {
    testing::assert_submit_times_out(|fake| adapter(fake, Duration::from_millis(300)), &job(1)).await;
}

#[tokio::test]
async fn a_broken_success_answer_fails_the_job_instead_of_submitting_again() {
    for reply in [
        Reply::text(200, "{not json"),
        Reply::json(200, serde_json::json!({"data": []})),
        Reply::json(200, serde_json::json!({"data": [{"b64_json": "%%% not base64 %%%"}]})),
    ] {
        let fake = FakeUpstream::start(move |_| reply.clone()).await;
        let submitted = adapter(&fake, Duration::from_secs(2)).submit(&job(1)).await.expect("not an error to retry");
        assert!(matches!(submitted.status, UpstreamStatus::Failed(ProviderError::Transient(_))), "{:?}", submitted.status);
        fake.stop().await;
    }
}

#[tokio::test]
async fn cancel_drops_held_images_and_poll_has_nothing_to_find() {
    let fake = FakeUpstream::start(|_| answer(&[PNG])).await;
    let provider = adapter(&fake, Duration::from_secs(2));
    let submitted = provider.submit(&job(1)).await.unwrap();
    let UpstreamStatus::Succeeded { outputs, .. } = submitted.status else { panic!() };
    provider.cancel(&submitted.handle).await.unwrap();
    assert!(matches!(provider.fetch(&submitted.handle, &outputs[0], 1 << 20).await, Err(ProviderError::NotFound(_))));
    assert!(matches!(provider.poll(&submitted.handle).await, Err(ProviderError::NotFound(_))));
    fake.stop().await;
}

#[tokio::test]
async fn test_connection_lists_models_with_the_key() {
    let fake = FakeUpstream::start(|r: &Request| {
        if r.header("authorization") != Some(&*format!("Bearer {KEY}")) {
            return error(401, "invalid_api_key", "Incorrect API key provided");
        }
        Reply::json(200, serde_json::json!({"object": "list", "data": [{"id": "gpt-image-1"}, {"id": "gpt-image-1.5"}, {"id": "gpt-4o"}]}))
    })
    .await;
    let message = adapter(&fake, Duration::from_secs(2)).test_connection().await.unwrap();
    assert_eq!(message, "The key works: 3 models are visible, 2 of them GPT Image models.");
    assert_eq!(fake.requests()[0].route(), "GET /v1/models");
    let wrong =
        OpenAiImages::new(&ConnectionConfig { base_url: Some(fake.at("v1")), ..connection(&fake, "openai_images", "sk-wrong") }).unwrap();
    testing::assert_key_refused(&wrong).await;
    fake.stop().await;
}

#[tokio::test]
async fn tokens_are_read_from_input_and_output_when_no_total_is_given_and_odd_usage_is_no_report() {
    for (usage, expected) in [
        (serde_json::json!({"input_tokens": 50, "output_tokens": 4160}), Some(4210.0)),
        (serde_json::json!({"total_tokens": "many"}), None),
        (serde_json::json!("lots"), None),
        (serde_json::Value::Null, None),
    ] {
        let body = serde_json::json!({"data": [{"b64_json": b64(PNG)}], "usage": usage});
        let fake = FakeUpstream::start(move |_| Reply::json(200, body.clone())).await;
        let submitted = adapter(&fake, Duration::from_secs(2)).submit(&job(1)).await.unwrap();
        fake.stop().await;
        let UpstreamStatus::Succeeded { usage: reported, .. } = submitted.status else { panic!("{:?}", submitted.status) };
        assert_eq!(reported.and_then(|u| u.units), expected);
    }
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        OpenAiImages::new(&ConnectionConfig { base_url: Some(base), ..connection(fake, "openai_images", KEY) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::KeyTest, "v1", "/v1/models").await;
    testing::assert_base_url_forms(adapter, Probe::Submit(&job(1)), "v1", "/v1/images/generations").await;
}
