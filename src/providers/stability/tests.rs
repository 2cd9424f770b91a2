//! Tests of the stability adapter against a loopback fake of its wire format.

use std::collections::BTreeMap;
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

const KEY: &str = "sk-stability-test";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\nstability image";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn adapter(fake: &FakeUpstream, timeout: Duration) -> Stability {
    Stability::new(&ConnectionConfig { timeout, ..connection(fake, "stability", KEY) }).unwrap()
}

fn job(model: &str) -> ProviderJob {
    let params = [
        ("aspect_ratio", ParamValue::Text("16:9".into())),
        ("output_format", ParamValue::Text("webp".into())),
        ("seed", ParamValue::Int(42)),
        ("strength", ParamValue::Int(35)),
    ];
    testing::job(MediaKind::Image, model).prompt("a fox in the snow").negative("blurry").params(&params).build()
}

fn success() -> Reply {
    Reply::json(200, serde_json::json!({"image": b64(PNG), "finish_reason": "SUCCESS", "seed": 42}))
}

fn fields(request: &Request) -> BTreeMap<String, String> {
    request.multipart().iter().filter(|p| p.filename.is_none()).map(|p| (p.name.clone(), p.text())).collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn collect(stream: ByteStream) -> Vec<u8> {
    stream.try_collect::<Vec<Bytes>>().await.unwrap().concat()
}

async fn submit_with(reply: Reply) -> Result<Submitted, ProviderError> {
    let fake = FakeUpstream::start(move |_| reply.clone()).await;
    let result = adapter(&fake, Duration::from_secs(2)).submit(&job("stable-image-core")).await;
    fake.stop().await;
    result
}

fn error(status: u16, name: &str, message: &str) -> Reply {
    Reply::json(status, serde_json::json!({"id": "e1", "name": name, "errors": [message]}))
}

#[tokio::test]
async fn ultra_text_to_image_is_the_golden_multipart_and_the_base64_image_is_held() {
    let fake = FakeUpstream::start(|_| success()).await;
    let provider = adapter(&fake, Duration::from_secs(2));
    let submitted = provider.submit(&job("stable-image-ultra")).await.unwrap();
    let sent = &fake.requests()[0];
    assert_eq!(sent.route(), "POST /v2beta/stable-image/generate/ultra");
    assert_eq!(sent.header("authorization"), Some(&*format!("Bearer {KEY}")));
    assert_eq!(sent.header("accept"), Some("application/json"));
    assert!(sent.header("content-type").unwrap().starts_with("multipart/form-data"));
    assert_eq!(
        fields(sent),
        map(&[
            ("prompt", "a fox in the snow"),
            ("negative_prompt", "blurry"),
            ("aspect_ratio", "16:9"),
            ("seed", "42"),
            ("output_format", "webp"),
        ])
    );
    assert_eq!(submitted.handle.data.get("seed").map(String::as_str), Some("42"));
    let UpstreamStatus::Succeeded { outputs, .. } = submitted.status else { panic!("{:?}", submitted.status) };
    assert_eq!(outputs[0].content_type.as_deref(), Some("image/webp"));
    assert_eq!(collect(provider.fetch(&submitted.handle, &outputs[0], 1 << 20).await.unwrap()).await, PNG);
    provider.delete_upstream(&submitted.handle).await.unwrap();
    assert!(matches!(provider.fetch(&submitted.handle, &outputs[0], 1 << 20).await, Err(ProviderError::NotFound(_))));
    assert_eq!(fake.requests().len(), 1);
    fake.stop().await;
}

#[tokio::test]
async fn sd3_with_a_reference_is_image_to_image_with_an_image_part_and_strength() {
    let fake = FakeUpstream::start(|_| success()).await;
    let provider = adapter(&fake, Duration::from_secs(2));
    let mut job = job("sd3.5-large");
    job.references =
        vec![ReferenceFile { role: ReferenceRole::Reference, content_type: "image/png".into(), bytes: Bytes::from_static(PNG), tag: None }];
    provider.submit(&job).await.unwrap();
    let sent = &fake.requests()[0];
    assert_eq!(sent.route(), "POST /v2beta/stable-image/generate/sd3");
    assert_eq!(
        fields(sent),
        map(&[
            ("prompt", "a fox in the snow"),
            ("model", "sd3.5-large"),
            ("mode", "image-to-image"),
            ("negative_prompt", "blurry"),
            ("seed", "42"),
            ("output_format", "webp"),
            ("strength", "0.35"),
        ]),
        "no aspect_ratio: the output takes the reference's shape"
    );
    let image = sent.part("image").expect("an image part");
    assert_eq!(image.content_type.as_deref(), Some("image/png"));
    assert_eq!(&image.data[..], PNG);

    job.references.clear();
    provider.submit(&job).await.unwrap();
    assert_eq!(fields(&fake.requests()[1]).get("mode").map(String::as_str), Some("text-to-image"));
    fake.stop().await;
}

#[tokio::test]
async fn an_image_answer_is_taken_as_it_is() {
    let submitted = submit_with(Reply::bytes(200, "image/jpeg", PNG).header("finish-reason", "SUCCESS").header("seed", "7")).await.unwrap();
    let UpstreamStatus::Succeeded { outputs, .. } = submitted.status else { panic!() };
    assert_eq!(outputs[0].content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(submitted.handle.data["seed"], "7");
    let filtered = submit_with(Reply::bytes(200, "image/png", PNG).header("finish-reason", "CONTENT_FILTERED")).await.unwrap();
    assert!(matches!(filtered.status, UpstreamStatus::Failed(ProviderError::ContentPolicy(_))));
}

#[tokio::test]
async fn a_filtered_image_is_a_content_policy_failure() {
    let filtered = Reply::json(200, serde_json::json!({"image": b64(b"blurred"), "finish_reason": "CONTENT_FILTERED", "seed": 1}));
    let submitted = submit_with(filtered).await.unwrap();
    assert!(matches!(submitted.status, UpstreamStatus::Failed(ProviderError::ContentPolicy(_))), "{:?}", submitted.status);
}

#[tokio::test]
async fn http_errors_map_to_the_classes() {
    let err = |reply| async { submit_with(reply).await.unwrap_err() };
    assert!(matches!(err(error(401, "unauthorized", "Incorrect API key")).await, ProviderError::Auth(_)));
    assert!(matches!(err(error(403, "forbidden", "no access")).await, ProviderError::Auth(_)));
    let moderated = err(error(403, "content_moderation", "Your request was flagged by our content moderation system")).await;
    assert!(matches!(moderated, ProviderError::ContentPolicy(_)), "{moderated:?}");
    assert!(matches!(
        err(error(402, "payment_required", "You lack sufficient credits")).await,
        ProviderError::InsufficientUpstreamCredit(_)
    ));
    let invalid = err(error(400, "bad_request", "aspect_ratio: must be one of ...")).await;
    assert_eq!(invalid, ProviderError::InvalidInput("aspect_ratio: must be one of ...".into()));
    assert!(matches!(err(error(413, "payload_too_large", "too big")).await, ProviderError::InvalidInput(_)));
    let limited = err(error(429, "rate_limit_exceeded", "slow down").header("retry-after", "10")).await;
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(10)));
    assert!(matches!(err(error(500, "internal_error", "oops")).await, ProviderError::Transient(_)));
    assert!(matches!(err(Reply::text(503, "unavailable")).await, ProviderError::Transient(_)));
}

