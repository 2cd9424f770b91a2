//! Tests of the recraft adapter against a loopback fake of its wire format.

use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply, Request};

use super::*;
use crate::domain::catalog::{MediaKind, ParamValue};
use crate::providers::kit::testing::{self, Probe, connection, drain};

const KEY: &str = "recraft-test-key";
const SVG_DOC: &[u8] =
    b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 8 8\"><rect width=\"8\" height=\"8\"/></svg>";

fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
    ConnectionConfig { timeout, ..connection(fake, "recraft", KEY) }
}

fn adapter(fake: &FakeUpstream) -> Recraft {
    Recraft::new(&config(fake, Duration::from_secs(2))).unwrap()
}

fn job(model: &str) -> ProviderJob {
    testing::job(MediaKind::Image, model).prompt("a fox logo").params(&[("size", ParamValue::Text("1024x1024".into()))]).outputs(2).build()
}

fn host(r: &Request) -> String {
    r.header("host").unwrap().to_string()
}

fn answer(r: &Request, files: &[&str]) -> Reply {
    let data: Vec<Value> = files
        .iter()
        .enumerate()
        .map(|(n, f)| json!({"image_id": format!("id-{n}"), "url": format!("http://{}/files/{f}", host(r))}))
        .collect();
    Reply::json(200, json!({"created": 1_765_000_000, "credits": 80, "data": data}))
}

#[tokio::test]
async fn a_raster_generation_is_one_json_request_with_the_model_always_named() {
    let fake = FakeUpstream::start(|r| match r.route().as_str() {
        "POST /v1/images/generations" => answer(r, &["a.webp", "b.webp"]),
        "GET /files/a.webp" => Reply::bytes(200, "image/webp", &b"RIFF fox"[..]),
        _ => Reply::status(404),
    })
    .await;
    let recraft = adapter(&fake);
    let submitted = recraft.submit(&job("recraftv4_1")).await.unwrap();
    let sent = &fake.requests()[0];
    assert_eq!(sent.header("authorization"), Some(&*format!("Bearer {KEY}")));
    assert_eq!(sent.json(), json!({"prompt": "a fox logo", "model": "recraftv4_1", "n": 2, "size": "1024x1024"}));
    let UpstreamStatus::Succeeded { outputs, usage } = &submitted.status else { panic!("{:?}", submitted.status) };
    assert_eq!(outputs.len(), 2);
    assert_eq!(outputs[0].content_type.as_deref(), Some("image/webp"));
    assert_eq!(usage.as_ref().and_then(|u| u.units), Some(80.0));
    assert_eq!(&drain(recraft.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap()[..], b"RIFF fox");
    assert_eq!(fake.requests_to("GET /files/")[0].header("authorization"), None, "the key never goes to the result host");
    assert_eq!(recraft.poll(&submitted.handle).await.unwrap_err().code(), "provider.not_found");
    recraft.cancel(&submitted.handle).await.unwrap();
    assert!(!recraft.delete_upstream(&submitted.handle).await.unwrap());
}

#[tokio::test]
async fn a_vector_model_answers_svg_documents() {
    let fake = FakeUpstream::start(|r| match r.route().as_str() {
        "POST /v1/images/generations" => answer(r, &["logo"]),
        "GET /files/logo" => Reply::bytes(200, "image/svg+xml", SVG_DOC),
        _ => Reply::status(404),
    })
    .await;
    let recraft = adapter(&fake);
    let submitted = recraft.submit(&job("recraftv4_pro_vector")).await.unwrap();
    assert_eq!(fake.requests()[0].json()["model"], "recraftv4_pro_vector");
    let UpstreamStatus::Succeeded { outputs, .. } = &submitted.status else { panic!("{:?}", submitted.status) };
    assert_eq!(outputs[0].content_type.as_deref(), Some("image/svg+xml"));
    assert_eq!(&drain(recraft.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap()[..], SVG_DOC);
    assert_eq!(output_type("recraftv3", "https://img.recraft.ai/x/image.svg?sig=1"), "image/svg+xml");
}

#[tokio::test]
async fn an_answer_without_images_fails_the_job() {
    let fake = FakeUpstream::start(|_| Reply::json(200, json!({"created": 1, "credits": 0, "data": []}))).await;
    let UpstreamStatus::Failed(e) = adapter(&fake).submit(&job("recraftv4")).await.unwrap().status else { panic!("no image") };
    assert_eq!(e.code(), "provider.transient");
}

#[tokio::test]
async fn http_errors_map_to_the_classes() {
    let cases: Vec<(Reply, &str)> = vec![
        (Reply::json(401, json!({"code": "unauthorized", "message": "Invalid token"})), "provider.auth"),
        (Reply::json(400, json!({"code": "invalid_size", "message": "size is not supported by the model"})), "provider.invalid_input"),
        (
            Reply::json(400, json!({"code": "prompt_rejected", "message": "The prompt violates the content policy"})),
            "provider.content_policy",
        ),
        (Reply::json(402, json!({"code": "not_enough_credits", "message": "Not enough credits"})), "provider.insufficient_credit"),
        (
            Reply::json(400, json!({"error": {"code": "bad", "message": "Insufficient credits on the balance"}})),
            "provider.insufficient_credit",
        ),
        (Reply::json(422, json!({"detail": "n must be at most 6"})), "provider.invalid_input"),
        (Reply::json(500, json!({"message": "internal"})), "provider.transient"),
        (Reply::text(200, "<html>"), "provider.transient"),
    ];
    testing::assert_submit_errors(adapter, &job("recraftv4"), cases).await;
    let fake =
        FakeUpstream::start(|_| Reply::json(429, json!({"code": "too_many_requests", "message": "slow down"})).header("retry-after", 5))
            .await;
    let err = adapter(&fake).submit(&job("recraftv4")).await.unwrap_err();
    assert_eq!(err, ProviderError::RateLimited { retry_after: Some(Duration::from_secs(5)), message: "slow down".into() });
}

#[tokio::test]
async fn a_hanging_upstream_times_out_and_expired_outputs_are_refused() {
    testing::assert_submit_times_out(|fake| Recraft::new(&config(fake, Duration::from_millis(300))).unwrap(), &job("recraftv4")).await;
    testing::assert_expired_and_oversized_refused(&adapter(&FakeUpstream::start(|_| Reply::status(404)).await)).await;
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        Recraft::new(&ConnectionConfig { base_url: Some(base), ..config(fake, Duration::from_secs(2)) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::Submit(&job("recraftv4")), "v1", "/v1/images/generations").await;
}
