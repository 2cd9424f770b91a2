//! The OpenAI Images adapter end to end against a fake Images API: the base64 answer is taken
//! into custody byte for byte, and a moderation refusal fails the generation with its reason.

use std::io::Cursor;
use std::time::Duration;

use base64::Engine;
use fake_upstream::{FakeUpstream, Reply, Request};
use reelvault::config::{ConnectionConfig, Secret};
use sha2::{Digest, Sha256};

use crate::support::{Browser, TestApp};
use crate::support::{admin_with_credits, api_post, credits, wait_terminal};

const KEY: &str = "sk-fake-images";
const CREDITS: i64 = 200;
/// gpt-image-1 costs 25 credits an image.
const PRICE: i64 = 25;

fn png(seed: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(32, 24, |x, y| image::Rgb([(x * 8) as u8, (y * 10) as u8, seed]));
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn rig(reply: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> (FakeUpstream, TestApp, Browser, String) {
    let fake = FakeUpstream::start(reply).await;
    let connection = ConnectionConfig {
        base_url: Some(fake.at("v1")),
        api_key: Some(Secret::new(KEY)),
        allow_private_network: true,
        delay: Duration::ZERO,
        timeout: Duration::from_secs(2),
        max_retries: 1,
        ..ConnectionConfig::new("openai-images", "openai_images")
    };
    let app = TestApp::start_with(|config| config.connection.push(connection)).await;
    let (admin, token) = admin_with_credits(&app, CREDITS).await;
    (fake, app, admin, token)
}

async fn submit(app: &TestApp, token: &str, body: serde_json::Value) -> serde_json::Value {
    let created = api_post(&app.url, "/api/v1/generations", token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("id").to_string();
    wait_terminal(&app.url, token, &id).await
}

#[tokio::test]
async fn two_base64_images_are_taken_into_custody_and_charged() {
    let images = [png(1), png(2)];
    let answer = serde_json::json!({
        "created": 1,
        "data": images.iter().map(|i| serde_json::json!({"b64_json": base64::engine::general_purpose::STANDARD.encode(i)})).collect::<Vec<_>>(),
        "output_format": "png",
    });
    let (fake, app, _admin, token) = rig(move |r: &Request| {
        if r.header("authorization") != Some(&*format!("Bearer {KEY}")) {
            return Reply::json(401, serde_json::json!({"error": {"message": "bad key", "code": "invalid_api_key"}}));
        }
        match r.route().as_str() {
            "POST /v1/images/generations" => Reply::json(200, answer.clone()),
            _ => Reply::status(404),
        }
    })
    .await;
    let done = submit(
        &app,
        &token,
        serde_json::json!({"model": "gpt-image-1", "prompt": "two red kites", "params": {"count": 2, "quality": "low"}}),
    )
    .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let outputs = done["outputs"].as_array().expect("outputs");
    assert_eq!(outputs.len(), 2, "{done}");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for (output, expected) in outputs.iter().zip(&images) {
        assert_eq!(output["sha256"], sha256_hex(expected), "{done}");
        assert_eq!(output["content_type"], "image/png");
        let served = client.get(output["url"].as_str().expect("signed url")).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(sha256_hex(&served), sha256_hex(expected), "the vault gives back what upstream sent");
    }
    assert_eq!(credits(&app.url, &token).await, (CREDITS - 2 * PRICE, 0), "settled");
    let sent = fake.requests_to("POST /v1/images/generations");
    assert_eq!(sent.len(), 1);
    let body = sent[0].json();
    assert_eq!(body["model"], "gpt-image-1");
    assert_eq!(body["prompt"], "two red kites");
    assert_eq!(body["n"], 2);
    assert_eq!(body["quality"], "low");
    app.stop().await;
    fake.stop().await;
}

#[tokio::test]
async fn a_moderation_refusal_fails_with_the_content_policy_reason_and_releases_the_hold() {
    let (fake, app, admin, token) = rig(|_| {
        Reply::json(
            400,
            serde_json::json!({"error": {
                "message": "Your request was rejected as a result of our safety system.",
                "type": "image_generation_user_error", "param": null, "code": "moderation_blocked"
            }}),
        )
    })
    .await;
    let done = submit(&app, &token, serde_json::json!({"model": "gpt-image-1.5", "prompt": "something refused"})).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["reason"]["code"], "provider.content_policy", "{done}");
    assert_eq!(credits(&app.url, &token).await, (CREDITS, 0), "released");
    let page = admin.get(&format!("/generations/{}", done["id"].as_str().unwrap())).await;
    assert_eq!(page.status, 200);
    let reason = page.text_of("#reason");
    assert!(reason.contains("content policy blocked this") && reason.contains("safety system"), "{reason}");
    assert_eq!(fake.requests().len(), 1, "a refusal is not retried");
    app.stop().await;
    fake.stop().await;
}