#[tokio::test]
async fn a_broken_success_answer_fails_the_job_instead_of_submitting_again() {
    for reply in [
        Reply::text(200, "{nope"),
        Reply::json(200, serde_json::json!({"finish_reason": "SUCCESS"})),
        Reply::json(200, serde_json::json!({"image": "@@@", "finish_reason": "SUCCESS"})),
    ] {
        let submitted = submit_with(reply).await.expect("not an error to retry");
        assert!(matches!(submitted.status, UpstreamStatus::Failed(ProviderError::Transient(_))), "{:?}", submitted.status);
    }
}

#[tokio::test]
async fn a_submit_that_never_answers_times_out() {
    testing::assert_submit_times_out(|fake| adapter(fake, Duration::from_millis(300)), &job("stable-image-core")).await;
}

#[tokio::test]
async fn core_sends_its_style_preset_and_nothing_sd3_specific() {
    let fake = FakeUpstream::start(|_| success()).await;
    let mut job = job("stable-image-core");
    job.params.insert("style_preset".into(), ParamValue::Text("anime".into()));
    job.negative_prompt = None;
    adapter(&fake, Duration::from_secs(2)).submit(&job).await.unwrap();
    let sent = &fake.requests()[0];
    assert_eq!(sent.route(), "POST /v2beta/stable-image/generate/core");
    let fields = fields(sent);
    assert_eq!(fields.get("style_preset").map(String::as_str), Some("anime"));
    assert!(!fields.contains_key("model") && !fields.contains_key("mode") && !fields.contains_key("negative_prompt"), "{fields:?}");
    fake.stop().await;
}

#[tokio::test]
async fn test_connection_reads_the_balance() {
    let fake = FakeUpstream::start(|r: &Request| match (r.route().as_str(), r.header("authorization")) {
        ("GET /v1/user/balance", Some(auth)) if auth == format!("Bearer {KEY}") => Reply::json(200, serde_json::json!({"credits": 12.5})),
        _ => error(401, "unauthorized", "bad key"),
    })
    .await;
    assert_eq!(
        adapter(&fake, Duration::from_secs(2)).test_connection().await.unwrap(),
        "The key works: the account has 12.50 Stability credits."
    );
    let wrong =
        Stability::new(&ConnectionConfig { base_url: Some(fake.url.clone()), ..connection(&fake, "stability", "sk-wrong") }).unwrap();
    testing::assert_key_refused(&wrong).await;
    fake.stop().await;
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        Stability::new(&ConnectionConfig { base_url: Some(base), ..connection(fake, "stability", KEY) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::KeyTest, "v1", "/v1/user/balance").await;
    testing::assert_base_url_forms(adapter, Probe::Submit(&job("stable-image-ultra")), "v2beta", "/v2beta/stable-image/generate/ultra")
        .await;
    testing::assert_base_url_reaches(adapter, &Probe::KeyTest, "v2beta/", "/v1/user/balance").await;
}
